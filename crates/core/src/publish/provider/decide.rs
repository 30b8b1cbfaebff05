//! Stage "decide": from the local release and what the registry holds ([`Held`]), the
//! [`Plan`] (what to create, what to upload) or a refusal naming the difference (other
//! key, other protocols, other file or checksum for a platform, other SHA256SUMS).
//! Pure: no I/O, so every state is unit-tested, and `--dry-run` prints this same plan.

use std::path::Path;

use super::is_local_file;
use super::observe::Held;
use crate::package::provider::{PlatformFile, ProviderRelease};
use crate::publish::error::PublishError;
use crate::report::{Action, Item, ItemKind};
use crate::vocab::{KeyId, ProviderAddress};

/// The local side of the comparison.
pub struct Local<'a> {
    /// `org/name`.
    pub id: String,
    pub version: String,
    pub key_id: KeyId,
    pub protocols: &'a [String],
    /// Sorted by os, then arch.
    pub platforms: &'a [PlatformFile],
    /// The content of the local SHA256SUMS, and where it is.
    pub shasums: &'a [u8],
    pub shasums_path: &'a Path,
}

impl<'a> Local<'a> {
    /// The release `rel` of provider `addr`, signed with `key_id`; `shasums` is the
    /// content of `rel.shasums`.
    pub fn new(
        rel: &'a ProviderRelease,
        addr: &ProviderAddress,
        key_id: KeyId,
        shasums: &'a [u8],
    ) -> Local<'a> {
        Local {
            id: addr.to_string(),
            version: rel.version.to_string(),
            key_id,
            protocols: &rel.protocols,
            platforms: &rel.platforms,
            shasums,
            shasums_path: &rel.shasums,
        }
    }
}

/// What to do about one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The registry holds it as the release has it.
    Exists,
    Create,
}

/// What to do about one platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformStep {
    /// The record exists and its zip is uploaded.
    Done,
    /// The record exists, its zip is not uploaded yet (a publish that died half way).
    Upload,
    /// Create the record, then upload the zip.
    Create,
}

/// What a publish will do; refusals never get this far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub key: Step,
    pub provider: Step,
    pub version: Step,
    pub upload_shasums: bool,
    pub upload_signature: bool,
    /// One per local platform, in the same order.
    pub platforms: Vec<PlatformStep>,
}

/// Compare, and plan or refuse.
pub fn decide(local: &Local, held: &Held) -> anyhow::Result<Plan> {
    let step = |present: bool| if present { Step::Exists } else { Step::Create };
    if let Some(ev) = &held.version {
        refuse_differences(local, held, ev)?;
    }
    let platforms = local
        .platforms
        .iter()
        .map(|p| match held.platform(&p.os, &p.arch) {
            Some(e) if e.provider_binary_uploaded => PlatformStep::Done,
            Some(_) => PlatformStep::Upload,
            None => PlatformStep::Create,
        })
        .collect();
    let ev = held.version.as_ref();
    Ok(Plan {
        key: step(held.key_registered(&local.key_id)),
        provider: step(held.provider),
        version: step(ev.is_some()),
        upload_shasums: !ev.is_some_and(|v| v.shasums_uploaded),
        upload_signature: !ev.is_some_and(|v| v.shasums_sig_uploaded),
        platforms,
    })
}

/// The registered version `ev` must be the local release: same key, same protocols, the
/// same file for every platform it has, the same SHA256SUMS if it has one.
fn refuse_differences(
    local: &Local,
    held: &Held,
    ev: &crate::api::ProviderVersion,
) -> anyhow::Result<()> {
    let (id, version) = (local.id.clone(), local.version.clone());
    if ev.key_id != local.key_id {
        return Err(anyhow::Error::new(PublishError::KeyMismatch {
            id,
            version,
            registered: ev.key_id.to_string(),
            local: local.key_id.to_string(),
        }));
    }
    let mut registered = ev.protocols.clone();
    let mut ours = local.protocols.to_vec();
    registered.sort();
    ours.sort();
    if registered != ours {
        return Err(anyhow::Error::new(PublishError::OtherProtocols {
            id,
            version,
            registered: ev.protocols.clone(),
            local: local.protocols.to_vec(),
        }));
    }
    for p in local.platforms {
        let Some(ep) = held.platform(&p.os, &p.arch) else {
            continue;
        };
        if !is_local_file(&ep.shasum, &ep.filename, p) {
            return Err(anyhow::Error::new(PublishError::OtherPlatformFile {
                id,
                version,
                platform: format!("{}_{}", p.os, p.arch),
                registered_file: ep.filename.clone(),
                registered_sha: ep.shasum.to_string(),
                local_file: p.filename.clone(),
                local_sha: p.sha256.clone(),
            }));
        }
    }
    match &held.shasums {
        Some(remote) if remote.as_slice() != local.shasums => Err(PublishError::OtherShasums {
            id,
            version,
            local: local.shasums_path.to_path_buf(),
        }
        .into()),
        _ => Ok(()),
    }
}

impl Plan {
    /// The plan as report items, for `--dry-run`: what exists, what would be done.
    pub fn items(&self, local: &Local) -> Vec<Item> {
        let act = |done: bool| {
            if done {
                Action::Exists
            } else {
                Action::Planned
            }
        };
        let mut items = vec![
            Item::new(
                ItemKind::GpgKey,
                local.key_id.as_str(),
                act(self.key == Step::Exists),
            ),
            Item::new(
                ItemKind::Provider,
                &local.id,
                act(self.provider == Step::Exists),
            ),
            Item::new(
                ItemKind::ProviderVersion,
                &local.id,
                act(self.version == Step::Exists),
            )
            .version(&local.version)
            .detail(format!("protocols {}", local.protocols.join(","))),
        ];
        for (p, step) in local.platforms.iter().zip(&self.platforms) {
            items.push(
                Item::new(
                    ItemKind::Platform,
                    format!("{}_{}", p.os, p.arch),
                    act(*step == PlatformStep::Done),
                )
                .version(&local.version)
                .detail(format!("{} sha256 {}", p.filename, p.sha256)),
            );
        }
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{GpgKey, Platform, ProviderVersion};
    use crate::error::{ErrorKind, Hint};
    use crate::vocab::Sha256;

    const KEY: &str = "0123456789ABCDEF";
    const OTHER_KEY: &str = "FEDCBA9876543210";
    const SUMS: &[u8] = b"sums\n";

    fn sha(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    fn files() -> Vec<PlatformFile> {
        ["darwin", "linux"]
            .iter()
            .zip(['a', 'b'])
            .map(|(os, c)| PlatformFile {
                os: os.to_string(),
                arch: "amd64".into(),
                filename: format!("terraform-provider-demo_1.0.0_{os}_amd64.zip"),
                path: format!("/tmp/{os}.zip").into(),
                sha256: sha(c),
                size: 1,
            })
            .collect()
    }

    fn local<'a>(platforms: &'a [PlatformFile], protocols: &'a [String]) -> Local<'a> {
        Local {
            id: "acme/demo".into(),
            version: "1.0.0".into(),
            key_id: KEY.parse().unwrap(),
            protocols,
            platforms,
            shasums: SUMS,
            shasums_path: Path::new("/tmp/SHA256SUMS"),
        }
    }

    fn version(key: &str, uploaded: bool) -> ProviderVersion {
        ProviderVersion {
            id: "v1".into(),
            version: "1.0.0".into(),
            key_id: key.parse().unwrap(),
            protocols: vec!["6.0".into()],
            shasums_uploaded: uploaded,
            shasums_sig_uploaded: uploaded,
            shasums_upload: None,
            shasums_sig_upload: None,
            shasums_download: None,
            shasums_sig_download: None,
        }
    }

    fn record(f: &PlatformFile, uploaded: bool) -> Platform {
        Platform {
            id: format!("p-{}", f.os),
            os: f.os.clone(),
            arch: f.arch.clone(),
            filename: f.filename.clone(),
            shasum: f.sha256.parse::<Sha256>().unwrap(),
            provider_binary_uploaded: uploaded,
            binary_upload: None,
            binary_download: None,
        }
    }

    /// The registry holding the whole release (key, provider, version, platforms,
    /// SHA256SUMS), everything uploaded.
    fn all_there(f: &[PlatformFile]) -> Held {
        Held {
            keys: vec![GpgKey {
                id: "k1".into(),
                key_id: KEY.parse().unwrap(),
                namespace: "acme".into(),
                ascii_armor: String::new(),
            }],
            provider: true,
            version: Some(version(KEY, true)),
            platforms: f.iter().map(|p| record(p, true)).collect(),
            shasums: Some(SUMS.to_vec()),
        }
    }

    fn protocols() -> Vec<String> {
        vec!["6.0".into()]
    }

    fn refusal(held: &Held) -> PublishError {
        let f = files();
        let p = protocols();
        decide(&local(&f, &p), held)
            .unwrap_err()
            .downcast::<PublishError>()
            .unwrap()
    }

    #[test]
    fn nothing_there_plans_everything() {
        let (f, p) = (files(), protocols());
        let plan = decide(&local(&f, &p), &Held::default()).unwrap();
        assert_eq!(
            plan,
            Plan {
                key: Step::Create,
                provider: Step::Create,
                version: Step::Create,
                upload_shasums: true,
                upload_signature: true,
                platforms: vec![PlatformStep::Create, PlatformStep::Create],
            }
        );
        let actions: Vec<Action> = plan
            .items(&local(&f, &p))
            .iter()
            .map(|i| i.action)
            .collect();
        assert!(actions.iter().all(|a| *a == Action::Planned), "{actions:?}");
    }

    #[test]
    fn all_there_and_equal_plans_nothing() {
        let (f, p) = (files(), protocols());
        let plan = decide(&local(&f, &p), &all_there(&f)).unwrap();
        assert_eq!(
            plan,
            Plan {
                key: Step::Exists,
                provider: Step::Exists,
                version: Step::Exists,
                upload_shasums: false,
                upload_signature: false,
                platforms: vec![PlatformStep::Done, PlatformStep::Done],
            }
        );
        let items = plan.items(&local(&f, &p));
        assert!(items.iter().all(|i| i.action == Action::Exists));
    }

    #[test]
    fn a_partial_publish_resumes_where_it_stopped() {
        let (f, p) = (files(), protocols());
        let mut held = all_there(&f);
        held.keys.clear();
        held.version = Some(version(KEY, false));
        held.shasums = None;
        held.platforms = vec![record(&f[0], false)];
        let plan = decide(&local(&f, &p), &held).unwrap();
        assert_eq!(plan.key, Step::Create);
        assert_eq!((plan.provider, plan.version), (Step::Exists, Step::Exists));
        assert!(plan.upload_shasums && plan.upload_signature);
        assert_eq!(plan.platforms, [PlatformStep::Upload, PlatformStep::Create]);
    }

    #[test]
    fn a_version_without_its_provider_is_not_taken_as_existing() {
        let (f, p) = (files(), protocols());
        let held = Held {
            provider: false,
            ..Held::default()
        };
        assert_eq!(decide(&local(&f, &p), &held).unwrap().version, Step::Create);
    }

    #[test]
    fn another_key_is_refused() {
        let mut held = all_there(&files());
        held.version = Some(version(OTHER_KEY, true));
        let e = refusal(&held);
        assert!(matches!(e, PublishError::KeyMismatch { .. }), "{e}");
        assert_eq!(e.kind(), Some(ErrorKind::KeyMismatch));
        assert!(e.to_string().contains(OTHER_KEY), "{e}");
    }

    #[test]
    fn another_shasum_for_a_platform_is_refused() {
        let f = files();
        let mut held = all_there(&f);
        held.platforms[1].shasum = sha('c').parse().unwrap();
        let e = refusal(&held);
        assert!(
            matches!(e, PublishError::OtherPlatformFile { ref platform, .. } if platform == "linux_amd64"),
            "{e}"
        );
        assert_eq!(e.kind(), Some(ErrorKind::ContentConflict));
    }

    #[test]
    fn another_file_name_for_a_platform_is_refused() {
        let f = files();
        let mut held = all_there(&f);
        held.platforms[0].filename = "other.zip".into();
        assert!(matches!(
            refusal(&held),
            PublishError::OtherPlatformFile { .. }
        ));
    }

    #[test]
    fn other_protocols_are_refused_in_any_order() {
        let f = files();
        let mut held = all_there(&f);
        held.version.as_mut().unwrap().protocols = vec!["5.0".into()];
        let e = refusal(&held);
        assert!(matches!(e, PublishError::OtherProtocols { .. }), "{e}");
        assert_eq!(e.kind(), Some(ErrorKind::ContentConflict));

        let two = vec!["6.0".to_string(), "5.0".to_string()];
        let mut held = all_there(&f);
        held.version.as_mut().unwrap().protocols = vec!["5.0".into(), "6.0".into()];
        assert!(decide(&local(&f, &two), &held).is_ok());
    }

    #[test]
    fn other_sha256sums_are_refused() {
        let mut held = all_there(&files());
        held.shasums = Some(b"other\n".to_vec());
        let e = refusal(&held);
        assert!(matches!(e, PublishError::OtherShasums { .. }), "{e}");
        assert_eq!(e.kind(), Some(ErrorKind::ContentConflict));
    }
}

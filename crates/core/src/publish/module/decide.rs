//! Converge, step 2: the pure decision. Given what the registry holds and what this run
//! did last, [`decide`] names the next [`Step`]; it does no I/O, so every state has a
//! unit test below, and `--dry-run` prints the very step a real run would take.
//!
//! The rules, and why:
//! - a 422 on create is not proof the version exists (wire-facts): after a failed create
//!   we read again; still missing means the create error stands;
//! - `pending` with an upload link: a previous run died before its upload, so upload;
//!   `pending` without one, or an ingesting status: someone uploaded, so wait;
//! - an upload that failed while the version left `pending` lost to a concurrent
//!   publisher that spent the one-shot link: wait, then verify whose content won;
//! - `*_failed` is never papered over: refuse with the registry's error, unless
//!   `--replace-failed` asked to delete it (once) and publish again;
//! - `ok` is "already published" only when the registry's archive holds our content;
//!   other content is a refusal (published versions are immutable).

use super::observe::{Attempt, Content, Observed, VersionState};
use crate::secret::SecretUrl;
use crate::vocab::VersionStatus;

/// The user's standing instructions that the decision depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// `--replace-failed`: delete a `*_failed` version and publish it again.
    pub replace_failed: bool,
}

/// The next thing to do for the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Create the version (and the module, unless known).
    Create,
    /// Upload the archive through this link.
    Upload(SecretUrl),
    /// Delete the failed version, to create it again.
    DeleteFailed,
    /// Nothing to write: wait for the registry to finish, then verify.
    Wait,
    /// The registry already serves our content.
    Done,
    /// Stop: the registry holds something we must not overwrite, or a write failed.
    Refuse(Refusal),
}

/// Why [`Step::Refuse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The version is in a `*_failed` state and `--replace-failed` was not given.
    Failed { status: VersionStatus, why: String },
    /// The version is published with other content.
    OtherContent { differs: String },
    /// The create failed and the version is still missing: the create error stands.
    CreateFailed,
    /// The upload failed and the version is still `pending`: the upload error stands.
    UploadFailed,
}

/// The next step for `o`, under `policy`. Pure.
pub fn decide(o: &Observed, policy: Policy) -> Step {
    use Attempt::*;
    match (&o.state, o.last) {
        // Our upload went through (or lost the race for the link): the registry works.
        (VersionState::Pending { .. }, Some(UploadFailed)) => Step::Refuse(Refusal::UploadFailed),
        (_, Some(Uploaded | UploadFailed)) => Step::Wait,
        (VersionState::Missing, Some(CreateFailed)) => Step::Refuse(Refusal::CreateFailed),
        (VersionState::Missing, _) => Step::Create,
        (VersionState::Pending { upload: Some(link) }, _) => Step::Upload(link.clone()),
        (VersionState::Pending { upload: None }, _) | (VersionState::Ingesting { .. }, _) => {
            Step::Wait
        }
        (VersionState::Failed { .. }, last)
            if policy.replace_failed && last != Some(DeletedFailed) =>
        {
            Step::DeleteFailed
        }
        (VersionState::Failed { status, why }, _) => Step::Refuse(Refusal::Failed {
            status: status.clone(),
            why: why.clone(),
        }),
        (
            VersionState::Ok {
                content: Content::Ours,
            },
            _,
        ) => Step::Done,
        (
            VersionState::Ok {
                content: Content::Other { differs },
            },
            _,
        ) => Step::Refuse(Refusal::OtherContent {
            differs: differs.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Policy = Policy {
        replace_failed: false,
    };
    const REPLACE: Policy = Policy {
        replace_failed: true,
    };

    fn link() -> SecretUrl {
        SecretUrl::parse("https://archivist.example/v1/object/abc").unwrap()
    }

    fn at(state: VersionState, last: Option<Attempt>) -> Observed {
        Observed { state, last }
    }

    fn failed() -> VersionState {
        VersionState::Failed {
            status: VersionStatus::RegIngressFailed,
            why: "not a gzip-compressed tar archive".into(),
        }
    }

    fn ok(content: Content) -> VersionState {
        VersionState::Ok { content }
    }

    fn other() -> Content {
        Content::Other {
            differs: "content differs: main.tf".into(),
        }
    }

    #[test]
    fn missing_is_created() {
        assert_eq!(decide(&at(VersionState::Missing, None), KEEP), Step::Create);
    }

    #[test]
    fn pending_with_a_link_is_uploaded_into() {
        let s = VersionState::Pending {
            upload: Some(link()),
        };
        assert_eq!(decide(&at(s.clone(), None), KEEP), Step::Upload(link()));
        // Right after our own create, too.
        let after = decide(&at(s, Some(Attempt::Created)), KEEP);
        assert_eq!(after, Step::Upload(link()));
    }

    #[test]
    fn pending_without_a_link_is_waited_for() {
        let s = VersionState::Pending { upload: None };
        assert_eq!(decide(&at(s, None), KEEP), Step::Wait);
        let s = VersionState::Ingesting {
            status: VersionStatus::RegIngressing,
        };
        assert_eq!(decide(&at(s, None), KEEP), Step::Wait);
    }

    #[test]
    fn failed_is_refused_with_the_registry_error() {
        let step = decide(&at(failed(), None), KEEP);
        assert_eq!(
            step,
            Step::Refuse(Refusal::Failed {
                status: VersionStatus::RegIngressFailed,
                why: "not a gzip-compressed tar archive".into(),
            })
        );
    }

    #[test]
    fn failed_with_replace_failed_is_deleted_once() {
        assert_eq!(decide(&at(failed(), None), REPLACE), Step::DeleteFailed);
        // Still failed right after our delete: do not loop, refuse.
        let again = decide(&at(failed(), Some(Attempt::DeletedFailed)), REPLACE);
        assert!(
            matches!(again, Step::Refuse(Refusal::Failed { .. })),
            "{again:?}"
        );
        // Gone after the delete: create it again.
        let gone = at(VersionState::Missing, Some(Attempt::DeletedFailed));
        assert_eq!(decide(&gone, REPLACE), Step::Create);
    }

    #[test]
    fn ok_with_our_content_is_done() {
        assert_eq!(decide(&at(ok(Content::Ours), None), KEEP), Step::Done);
    }

    #[test]
    fn ok_with_other_content_is_refused() {
        assert_eq!(
            decide(&at(ok(other()), None), REPLACE),
            Step::Refuse(Refusal::OtherContent {
                differs: "content differs: main.tf".into()
            })
        );
    }

    #[test]
    fn concurrent_create_reads_what_the_other_publisher_left() {
        let after = |s| decide(&at(s, Some(Attempt::CreateFailed)), KEEP);
        // The create failed and nothing appeared: the create error stands.
        assert_eq!(
            after(VersionState::Missing),
            Step::Refuse(Refusal::CreateFailed)
        );
        // The other publisher finished with our content: done; with other content: refused.
        assert_eq!(after(ok(Content::Ours)), Step::Done);
        assert!(matches!(
            after(ok(other())),
            Step::Refuse(Refusal::OtherContent { .. })
        ));
        // It created the version but has not uploaded yet: we upload.
        let pending = VersionState::Pending {
            upload: Some(link()),
        };
        assert_eq!(after(pending), Step::Upload(link()));
    }

    #[test]
    fn spent_upload_link_waits_when_the_version_moved_on() {
        let after = |s| decide(&at(s, Some(Attempt::UploadFailed)), KEEP);
        // Another publisher's upload spent the link: the registry is ingesting or done,
        // so wait and let verify tell whose content won.
        let ingesting = VersionState::Ingesting {
            status: VersionStatus::RegIngressing,
        };
        assert_eq!(after(ingesting), Step::Wait);
        assert_eq!(after(ok(other())), Step::Wait);
        // Still pending: nobody uploaded, our upload failure stands.
        let pending = VersionState::Pending {
            upload: Some(link()),
        };
        assert_eq!(after(pending), Step::Refuse(Refusal::UploadFailed));
    }

    #[test]
    fn after_our_upload_we_wait() {
        let s = VersionState::Pending { upload: None };
        assert_eq!(decide(&at(s, Some(Attempt::Uploaded)), KEEP), Step::Wait);
        assert_eq!(
            decide(&at(failed(), Some(Attempt::Uploaded)), REPLACE),
            Step::Wait
        );
    }
}

//! Stage 3, package: turn the module folder into a deterministic `.tar.gz` (in a
//! temporary folder that lives as long as the publish), plus the offline
//! `tfpub module package` command that writes the same archive to a chosen file.
//!
//! Building the archive is `crate::package::module`'s job; this stage only chooses the
//! options and reports what was built.

use std::path::Path;

use anyhow::Context as _;

use crate::package::module::{self as pkg, ModuleArchive, ModulePackageOptions};
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind, Progress};

/// The archive of a publish and the temporary folder that holds it (a run folder of
/// [`crate::publish::workdir`], so a killed run's leftover is removed by the next one).
pub struct Packaged {
    pub archive: ModuleArchive,
    _tmp: tempfile::TempDir,
}

fn options(max_size: Option<u64>) -> ModulePackageOptions {
    let mut o = ModulePackageOptions::default();
    if let Some(m) = max_size {
        o.max_size = m;
    }
    o
}

/// Package `dir` for a publish (on the blocking pool: see
/// [`crate::publish::off_runtime`]); its warnings go to `outcome`.
pub async fn package_for_publish(
    ctx: &Context,
    dir: &Path,
    max_size: Option<u64>,
    outcome: &mut Outcome,
) -> anyhow::Result<Packaged> {
    let tmp = crate::publish::workdir::create()?;
    let path = tmp.path().join("module.tar.gz");
    ctx.progress.stage(&format!("packaging {}", dir.display()));
    let (src, opts) = (dir.to_path_buf(), options(max_size));
    let archive = crate::publish::off_runtime(move || {
        pkg::package_dir(&src, &path, &opts).with_context(|| format!("packaging {}", src.display()))
    })
    .await?;
    outcome.warn_all(&archive.warnings, ctx.progress.as_ref());
    Ok(Packaged { archive, _tmp: tmp })
}

/// Stage 3 for a resolved module: package its folder, or take its prebuilt archive.
pub async fn package_resolved(
    ctx: &Context,
    m: &super::ResolvedModule,
    max_size: Option<u64>,
    outcome: &mut Outcome,
) -> anyhow::Result<Packaged> {
    if m.prebuilt {
        prebuilt(ctx, &m.dir, max_size)
    } else {
        package_for_publish(ctx, &m.dir, max_size, outcome).await
    }
}

/// An archive built elsewhere (`--archive`, or one `registry copy` downloaded): copied
/// into the run's folder (so the file cannot change under the publish), checked
/// ([`crate::package::archive::check`]) and then used byte for byte.
pub fn prebuilt(ctx: &Context, file: &Path, max_size: Option<u64>) -> anyhow::Result<Packaged> {
    let tmp = crate::publish::workdir::create()?;
    let path = tmp.path().join("module.tar.gz");
    ctx.progress
        .stage(&format!("checking the archive {}", file.display()));
    std::fs::copy(file, &path).map_err(|source| {
        crate::package::archive::ArchiveError::Unreadable {
            path: file.to_path_buf(),
            source,
        }
    })?;
    let max = options(max_size).max_size;
    let archive = crate::package::archive::check_as(&path, file, max)?;
    Ok(Packaged { archive, _tmp: tmp })
}

/// The file items of a dry run: what the archive holds and what it leaves out.
pub fn file_items(files: &[String], excluded: &[String]) -> Vec<Item> {
    let planned = files
        .iter()
        .map(|f| Item::new(ItemKind::File, f, Action::Planned));
    let skipped = excluded
        .iter()
        .map(|f| Item::new(ItemKind::File, f, Action::Skipped).detail("excluded"));
    planned.chain(skipped).collect()
}

/// `out` as a `/`-separated path relative to `dir` when it lies inside it.
fn path_inside(dir: &Path, out: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.canonicalize().ok()?,
        _ => std::env::current_dir().ok()?.canonicalize().ok()?,
    };
    let full = parent.join(out.file_name()?);
    let rel = full.strip_prefix(&dir).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// `tfpub module package DIR -o FILE` (offline).
pub fn package(
    dir: &Path,
    out: &Path,
    dry_run: bool,
    max_size: Option<u64>,
    progress: &dyn Progress,
) -> anyhow::Result<Outcome> {
    let mut opts = options(max_size);
    if let Some(rel) = path_inside(dir, out) {
        // `-o module.tar.gz` inside the module: never pack the previous archive.
        opts.skip.push(rel);
    }
    let mut outcome = Outcome::new("module package");
    if dry_run {
        let plan =
            pkg::plan_dir(dir, &opts).with_context(|| format!("packaging {}", dir.display()))?;
        outcome.outcome = OutcomeKind::Planned;
        outcome.items = file_items(&plan.files, &plan.excluded);
        outcome.warn_all(&plan.warnings, progress);
        return Ok(outcome);
    }
    let a = pkg::package_dir(dir, out, &opts)
        .with_context(|| format!("packaging {}", dir.display()))?;
    outcome.outcome = OutcomeKind::Updated;
    outcome.push(
        Item::new(ItemKind::File, out.display().to_string(), Action::Created)
            .detail(archive_summary(&a)),
    );
    outcome.warn_all(&a.warnings, progress);
    Ok(outcome)
}

/// An archive in one line: `N files, N bytes, sha256 HEX`.
pub fn archive_summary(a: &pkg::ModuleArchive) -> String {
    format!(
        "{} files, {} bytes, sha256 {}",
        a.files.len(),
        a.size,
        a.sha256
    )
}

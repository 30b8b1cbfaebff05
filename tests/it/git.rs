//! Integration tests: git tag scanning, sync planning, dirty detection, tfpub.toml, names.
//! Every repository is built with git2 in a tempdir; nothing depends on a `git` binary.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use git2::{Oid, Repository};
use tfpub_core::git::{plan_sync, Repo, TagScan};
use tfpub_core::project::{
    parse_module_dir_name, validate_module_name, validate_provider_name,
    validate_provider_type_name, ModuleConfig, ProjectConfig,
};

use crate::support::git::{commit, tag};

fn v(s: &str) -> semver::Version {
    semver::Version::parse(s).unwrap()
}

const LW: bool = false;
const ANN: bool = true;

/// A repository with 10 commits and 30 tags. Returns (tempdir, commit ids c[0..10]).
fn tagged_repo() -> (tempfile::TempDir, Vec<Oid>) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    let c: Vec<Oid> = (0..10)
        .map(|i| {
            commit(
                &repo,
                &[("main.tf", &format!("# rev {i}\n"))],
                &format!("c{i}"),
            )
        })
        .collect();
    let blob = repo.blob(b"not a commit\n").unwrap();
    let tags: &[(&str, usize, bool)] = &[
        // 11 semver tags without prefix (one duplicate version).
        ("v0.1.0", 0, LW),
        ("v0.2.0", 1, ANN),
        ("0.3.0", 2, LW),
        ("v1.0.0-rc.1", 3, ANN),
        ("v1.0.0", 4, ANN),
        ("1.0.0", 4, LW),
        ("v1.1.0", 5, LW),
        ("v1.2.0", 6, ANN),
        ("v2.0.0", 7, LW),
        ("v2.0.1", 8, ANN),
        ("v10.0.0", 9, LW),
        // 7 non-semver.
        ("latest", 9, LW),
        ("release-1", 3, ANN),
        ("v1.2", 2, LW),
        ("v01.2.3", 2, LW),
        ("v1.2.3+build5", 2, ANN),
        ("V3.0.0", 2, LW),
        ("vv3.0.0", 2, LW),
        // 7 with prefix vpc/.
        ("vpc/v1.0.0", 1, LW),
        ("vpc/v1.1.0", 3, ANN),
        ("vpc/1.2.0", 5, LW),
        ("vpc/v2.0.0-beta.1", 7, ANN),
        ("vpc/latest", 7, LW),
        ("vpc/v1.0", 7, ANN),
        // 3 with other prefixes.
        ("s3/v0.1.0", 2, LW),
        ("s3/v0.2.0", 8, ANN),
        ("s3-legacy/v1.0.0", 8, LW),
    ];
    for (name, i, ann) in tags {
        tag(&repo, name, c[*i], *ann);
    }
    // 3 tags on a blob (lightweight, annotated, prefixed annotated).
    tag(&repo, "v9.9.9", blob, LW);
    tag(&repo, "v9.9.8", blob, ANN);
    tag(&repo, "vpc/v3.0.0", blob, ANN);
    assert_eq!(repo.tag_names(None).unwrap().len(), 30);
    (dir, c)
}

fn tags_of(scan: &TagScan) -> Vec<&str> {
    scan.versions.iter().map(|t| t.tag.as_str()).collect()
}

#[test]
fn scan_root_tags() {
    let (dir, c) = tagged_repo();
    let repo = Repo::discover(dir.path()).unwrap();
    let scan = repo.semver_tags("").unwrap();
    assert_eq!(
        tags_of(&scan),
        [
            "v0.1.0",
            "v0.2.0",
            "0.3.0",
            "v1.0.0-rc.1",
            "v1.0.0",
            "v1.1.0",
            "v1.2.0",
            "v2.0.0",
            "v2.0.1",
            "v10.0.0"
        ]
    );
    let idx = [0usize, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    for (tv, i) in scan.versions.iter().zip(idx) {
        assert_eq!(tv.commit_oid, c[i], "{}", tv.tag);
        assert_eq!(tv.commit, c[i].to_string(), "{}", tv.tag);
        assert_eq!(tv.commit.len(), 40);
        assert_eq!(tv.version, v(tv.tag.trim_start_matches('v')));
    }
    let skipped: BTreeSet<&str> = scan.skipped.iter().map(|s| s.tag.as_str()).collect();
    for t in [
        "1.0.0",
        "latest",
        "release-1",
        "v1.2",
        "v01.2.3",
        "v1.2.3+build5",
        "V3.0.0",
        "vv3.0.0",
        "v9.9.9",
        "v9.9.8",
    ] {
        assert!(skipped.contains(t), "{t} not skipped: {:?}", scan.skipped);
    }
    // Every tag is accounted for exactly once.
    assert_eq!(scan.versions.len() + scan.skipped.len(), 30);
    let reason = |t: &str| {
        scan.skipped
            .iter()
            .find(|s| s.tag == t)
            .unwrap()
            .reason
            .clone()
    };
    assert!(reason("1.0.0").contains("v1.0.0"), "{}", reason("1.0.0"));
    assert!(reason("v9.9.9").contains("blob"), "{}", reason("v9.9.9"));
    assert!(reason("v9.9.8").contains("blob"), "{}", reason("v9.9.8"));
    assert!(reason("latest").contains("semver"), "{}", reason("latest"));
}

#[test]
fn scan_prefixed_tags() {
    let (dir, c) = tagged_repo();
    let repo = Repo::discover(dir.path()).unwrap();
    let scan = repo.semver_tags("vpc/").unwrap();
    assert_eq!(
        tags_of(&scan),
        ["vpc/v1.0.0", "vpc/v1.1.0", "vpc/1.2.0", "vpc/v2.0.0-beta.1"]
    );
    let commits: Vec<Oid> = scan.versions.iter().map(|t| t.commit_oid).collect();
    assert_eq!(commits, [c[1], c[3], c[5], c[7]]);
    let skipped: Vec<&str> = scan.skipped.iter().map(|s| s.tag.as_str()).collect();
    assert_eq!(skipped, ["vpc/latest", "vpc/v1.0", "vpc/v3.0.0"]);

    let s3 = repo.semver_tags("s3/").unwrap();
    assert_eq!(tags_of(&s3), ["s3/v0.1.0", "s3/v0.2.0"]);
    assert!(s3.skipped.is_empty(), "{:?}", s3.skipped);
}

#[test]
fn plan_sync_published_since_max() {
    let (dir, _) = tagged_repo();
    let repo = Repo::discover(dir.path()).unwrap();
    let scan = repo.semver_tags("").unwrap();
    let published: BTreeSet<_> = [v("0.1.0"), v("1.0.0")].into_iter().collect();
    let vers = |l: &[tfpub_core::git::TagVersion]| -> Vec<String> {
        l.iter().map(|t| t.version.to_string()).collect()
    };

    let all = plan_sync(&scan, &published, None, None);
    assert_eq!(vers(&all.already), ["0.1.0", "1.0.0"]);
    assert_eq!(
        vers(&all.publish),
        [
            "0.2.0",
            "0.3.0",
            "1.0.0-rc.1",
            "1.1.0",
            "1.2.0",
            "2.0.0",
            "2.0.1",
            "10.0.0"
        ]
    );
    assert_eq!(all.skipped, scan.skipped);

    let since = v("1.0.0");
    let p = plan_sync(&scan, &published, Some(&since), None);
    assert_eq!(
        vers(&p.publish),
        ["1.1.0", "1.2.0", "2.0.0", "2.0.1", "10.0.0"]
    );
    assert_eq!(vers(&p.already), ["0.1.0", "1.0.0"]);
    for t in ["v0.2.0", "0.3.0", "v1.0.0-rc.1"] {
        let s = p.skipped.iter().find(|s| s.tag == t).expect(t);
        assert!(s.reason.contains("--since"), "{}", s.reason);
    }
    assert_eq!(p.skipped.len(), scan.skipped.len() + 3);

    let p = plan_sync(&scan, &published, Some(&since), Some(2));
    assert_eq!(vers(&p.publish), ["1.1.0", "1.2.0"]);
    let over: Vec<&str> = p
        .skipped
        .iter()
        .filter(|s| s.reason.contains("--max"))
        .map(|s| s.tag.as_str())
        .collect();
    assert_eq!(over, ["v2.0.0", "v2.0.1", "v10.0.0"]);

    let none = plan_sync(&scan, &published, None, Some(0));
    assert!(none.publish.is_empty());

    let everything: BTreeSet<_> = scan.versions.iter().map(|t| t.version.clone()).collect();
    let done = plan_sync(&scan, &everything, None, None);
    assert!(done.publish.is_empty());
    assert_eq!(done.already.len(), 10);
}

#[test]
fn version_at_head_picks_highest() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    let c1 = commit(&repo, &[("main.tf", "# 1\n")], "one");
    let c2 = commit(&repo, &[("main.tf", "# 2\n")], "two");
    tag(&repo, "v2.0.0", c1, ANN);
    tag(&repo, "v1.0.0", c2, LW);
    tag(&repo, "v1.1.0", c2, ANN);
    tag(&repo, "v1.2.0-rc.1", c2, LW);
    tag(&repo, "vpc/v0.5.0", c2, ANN);
    let r = Repo::discover(dir.path()).unwrap();
    assert_eq!(r.head_commit().unwrap(), c2.to_string());
    let at = r.version_at_head("").unwrap().unwrap();
    assert_eq!(at.tag, "v1.2.0-rc.1");
    assert_eq!(at.commit_oid, c2);
    let at = r.version_at_head("vpc/").unwrap().unwrap();
    assert_eq!(
        (at.tag.as_str(), at.version.clone()),
        ("vpc/v0.5.0", v("0.5.0"))
    );
    assert!(r.version_at_head("s3/").unwrap().is_none());

    commit(&repo, &[("main.tf", "# 3\n")], "three");
    assert!(r.version_at_head("").unwrap().is_none());
}

#[test]
fn discover_from_subdir_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    commit(&repo, &[("modules/vpc/main.tf", "#\n")], "init");
    let r = Repo::discover(&dir.path().join("modules/vpc")).unwrap();
    assert_eq!(
        r.root().canonicalize().unwrap(),
        dir.path().canonicalize().unwrap()
    );

    let empty = tempfile::tempdir().unwrap();
    Repository::init(empty.path()).unwrap();
    let r = Repo::discover(empty.path()).unwrap();
    let e = r.head_commit().unwrap_err();
    let err = format!(
        "{e} {}",
        tfpub_core::error::Hint::hint(&e).unwrap_or_default()
    );
    assert!(err.contains("commit"), "{err}");

    let bare = tempfile::tempdir().unwrap();
    Repository::init_bare(bare.path()).unwrap();
    assert!(Repo::discover(bare.path()).is_err());
}

#[test]
fn dirty_detection() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    let root = dir.path();
    commit(
        &repo,
        &[
            (".gitignore", "*.log\n.terraform/\n"),
            ("README.md", "hi\n"),
            ("modules/vpc/main.tf", "# vpc\n"),
            ("modules/s3/main.tf", "# s3\n"),
        ],
        "init",
    );
    let r = Repo::discover(root).unwrap();
    let vpc = Path::new("modules/vpc");
    let s3 = Path::new("modules/s3");
    assert!(r.is_dirty(None).unwrap().is_empty());

    // Ignored files do not count.
    fs::write(root.join("modules/vpc/debug.log"), "x").unwrap();
    fs::create_dir_all(root.join("modules/vpc/.terraform/providers")).unwrap();
    fs::write(root.join("modules/vpc/.terraform/providers/p"), "x").unwrap();
    assert!(r.is_dirty(None).unwrap().is_empty());
    assert!(r.is_dirty(Some(vpc)).unwrap().is_empty());

    // Modified file outside the subdir.
    fs::write(root.join("modules/s3/main.tf"), "# changed\n").unwrap();
    assert_eq!(r.is_dirty(None).unwrap(), ["modules/s3/main.tf"]);
    assert!(r.is_dirty(Some(vpc)).unwrap().is_empty());
    assert_eq!(r.is_dirty(Some(s3)).unwrap(), ["modules/s3/main.tf"]);
    assert_eq!(
        r.is_dirty(Some(Path::new("./modules/s3/"))).unwrap(),
        ["modules/s3/main.tf"]
    );

    // A sibling directory sharing the prefix is not inside the subdir.
    fs::create_dir_all(root.join("modules/vpc2")).unwrap();
    fs::write(root.join("modules/vpc2/x.tf"), "#\n").unwrap();
    assert!(r.is_dirty(Some(vpc)).unwrap().is_empty());

    // Untracked file inside the subdir.
    fs::write(root.join("modules/vpc/new.tf"), "#\n").unwrap();
    assert_eq!(r.is_dirty(Some(vpc)).unwrap(), ["modules/vpc/new.tf"]);

    // Deleted tracked file.
    fs::remove_file(root.join("README.md")).unwrap();
    assert_eq!(
        r.is_dirty(None).unwrap(),
        [
            "README.md",
            "modules/s3/main.tf",
            "modules/vpc/new.tf",
            "modules/vpc2/x.tf"
        ]
    );

    // An untracked directory that IS the subdir: every file in it is reported.
    fs::create_dir_all(root.join("modules/new/sub")).unwrap();
    fs::write(root.join("modules/new/main.tf"), "#\n").unwrap();
    fs::write(root.join("modules/new/sub/x.tf"), "#\n").unwrap();
    assert_eq!(
        r.is_dirty(Some(Path::new("modules/new"))).unwrap(),
        ["modules/new/main.tf", "modules/new/sub/x.tf"]
    );

    // Staged-only change counts too.
    let mut index = repo.index().unwrap();
    fs::write(root.join("staged.tf"), "#\n").unwrap();
    index.add_path(Path::new("staged.tf")).unwrap();
    index.write().unwrap();
    assert!(r.is_dirty(None).unwrap().contains(&"staged.tf".to_string()));
    assert!(r
        .is_dirty(Some(Path::new(".")))
        .unwrap()
        .contains(&"staged.tf".to_string()));
}

fn project(files: &[&str], toml: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in files {
        fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    if let Some(t) = toml {
        fs::write(dir.path().join("tfpub.toml"), t).unwrap();
    }
    dir
}

fn load_err(dirs: &[&str], toml: &str) -> String {
    let d = project(dirs, Some(toml));
    match ProjectConfig::load(d.path()) {
        Ok(c) => panic!("expected an error for {toml:?}, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn tfpub_toml_good() {
    let d = project(&[], None);
    assert_eq!(ProjectConfig::load(d.path()).unwrap(), None);

    let d = project(
        &["modules/terraform-aws-vpc-peering", "modules/s3"],
        Some(
            r#"
[[module]]
path = "modules/terraform-aws-vpc-peering"
tag_prefix = "vpc/"

[[module]]
path = "modules/s3"
name = "s3_bucket"
provider = "aws"
"#,
        ),
    );
    let cfg = ProjectConfig::load(d.path()).unwrap().unwrap();
    assert_eq!(
        cfg.modules,
        [
            ModuleConfig {
                path: "modules/terraform-aws-vpc-peering".into(),
                name: "vpc-peering".into(),
                provider: "aws".into(),
                tag_prefix: "vpc/".into(),
                require_tests: false,
            },
            ModuleConfig {
                path: "modules/s3".into(),
                name: "s3_bucket".into(),
                provider: "aws".into(),
                tag_prefix: "".into(),
                require_tests: false,
            }
        ]
    );

    let d = project(&[], Some(""));
    let cfg = ProjectConfig::load(d.path()).unwrap().unwrap();
    assert!(cfg.modules.is_empty());
}

#[test]
fn tfpub_toml_bad() {
    let e = load_err(
        &["m"],
        "[[module]]\npath = \"m\"\nname = \"a\"\nprovider = \"aws\"\ntagprefix = \"x/\"\n",
    );
    assert!(e.contains("tfpub.toml") && e.contains("tagprefix"), "{e}");

    let e = load_err(&[], "colour = \"blue\"\n");
    assert!(e.contains("tfpub.toml") && e.contains("colour"), "{e}");

    let e = load_err(&[], "[[module]\npath = \n");
    assert!(e.contains("tfpub.toml"), "{e}");

    let e = load_err(&[], "[[module]]\nname = \"a\"\nprovider = \"aws\"\n");
    assert!(e.contains("path"), "{e}");

    for p in ["../outside", "/etc", "a/../../b"] {
        let e = load_err(
            &["a"],
            &format!("[[module]]\npath = \"{p}\"\nname = \"a\"\nprovider = \"aws\"\n"),
        );
        assert!(e.contains("inside"), "{p}: {e}");
    }

    let e = load_err(
        &[],
        "[[module]]\npath = \"missing\"\nname = \"a\"\nprovider = \"aws\"\n",
    );
    assert!(e.contains("missing") && e.contains("does not exist"), "{e}");

    let d = project(&[], None);
    fs::write(d.path().join("file.tf"), "#").unwrap();
    fs::write(
        d.path().join("tfpub.toml"),
        "[[module]]\npath = \"file.tf\"\nname = \"a\"\nprovider = \"aws\"\n",
    )
    .unwrap();
    let e = ProjectConfig::load(d.path()).unwrap_err().to_string();
    assert!(e.contains("not a directory"), "{e}");

    let e = load_err(
        &["a", "b"],
        "[[module]]\npath = \"a\"\nname = \"x\"\nprovider = \"aws\"\ntag_prefix = \"a/\"\n\
         [[module]]\npath = \"b\"\nname = \"x\"\nprovider = \"aws\"\ntag_prefix = \"b/\"\n",
    );
    assert!(e.contains("x/aws") && e.contains("twice"), "{e}");

    let e = load_err(
        &["a", "b"],
        "[[module]]\npath = \"a\"\nname = \"x\"\nprovider = \"aws\"\n\
         [[module]]\npath = \"b\"\nname = \"y\"\nprovider = \"aws\"\n",
    );
    assert!(e.contains("tag_prefix"), "{e}");

    let e = load_err(&["plain"], "[[module]]\npath = \"plain\"\n");
    assert!(e.contains("plain") && e.contains("name"), "{e}");

    let e = load_err(
        &["a"],
        "[[module]]\npath = \"a\"\nname = \"-bad\"\nprovider = \"aws\"\n",
    );
    assert!(e.contains("tfpub.toml") && e.contains("-bad"), "{e}");

    let e = load_err(
        &["a"],
        "[[module]]\npath = \"a\"\nname = \"ok\"\nprovider = \"AWS\"\n",
    );
    assert!(e.contains("AWS") && e.contains("lowercase"), "{e}");
}

#[cfg(unix)]
#[test]
fn tfpub_toml_symlink_outside() {
    let outside = tempfile::tempdir().unwrap();
    let d = project(&[], None);
    std::os::unix::fs::symlink(outside.path(), d.path().join("link")).unwrap();
    fs::write(
        d.path().join("tfpub.toml"),
        "[[module]]\npath = \"link\"\nname = \"a\"\nprovider = \"aws\"\n",
    )
    .unwrap();
    let e = ProjectConfig::load(d.path()).unwrap_err().to_string();
    assert!(e.contains("outside"), "{e}");
}

#[test]
fn module_dir_names() {
    let p = |s: &str| parse_module_dir_name(s);
    let pair = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
    assert_eq!(p("terraform-aws-vpc"), pair("aws", "vpc"));
    assert_eq!(p("terraform-aws-vpc-peering"), pair("aws", "vpc-peering"));
    assert_eq!(p("terraform-null-greeting"), pair("null", "greeting"));
    assert_eq!(p("terraform-google2-my_mod"), pair("google2", "my_mod"));
    assert_eq!(p("terraform-aws"), None);
    assert_eq!(p("terraform-aws-"), None);
    assert_eq!(p("terraform--vpc"), None);
    assert_eq!(p("terraform-AWS-vpc"), None);
    assert_eq!(p("tf-aws-vpc"), None);
    assert_eq!(p("terraform-aws-vpc-"), None);
    assert_eq!(p("vpc"), None);
}

#[test]
fn name_validation() {
    for ok in ["vpc", "VPC", "a", "my-mod_2", &"a".repeat(64)] {
        validate_module_name(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in [
        "",
        "-a",
        "a-",
        "_a",
        "a_",
        "a.b",
        "a b",
        "ä",
        &"a".repeat(65),
    ] {
        let e = validate_module_name(bad).unwrap_err().to_string();
        assert!(e.contains(&format!("{bad:?}")) && e.contains("64"), "{e}");
    }
    for ok in ["aws", "google2", "null", &"a".repeat(64)] {
        validate_provider_name(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in ["", "AWS", "aws-x", "aws_x", "a.b", &"a".repeat(65)] {
        let e = validate_provider_name(bad).unwrap_err().to_string();
        assert!(
            e.contains(&format!("{bad:?}")) && e.contains("lowercase"),
            "{e}"
        );
    }
    for ok in ["aws", "my-provider", "x2", "a-b-c"] {
        validate_provider_type_name(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in ["", "-a", "a-", "a--b", "My", "a_b", "a.b", &"a".repeat(65)] {
        let e = validate_provider_type_name(bad).unwrap_err().to_string();
        assert!(e.contains(&format!("{bad:?}")), "{e}");
    }
}

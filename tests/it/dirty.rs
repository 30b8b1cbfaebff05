//! Integration tests: `module publish`'s dirty-tree check counts only changes that would
//! change the archive. Files the packer never packs (`.terraform/`, state, what
//! `.terraformignore` excludes) do not block a publish; a new or modified file that would
//! be packed does, and is named.

use std::process::Command;

use crate::support::{git, module_copy, ok_json, run, Run, TestRegistry};

fn publish(t: &TestRegistry, dir: &std::path::Path) -> Command {
    let mut c = t.tfpub();
    c.args(["module", "publish", "--json"]).arg(dir);
    c
}

fn refused(r: &Run) -> String {
    assert_ne!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    let d = r.json();
    let e = &d["error"];
    format!("{} / hint: {}", e["message"], e["hint"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_changes_that_reach_the_archive_block_a_publish() {
    let t = TestRegistry::start().await;
    let (_tmp, dir) = module_copy();
    let repo = git2::Repository::init(&dir).unwrap();
    let first = git::commit(&repo, &[(".terraformignore", "notes/\n")], "first");
    git::tag(&repo, "v1.0.0", first, false);

    // What a plain `terraform init` + `apply` leaves behind, plus an excluded folder: none
    // of it is packed, so none of it blocks.
    let w = |p: &str, body: &str| crate::support::fs::write(&dir, p, body);
    w(".terraform/modules/modules.json", "{}");
    w(".terraform/providers/x/terraform-provider-null", "binary");
    w("terraform.tfstate", "{\"secret\": true}");
    w("terraform.tfstate.backup", "{}");
    w("notes/todo.md", "later");
    t.reg.stats().reset();
    let d = ok_json(&run(publish(&t, &dir)).await);
    assert_eq!(d["outcome"], "published", "{d}");

    // An untracked file that would be packed is refused, by name, and nothing is written.
    w("extra.tf", "locals {}\n");
    t.reg.stats().reset();
    let e = refused(&run(publish(&t, &dir)).await);
    assert!(e.contains("uncommitted changes"), "{e}");
    assert!(e.contains("extra.tf"), "{e}");
    for never in [".terraform", "tfstate", "notes/"] {
        assert!(
            !e.contains(never),
            "{never} is never packed yet listed: {e}"
        );
    }
    assert!(e.contains("--allow-dirty"), "{e}");
    assert_eq!(t.reg.stats().writes(), 0);
    std::fs::remove_file(dir.join("extra.tf")).unwrap();

    // A modified tracked file is refused.
    w("main.tf", "locals { changed = true }\n");
    let e = refused(&run(publish(&t, &dir)).await);
    assert!(e.contains("main.tf"), "{e}");
    git::restore(&repo, std::path::Path::new("main.tf"));

    // A deleted tracked file is refused too: the archive would lack it.
    std::fs::remove_file(dir.join("outputs.tf")).unwrap();
    let e = refused(&run(publish(&t, &dir)).await);
    assert!(e.contains("outputs.tf"), "{e}");
    git::restore(&repo, std::path::Path::new("outputs.tf"));

    // A file .gitignore hides is still packed (the packer does not read .gitignore), so it
    // counts.
    git::commit(&repo, &[(".gitignore", "*.auto.tfvars\n")], "ignore tfvars");
    w("prod.auto.tfvars", "size = 3\n");
    let e = refused(&run(publish(&t, &dir)).await);
    assert!(e.contains("prod.auto.tfvars"), "{e}");
    t.stop().await;
}

//! The client side of issue 14: inputs and servers that try to make the CLI leak, hang,
//! lose files or print what a server chose. Each test pins one class of the issue and
//! fails on the code before the fix: organization names checked before any request
//! (point 9), server text neutralised before it reaches a terminal or a workflow log
//! (15), response bodies capped (14), and the module packager refusing what it cannot
//! represent exactly (16, 17, 10).

use crate::support::{run, TestRegistry};

/// Point 9 (client side): `--organization` and `TFE_ORGANIZATION` are checked with the
/// service's rule before any request, for a remote host and for `--local`, and the
/// refusal names where the value came from.
#[tokio::test]
async fn invalid_organization_is_refused_naming_its_source() {
    let reg = TestRegistry::start().await;
    for bad in ["..", "a b", "a%00b", "a/../b"] {
        let mut c = reg.tfpub();
        c.args(["--organization", bad, "whoami"]);
        let r = run(c).await;
        assert_ne!(r.code, 0, "{bad:?} accepted:\n{}", r.stdout);
        assert!(
            r.stderr.contains("--organization") && r.stderr.contains("not valid"),
            "{bad:?}: {}",
            r.stderr
        );

        let mut c = reg.tfpub();
        c.env("TFE_ORGANIZATION", bad).arg("whoami");
        let r = run(c).await;
        assert_ne!(r.code, 0);
        assert!(r.stderr.contains("TFE_ORGANIZATION"), "{}", r.stderr);
    }
    // --local: refused before the embedded registry touches the data folder.
    let data = tempfile::tempdir().unwrap();
    let folder = data.path().join("never-created");
    let mut c = reg.tfpub();
    c.arg("--local")
        .arg("--data")
        .arg(&folder)
        .args(["--organization", "../x", "whoami"]);
    let r = run(c).await;
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("--organization"), "{}", r.stderr);
    assert!(!folder.exists(), "the data folder was created");
    reg.stop().await;
}

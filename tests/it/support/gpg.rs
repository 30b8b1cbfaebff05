//! The system `gpg` as an independent party: a throwaway GNUPGHOME (short path, as
//! gpg-agent sockets have a length limit) whose agent is killed on drop, to import keys,
//! make detached signatures and verify tfpub's.

use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

use super::command_ok;

pub struct Gpg(TempDir);

impl Gpg {
    pub fn new() -> Gpg {
        Gpg(tempfile::Builder::new()
            .prefix("tfpubg")
            .tempdir_in("/tmp")
            .unwrap())
    }

    /// The GNUPGHOME, for a process that runs gpg itself (an external signer).
    pub fn home(&self) -> &Path {
        self.0.path()
    }

    /// `gpg --batch --no-tty ARGS…` with this GNUPGHOME.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", self.0.path())
            .args(["--batch", "--no-tty"])
            .args(args);
        c
    }

    /// Run `gpg ARGS…` whatever its exit status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .expect("the system gpg runs (is it on the PATH?)")
    }

    /// Import an armored key (public or secret), which must succeed.
    pub fn import(&self, armored: &str) {
        let f = self.0.path().join("import.asc");
        std::fs::write(&f, armored).unwrap();
        command_ok(&mut self.command(&["--import", f.to_str().unwrap()]));
    }

    /// A binary detached signature of `data` into `out` by the imported secret key
    /// `key_id`, unlocked with `passphrase`.
    pub fn detach_sign(&self, key_id: &str, passphrase: &str, data: &Path, out: &Path) {
        command_ok(&mut self.command(&[
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            passphrase,
            "--local-user",
            key_id,
            "--output",
            out.to_str().unwrap(),
            "--detach-sign",
            data.to_str().unwrap(),
        ]));
    }

    /// `gpg --verify SIG DATA`; returns (success, status-fd output).
    pub fn verify(&self, data: &[u8], sig: &[u8]) -> (bool, String) {
        let d = self.0.path().join("data");
        let s = self.0.path().join("data.sig");
        std::fs::write(&d, data).unwrap();
        std::fs::write(&s, sig).unwrap();
        let out = self.run(&[
            "--status-fd",
            "1",
            "--verify",
            s.to_str().unwrap(),
            d.to_str().unwrap(),
        ]);
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.0.path())
            .args(["--kill", "all"])
            .status();
    }
}

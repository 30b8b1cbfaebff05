//! Who answers Ctrl-C. By default the command line stops the command (and says so); while
//! a stage holds a [`Claim`] (a module test run that must be canceled in the registry, the
//! embedded registry shutting down cleanly), that stage answers it instead.
//!
//! Why a count and not signal handlers per stage: once a process listens for SIGINT, the
//! default "terminate" never comes back, so a stage that listened for a while (the test
//! run of `--require-tests`) would leave the rest of the publish deaf to Ctrl-C. One
//! listener for the whole command, asking [`claimed`], keeps both behaviours.

use std::sync::atomic::{AtomicUsize, Ordering};

static CLAIMS: AtomicUsize = AtomicUsize::new(0);

/// While alive, Ctrl-C belongs to its holder, not to the command line's default.
#[derive(Debug)]
pub struct Claim(());

impl Claim {
    pub fn new() -> Claim {
        CLAIMS.fetch_add(1, Ordering::SeqCst);
        Claim(())
    }
}

impl Default for Claim {
    fn default() -> Self {
        Claim::new()
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        CLAIMS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a stage holds Ctrl-C now.
pub fn claimed() -> bool {
    CLAIMS.load(Ordering::SeqCst) > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_holds_ctrl_c_until_dropped() {
        let before = CLAIMS.load(Ordering::SeqCst);
        let a = Claim::new();
        let b = Claim::new();
        assert!(claimed());
        drop(a);
        assert!(claimed(), "one claim is still held");
        drop(b);
        assert_eq!(CLAIMS.load(Ordering::SeqCst), before);
    }
}

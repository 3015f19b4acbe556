//! Records the git commit bakeoff is built from (`BAKEOFF_COMMIT`, for the fingerprint):
//! two runs measured by different builds of the harness should say so.
//!
//! git runs with `--no-optional-locks`: a plain `git status` refreshes and rewrites
//! `.git/index` (always on the first call in a fresh clone), and since this script reruns
//! when `.git/index` changes, every build would make the next one rebuild bakeoff and all of
//! its test binaries (minutes on a 2-core machine: `make test` builds twice).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("--no-optional-locks").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) if git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty()) => {
            format!("{c}-dirty")
        }
        Some(c) => c,
        None => "unknown (not built from a git checkout)".into(),
    };
    println!("cargo:rustc-env=BAKEOFF_COMMIT={commit}");
    for path in [".git/HEAD", ".git/index", ".git/refs", "harness"] {
        println!("cargo:rerun-if-changed={path}");
    }
}

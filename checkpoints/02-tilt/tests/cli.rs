//! The binary's command line: bad flags stop it with a usage error, before it touches a cluster.

mod support;

use std::process::Command;

const MANAGER: &str = support::MANAGER;

fn run(args: &[&str]) -> (i32, String) {
    // No kubeconfig: a run that got past flag parsing would fail differently.
    let output = Command::new(MANAGER)
        .args(args)
        .env("KUBECONFIG", "/nonexistent")
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn unknown_and_go_style_flags_are_usage_errors() {
    for (args, expected) in [
        (
            &["--no-such-flag"][..],
            "unexpected argument '--no-such-flag'",
        ),
        // The Go providers' zap flag, as Cluster API's Tilt setup passes it: use --log-level.
        (&["-zap-log-level=debug"][..], "unexpected argument '-z'"),
        (
            &["--health-probe-bind-address=everywhere"][..],
            "is not an address",
        ),
        (&["--leader-elect=maybe"][..], "invalid value 'maybe'"),
    ] {
        let (code, stderr) = run(args);
        assert_eq!(code, 2, "{args:?} should be a usage error: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            stderr.contains("Usage:") || stderr.contains("--help"),
            "{args:?} points to the usage: {stderr}"
        );
    }
}

#[test]
fn help_lists_every_flag() {
    let output = Command::new(MANAGER).arg("--help").output().expect("runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--leader-elect",
        "--health-probe-bind-address",
        "--metrics-bind-address",
        "--namespace",
        "--watch-filter",
        "--log-level",
        "--log-format",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

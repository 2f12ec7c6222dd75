//! Layer 1-2: cloud-config conversion (golden files) and bootstrap execution on the
//! recording fake runtime.

use capdkc_docker::BootstrapData;
use capdkc_docker::bootstrap::{self, BootstrapError, Outcome, RunOptions, Step};
use capdkc_docker::fake::{Call, FakeRuntime};
use capdkc_docker::runtime::{ContainerRuntime, ContainerSpec, ExecOutput};

const INIT: &str = include_str!("fixtures/control-plane-init.yaml");
const JOIN: &str = include_str!("fixtures/worker-join.yaml");
const TOKEN: &str = "abcdef.0123456789abcdef";

/// Human-readable plan for golden files: file bodies shown as text (the fixtures hold fake
/// keys only).
fn plan(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::WriteFile {
                path,
                contents,
                mode,
                owner,
                append,
            } => {
                out.push_str(&format!(
                    "write {path} mode={mode:o} owner={owner} append={append} bytes={}\n",
                    contents.len()
                ));
                for line in String::from_utf8_lossy(contents.expose()).lines() {
                    out.push_str(&format!("  | {line}\n"));
                }
            }
            Step::MarkStarted => out.push_str("mark started\n"),
            Step::Run { argv, kubeadm } => {
                out.push_str(&format!("run kubeadm={kubeadm} {argv:?}\n"))
            }
        }
    }
    out
}

fn golden(name: &str, text: String) {
    insta::with_settings!({ snapshot_path => "golden", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn control_plane_init_converts_to_golden_plan() {
    let steps = bootstrap::convert(&BootstrapData::new(INIT), "cloud-config").unwrap();
    let text = plan(&steps);
    assert!(text.contains("kind: KubeProxyConfiguration\n  | conntrack:\n  |   maxPerCore: 0"));
    assert!(
        text.contains("apiVersion: audit.k8s.io/v1"),
        "gz+b64 decoded"
    );
    let mark = text.find("mark started").unwrap();
    assert!(mark < text.find("kubeadm init").unwrap());
    golden("control_plane_init", text);
}

#[test]
fn worker_join_converts_to_golden_plan() {
    let steps = bootstrap::convert(&BootstrapData::new(JOIN), "").unwrap();
    let text = plan(&steps);
    assert!(text.contains("append=true"));
    assert!(text.contains(r#"run kubeadm=false ["sh", "-c", "echo preparing"]"#));
    assert!(
        !text.contains("KubeProxyConfiguration"),
        "only kubeadm.yaml gets the override"
    );
    golden("worker_join", text);
}

#[test]
fn ignition_is_unsupported_and_bad_yaml_is_not_quoted() {
    let err = bootstrap::convert(&BootstrapData::new("{}"), "ignition").unwrap_err();
    assert!(matches!(err, BootstrapError::Unsupported { .. }));
    assert_eq!(
        err.to_string(),
        r#"bootstrap format "ignition" is not supported (only cloud-config)"#
    );
    let bad = format!("write_files: [ {TOKEN}");
    let err = bootstrap::convert(&BootstrapData::new(bad), "cloud-config").unwrap_err();
    assert!(!err.to_string().contains(TOKEN), "{err}");
    let octal = "write_files:\n- path: /a\n  permissions: 0600\n  content: x\n";
    let steps = bootstrap::convert(&BootstrapData::new(octal), "").unwrap();
    assert!(matches!(&steps[0], Step::WriteFile { mode: 0o600, .. }));
}

async fn running_node(rt: &FakeRuntime, name: &str) {
    let spec = ContainerSpec {
        name: name.into(),
        image: "node".into(),
        ..Default::default()
    };
    rt.create(&spec).await.unwrap();
    rt.start(name).await.unwrap();
    rt.clear_calls();
}

fn fast() -> RunOptions {
    RunOptions {
        file_attempts: 5,
        retry_delay: std::time::Duration::ZERO,
    }
}

/// Quality-bar 7: file bodies only on stdin; nothing of the payload in argv or env.
#[tokio::test]
async fn bodies_travel_on_stdin_only_and_second_run_does_nothing() {
    // The fake "runs kubeadm" by creating the success sentinel, as the real runcmd does.
    let rt = FakeRuntime::new();
    let hook_rt = rt.clone();
    let rt = rt.with_exec_hook(move |container, req| {
        if req.argv.iter().any(|a| a.contains("kubeadm init")) {
            hook_rt.put_file(container, bootstrap::SUCCESS_SENTINEL, "success");
            return Some(ExecOutput::default());
        }
        None
    });
    running_node(&rt, "demo-cp-1").await;
    let steps = bootstrap::convert(&BootstrapData::new(INIT), "cloud-config").unwrap();
    let outcome = bootstrap::run::run(&rt, "demo-cp-1", &steps, &fast())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Completed);

    let key_line = "MIIEowIBAAKCAQEAtestonlynotarealkeytestonlynotarealkeytestonlyAB";
    let mut stdin_bodies = 0;
    for call in rt.calls() {
        match call {
            Call::Exec { argv, stdin, .. } => {
                let joined = argv.join(" ");
                assert!(!joined.contains(TOKEN), "token in argv: {joined}");
                assert!(!joined.contains(key_line), "key in argv");
                if let Some(stdin) = stdin {
                    stdin_bodies += 1;
                    assert!(!format!("{stdin:?}").contains("BEGIN"), "Debug leaks");
                }
            }
            Call::Create(spec) => assert!(spec.env.iter().all(|e| !e.contains(TOKEN))),
            _ => {}
        }
    }
    assert_eq!(stdin_bodies, 5, "one stdin body per write_files entry");
    let key = rt.file("demo-cp-1", "/etc/kubernetes/pki/ca.key").unwrap();
    assert!(key.starts_with(b"-----BEGIN RSA PRIVATE KEY-----\n"));
    assert!(rt.file("demo-cp-1", bootstrap::STARTED_SENTINEL).is_some());

    rt.clear_calls();
    let again = bootstrap::run::run(&rt, "demo-cp-1", &steps, &fast())
        .await
        .unwrap();
    assert_eq!(again, Outcome::AlreadyCompleted);
    assert_eq!(
        rt.calls().len(),
        1,
        "only the state probe: {:?}",
        rt.calls()
    );
}

/// F12: a started-sentinel without success means kubeadm must not run again.
#[tokio::test]
async fn interrupted_bootstrap_is_not_rerun() {
    let rt = FakeRuntime::new();
    running_node(&rt, "n").await;
    rt.put_file("n", bootstrap::STARTED_SENTINEL, "");
    let steps = bootstrap::convert(&BootstrapData::new(INIT), "").unwrap();
    let err = bootstrap::run::run(&rt, "n", &steps, &fast())
        .await
        .unwrap_err();
    assert!(matches!(err, BootstrapError::AlreadyStarted));
    assert_eq!(rt.calls().len(), 1);
}

/// F11: failing step -> error with redacted tails; file writes are retried 5 times.
#[tokio::test]
async fn failures_are_redacted_and_file_writes_retried() {
    let rt = FakeRuntime::new().with_exec_hook(|_, req| {
        if req.argv.iter().any(|a| a.contains("kubeadm init")) {
            return Some(ExecOutput {
                exit_code: 1,
                stdout: format!("[bootstrap-token] Using token: {TOKEN}\n").into_bytes(),
                stderr: b"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\nerror execution phase\n".to_vec(),
            });
        }
        None
    });
    running_node(&rt, "n").await;
    let steps = bootstrap::convert(&BootstrapData::new(INIT), "").unwrap();
    let err = bootstrap::run::run(&rt, "n", &steps, &fast())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("runcmd (kubeadm)") && msg.contains("exit code 1"),
        "{msg}"
    );
    assert!(!msg.contains(TOKEN) && !msg.contains("MIIE"), "{msg}");
    assert!(msg.contains("[REDACTED TOKEN]") && msg.contains("error execution phase"));

    let writes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = writes.clone();
    let rt = FakeRuntime::new().with_exec_hook(move |_, req| {
        let is_write = req
            .argv
            .get(3)
            .is_some_and(|a| a == bootstrap::run::WRITE_SCRIPT_NAME);
        if is_write && seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 4 {
            return Some(ExecOutput {
                exit_code: 1,
                ..Default::default()
            });
        }
        None
    });
    running_node(&rt, "n").await;
    let one = "write_files:\n- path: /etc/x\n  content: hello\nruncmd:\n- echo success > /run/cluster-api/bootstrap-success.complete\n";
    let steps = bootstrap::convert(&BootstrapData::new(one), "").unwrap();
    let outcome = bootstrap::run::run(&rt, "n", &steps, &fast())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Completed);
    assert_eq!(
        writes.load(std::sync::atomic::Ordering::SeqCst),
        5,
        "4 failures, success on the 5th attempt"
    );
    assert_eq!(rt.file("n", "/etc/x").as_deref(), Some(&b"hello"[..]));
}

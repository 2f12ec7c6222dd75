//! Turning a parsed cloud-config into the steps we execute, with the kubeadm adjustments a
//! kind-style node needs. Pure: no I/O, so every rule is unit-tested.

use super::cloudinit::{CloudConfig, RunCmd};
use super::kubelet;
use crate::secret::Sensitive;

/// Preflight checks that fail inside a container by design (no kernel config, swap on the
/// host, bridge netfilter sysctl not namespaced).
pub const IGNORE_PREFLIGHT: &str = "--ignore-preflight-errors=SystemVerification,Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables";

/// The kubeadm config file that gets the kube-proxy conntrack override appended.
pub const KUBEADM_CONFIG: &str = "/run/kubeadm/kubeadm.yaml";

/// kube-proxy must not try to set `nf_conntrack_max`: the sysctl is not writable from a
/// container, and kube-proxy would crash-loop on it.
pub const KUBE_PROXY_CONNTRACK: &str = "\n---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nconntrack:\n  maxPerCore: 0\n";

// ANCHOR: step
/// One thing to do inside the node container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Write (or append to) a file: the body travels on exec stdin, never in argv.
    WriteFile {
        /// Absolute path.
        path: String,
        /// Decoded body.
        contents: Sensitive,
        /// Permission bits; `chmod` only when not 0644.
        mode: u32,
        /// `user:group`; `chown` only when not `root:root`.
        owner: String,
        /// `>>` instead of `>`.
        append: bool,
    },
    /// Create the started-sentinel right before the first kubeadm command, so a restarted
    /// manager never runs kubeadm twice.
    MarkStarted,
    /// Run a command.
    Run {
        /// argv: `/bin/sh -c <string>` for string entries, the list as given otherwise.
        argv: Vec<String>,
        /// Whether this runs `kubeadm init` or `kubeadm join`.
        kubeadm: bool,
    },
}
// ANCHOR_END: step

impl Step {
    /// A label for logs and errors that reveals no content: `write_files /path` or `runcmd`.
    pub fn describe(&self) -> String {
        match self {
            Step::WriteFile { path, .. } => format!("write_files {path}"),
            Step::MarkStarted => "mark bootstrap started".to_owned(),
            Step::Run { kubeadm: true, .. } => "runcmd (kubeadm)".to_owned(),
            Step::Run { .. } => "runcmd".to_owned(),
        }
    }
}

// ANCHOR: convert
/// The steps for a cloud-config: all files first (cloud-init's order), then the commands,
/// with the started-sentinel inserted before the first kubeadm command.
pub fn to_steps(config: &CloudConfig, cgroup_v1_host: bool) -> Vec<Step> {
    let mut steps: Vec<Step> = config
        .write_files
        .iter()
        .map(|f| {
            let mut contents = f.contents.clone();
            if kubelet::is_kubeadm_config(&f.path) && !f.append {
                contents = with_node_kubelet_args(&f.path, contents, cgroup_v1_host);
            }
            if f.path == KUBEADM_CONFIG && !f.append {
                let mut body = contents.expose().to_vec();
                body.extend_from_slice(KUBE_PROXY_CONNTRACK.as_bytes());
                contents = Sensitive::new(body);
            }
            Step::WriteFile {
                path: f.path.clone(),
                contents,
                mode: f.mode,
                owner: f.owner.clone(),
                append: f.append,
            }
        })
        .collect();
    let mut marked = false;
    for cmd in &config.runcmd {
        let (argv, kubeadm) = match cmd {
            RunCmd::Shell(line) => {
                let (line, kubeadm) = adjust_shell(line);
                (vec!["/bin/sh".to_owned(), "-c".to_owned(), line], kubeadm)
            }
            RunCmd::Argv(argv) => adjust_argv(argv),
        };
        if kubeadm && !marked {
            steps.push(Step::MarkStarted);
            marked = true;
        }
        steps.push(Step::Run { argv, kubeadm });
    }
    steps
}
// ANCHOR_END: convert

/// The kubeadm configuration with the kubelet flags a node container needs. A file that does
/// not parse is passed on as it is: kubeadm then says what is wrong with it, better than we can
/// without quoting it (it holds the join token).
fn with_node_kubelet_args(path: &str, contents: Sensitive, cgroup_v1_host: bool) -> Sensitive {
    match kubelet::with_node_kubelet_args(contents.expose(), cgroup_v1_host) {
        Ok(adjusted) => Sensitive::new(adjusted),
        Err(error) => {
            tracing::warn!(path, %error, "kubeadm configuration left as it is");
            contents
        }
    }
}

/// Add the preflight flag after every `kubeadm init` / `kubeadm join` in a shell line.
fn adjust_shell(line: &str) -> (String, bool) {
    let mut out = String::with_capacity(line.len() + IGNORE_PREFLIGHT.len());
    let mut kubeadm = false;
    let mut rest = line;
    while let Some(pos) = find_kubeadm(rest) {
        let (head, tail) = rest.split_at(pos.end);
        out.push_str(head);
        out.push(' ');
        out.push_str(IGNORE_PREFLIGHT);
        rest = tail;
        kubeadm = true;
    }
    out.push_str(rest);
    (out, kubeadm)
}

/// The byte range of the next `kubeadm init|join` phrase (word-bounded).
fn find_kubeadm(s: &str) -> Option<std::ops::Range<usize>> {
    let mut from = 0;
    while let Some(i) = s[from..].find("kubeadm") {
        let start = from + i;
        let before_ok = start == 0
            || s[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | '/'));
        let after = s[start + "kubeadm".len()..].trim_start();
        let gap = s.len() - start - "kubeadm".len() - after.len();
        for verb in ["init", "join"] {
            let end_ok = after
                .strip_prefix(verb)
                .is_some_and(|r| r.is_empty() || r.starts_with(char::is_whitespace));
            if before_ok && gap > 0 && end_ok {
                return Some(start..start + "kubeadm".len() + gap + verb.len());
            }
        }
        from = start + "kubeadm".len();
    }
    None
}

fn adjust_argv(argv: &[String]) -> (Vec<String>, bool) {
    let is_kubeadm = argv
        .first()
        .is_some_and(|a| a == "kubeadm" || a.ends_with("/kubeadm"))
        && argv.get(1).is_some_and(|v| v == "init" || v == "join");
    let mut out = argv.to_vec();
    if is_kubeadm {
        out.insert(2, IGNORE_PREFLIGHT.to_owned());
    }
    (out, is_kubeadm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_lines_get_the_preflight_flag_after_the_verb() {
        let (l, k) = adjust_shell("kubeadm init --config /run/kubeadm/kubeadm.yaml && echo ok");
        assert!(k);
        assert_eq!(
            l,
            format!(
                "kubeadm init {IGNORE_PREFLIGHT} --config /run/kubeadm/kubeadm.yaml && echo ok"
            )
        );
        let (l, k) = adjust_shell("/usr/bin/kubeadm join --config x.yaml");
        assert!(k);
        assert!(l.starts_with(&format!("/usr/bin/kubeadm join {IGNORE_PREFLIGHT}")));
        assert_eq!(
            adjust_shell("echo kubeadmin initial"),
            ("echo kubeadmin initial".into(), false)
        );
        assert_eq!(
            adjust_shell("kubeadm version"),
            ("kubeadm version".into(), false)
        );
    }

    #[test]
    fn argv_entries_get_the_flag_as_their_own_argument() {
        let argv: Vec<String> = ["kubeadm", "join", "--config", "c.yaml"]
            .map(String::from)
            .into();
        let (out, k) = adjust_argv(&argv);
        assert!(k);
        assert_eq!(out[2], IGNORE_PREFLIGHT);
        assert_eq!(out.len(), 5);
    }
}

//! The Docker layer's command-line flags, flattened into the manager's.

use clap::{Args, ValueEnum};

use crate::node::DEFAULT_NETWORK;
use crate::runtime::SecurityProfile;

/// Where the provider's containers run.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct DockerOptions {
    /// The Docker network load balancers and nodes join: kind's, so that the management
    /// cluster reaches them. Created if missing.
    #[arg(long, default_value = DEFAULT_NETWORK, value_parser = parse_network)]
    pub docker_network: String,

    /// How much privilege node containers get. `privileged` (as kind) runs them with
    /// `--privileged`. `capabilities` is for hosts whose Docker refuses `--privileged` (a
    /// sandboxed daemon without CAP_SYS_RESOURCE fails with "unable to apply caps: operation
    /// not permitted"): every capability but SYS_RESOURCE, every device, unmasked /proc and
    /// /sys. The node image must repair its read-only /sys and cgroup mounts itself then.
    #[arg(long, value_enum, default_value_t = NodePrivilege::Privileged)]
    pub node_privilege: NodePrivilege,

    /// Host directories whose contents DockerMachines may mount (spec.extraMounts), comma
    /// separated. Empty (the default): no extraMount is allowed. A requested path is resolved
    /// (symlinks, `..`, /proc/PID/root) on the machine the manager runs on, which must see the
    /// Docker host's filesystem; it must then lie inside one of these directories. Nodes are
    /// (nearly) root on the host, so never allow a directory that holds a container runtime
    /// socket, or one that people who create DockerMachines can write symlinks into.
    #[arg(long, value_delimiter = ',', value_parser = parse_host_dir)]
    pub allowed_host_mounts: Vec<String>,
}

/// The `--node-privilege` values.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodePrivilege {
    /// `--privileged`.
    Privileged,
    /// The capability profile.
    Capabilities,
}

impl From<NodePrivilege> for SecurityProfile {
    fn from(privilege: NodePrivilege) -> Self {
        match privilege {
            NodePrivilege::Privileged => SecurityProfile::Privileged,
            NodePrivilege::Capabilities => SecurityProfile::Capabilities,
        }
    }
}

impl Default for DockerOptions {
    fn default() -> Self {
        Self {
            docker_network: DEFAULT_NETWORK.to_owned(),
            node_privilege: NodePrivilege::Privileged,
            allowed_host_mounts: Vec::new(),
        }
    }
}

/// An absolute directory path, other than `/`.
fn parse_host_dir(text: &str) -> Result<String, String> {
    let trimmed = text.trim_end_matches('/');
    if !text.starts_with('/') || trimmed.is_empty() {
        return Err(format!(
            "`{text}` is not an absolute directory other than /"
        ));
    }
    Ok(trimmed.to_owned())
}

/// A Docker network name: letters, digits and `_.-`, starting with a letter or digit.
fn parse_network(text: &str) -> Result<String, String> {
    let valid = text.len() <= 128
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}` is not a Docker network name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        docker: DockerOptions,
    }

    fn parse(args: &[&str]) -> Result<DockerOptions, clap::Error> {
        use clap::Parser as _;
        let argv = std::iter::once("manager").chain(args.iter().copied());
        Cli::try_parse_from(argv).map(|cli| cli.docker)
    }

    #[test]
    fn nodes_are_privileged_unless_the_user_chooses_capabilities() {
        let defaults = parse(&[]).unwrap();
        assert_eq!(defaults, DockerOptions::default());
        assert_eq!(
            SecurityProfile::from(defaults.node_privilege),
            SecurityProfile::Privileged
        );
        let chosen = parse(&["--node-privilege=capabilities"]).unwrap();
        assert_eq!(
            SecurityProfile::from(chosen.node_privilege),
            SecurityProfile::Capabilities
        );
        assert!(parse(&["--node-privilege=root"]).is_err());
    }

    #[test]
    fn no_host_mounts_are_allowed_unless_listed() {
        assert!(parse(&[]).unwrap().allowed_host_mounts.is_empty());
        let listed = parse(&["--allowed-host-mounts=/srv/images,/data/"]).unwrap();
        assert_eq!(listed.allowed_host_mounts, ["/srv/images", "/data"]);
        for bad in ["relative", "/", "//"] {
            assert!(
                parse(&[&format!("--allowed-host-mounts={bad}")]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn network_names_follow_docker_s_rules() {
        assert!(parse_network("kind").is_ok());
        assert!(parse_network("capdkc-test_1.x").is_ok());
        for bad in ["", "-x", "a b", "a/b", &"n".repeat(129)] {
            assert!(parse_network(bad).is_err(), "{bad:?}");
        }
    }
}

//! The manager's command line. Flag names and defaults follow the Cluster API providers written
//! in Go, so that Cluster API's tooling (the Tilt setup, clusterctl's manifests) can drive it.
//! The Docker layer's own flags (`--docker-network`, ...) come from `capdkc_docker::DockerOptions`.

use std::net::SocketAddr;
use std::path::PathBuf;

use capdkc_docker::DockerOptions;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// The CAPDKC manager: a Cluster API infrastructure provider for Docker.
#[derive(Parser, Debug, Clone)]
// `args_override_self`: the last of repeated flags wins, as with Go's flag package. Tilt appends
// its `extra_args` after the Deployment's own arguments and relies on that.
#[command(
    name = "manager",
    version,
    about,
    args_conflicts_with_subcommands = true,
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub manager: ManagerOptions,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Print every CRD as YAML (the counterpart of `make manifests`).
    Crds {
        /// Write one file per CRD into this directory instead of printing them.
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
    },
}

/// How the manager runs: what it watches, how it reports, and whether it competes for leadership.
#[derive(Args, Debug, Clone)]
pub struct ManagerOptions {
    /// Hold a Lease so that only one replica reconciles; the others wait to take over.
    #[arg(long, num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", action = ArgAction::Set)]
    pub leader_elect: bool,

    /// Where to serve /healthz and /readyz (`:9440` means every interface).
    #[arg(long, default_value = ":9440", value_parser = parse_bind_address)]
    pub health_probe_bind_address: BindAddress,

    /// Where to serve /metrics; `0` turns metrics off.
    #[arg(long, default_value = ":8080", value_parser = parse_bind_address)]
    pub metrics_bind_address: BindAddress,

    /// Watch only this namespace (default: all namespaces).
    #[arg(long, value_parser = parse_namespace)]
    pub namespace: Option<String>,

    /// Reconcile only objects labelled `cluster.x-k8s.io/watch-filter=<VALUE>`.
    #[arg(long, value_name = "VALUE", value_parser = parse_label_value)]
    pub watch_filter: Option<String>,

    /// Log filter: a level (error, warn, info, debug, trace) or a tracing directive such as
    /// `info,capdkc_manager=debug`.
    #[arg(long, env = "CAPDKC_LOG_LEVEL", default_value = "info", value_parser = parse_log_level)]
    pub log_level: String,

    /// Log lines as human-readable text or as JSON objects (for log collectors).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Name of this replica in the Lease (the pod name, from the downward API).
    #[arg(long, env = "POD_NAME")]
    pub leader_election_identity: Option<String>,

    /// Namespace of the Lease (the pod's namespace; default: the kubeconfig's namespace).
    #[arg(long, env = "POD_NAMESPACE", value_parser = parse_namespace)]
    pub leader_election_namespace: Option<String>,

    /// Where the provider's containers run (used from chapter 3 on).
    #[command(flatten)]
    pub docker: DockerOptions,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A listening address, or `Disabled` for `0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindAddress {
    Disabled,
    At(SocketAddr),
}

/// Accepts the Go forms `:9440` (every interface) and `0` (disabled) as well as `host:port`.
pub fn parse_bind_address(text: &str) -> Result<BindAddress, String> {
    if text == "0" {
        return Ok(BindAddress::Disabled);
    }
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_string()
    };
    full.parse::<SocketAddr>()
        .map(BindAddress::At)
        .map_err(|_| {
            format!("`{text}` is not an address: use `:PORT`, `HOST:PORT` or `0` to disable")
        })
}

fn parse_log_level(text: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(text)
        .map(|_| text.to_string())
        .map_err(|e| format!("`{text}` is not a log level or tracing filter: {e}"))
}

/// A DNS-1123 label, as namespaces must be.
fn parse_namespace(text: &str) -> Result<String, String> {
    let valid = !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-');
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a namespace name (lower-case DNS label)"
        ))
    }
}

/// A Kubernetes label value: up to 63 characters, alphanumeric at both ends, `-_.` inside.
fn parse_label_value(text: &str) -> Result<String, String> {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    let valid = !text.is_empty()
        && text.len() <= 63
        && text.starts_with(alnum)
        && text.ends_with(alnum)
        && text
            .chars()
            .all(|c| alnum(c) || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}` is not a valid label value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("manager").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_match_the_go_providers() {
        let cli = parse(&[]).expect("parses");
        let options = cli.manager;
        assert!(!options.leader_elect);
        assert_eq!(
            options.health_probe_bind_address,
            BindAddress::At("0.0.0.0:9440".parse().unwrap())
        );
        assert_eq!(
            options.metrics_bind_address,
            BindAddress::At("0.0.0.0:8080".parse().unwrap())
        );
        assert_eq!((options.namespace, options.watch_filter), (None, None));
        assert_eq!(options.log_format, LogFormat::Text);
    }

    #[test]
    fn leader_elect_takes_an_optional_boolean() {
        assert!(parse(&["--leader-elect"]).unwrap().manager.leader_elect);
        assert!(
            parse(&["--leader-elect=true"])
                .unwrap()
                .manager
                .leader_elect
        );
        assert!(
            !parse(&["--leader-elect=false"])
                .unwrap()
                .manager
                .leader_elect
        );
    }

    #[test]
    fn parses_scopes_and_addresses() {
        let cli = parse(&[
            "--namespace=team-a",
            "--watch-filter=blue",
            "--metrics-bind-address=0",
            "--health-probe-bind-address=127.0.0.1:0",
        ])
        .unwrap();
        assert_eq!(cli.manager.namespace.as_deref(), Some("team-a"));
        assert_eq!(cli.manager.watch_filter.as_deref(), Some("blue"));
        assert_eq!(cli.manager.metrics_bind_address, BindAddress::Disabled);
        assert_eq!(
            cli.manager.health_probe_bind_address,
            BindAddress::At("127.0.0.1:0".parse().unwrap())
        );
    }

    #[test]
    fn rejects_bad_values_with_a_reason() {
        for (args, reason) in [
            (
                &["--health-probe-bind-address=nine"][..],
                "is not an address",
            ),
            (&["--namespace=Team_A"][..], "is not a namespace name"),
            (&["--watch-filter=-x"][..], "is not a valid label value"),
            (&["--log-level=[[["][..], "is not a log level"),
            (&["--log-format=xml"][..], "invalid value 'xml'"),
        ] {
            let error = parse(args).expect_err("rejected").to_string();
            assert!(error.contains(reason), "{args:?}: {error}");
        }
    }

    #[test]
    fn a_repeated_flag_takes_its_last_value() {
        let cli = parse(&[
            "--leader-elect",
            "--log-level=info",
            "--leader-elect=false",
            "--log-level=debug",
        ])
        .unwrap();
        assert!(!cli.manager.leader_elect);
        assert_eq!(cli.manager.log_level, "debug");
    }

    #[test]
    fn the_crds_subcommand_needs_no_cluster_flags() {
        assert!(matches!(
            parse(&["crds"]).unwrap().command,
            Some(Command::Crds { output_dir: None })
        ));
    }
}

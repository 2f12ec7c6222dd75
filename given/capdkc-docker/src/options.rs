//! The Docker layer's command-line flags, flattened into the manager's.

use clap::Args;

use crate::node::DEFAULT_NETWORK;

/// Where the provider's containers run.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct DockerOptions {
    /// The Docker network load balancers and nodes join: kind's, so that the management
    /// cluster reaches them. Created if missing.
    #[arg(long, default_value = DEFAULT_NETWORK, value_parser = parse_network)]
    pub docker_network: String,
}

impl Default for DockerOptions {
    fn default() -> Self {
        Self {
            docker_network: DEFAULT_NETWORK.to_owned(),
        }
    }
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

    #[test]
    fn network_names_follow_docker_s_rules() {
        assert!(parse_network("kind").is_ok());
        assert!(parse_network("capdkc-test_1.x").is_ok());
        for bad in ["", "-x", "a b", "a/b", &"n".repeat(129)] {
            assert!(parse_network(bad).is_err(), "{bad:?}");
        }
    }
}

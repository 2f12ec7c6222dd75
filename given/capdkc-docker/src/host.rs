//! What the Docker host is like (from `docker info`), and the ways node containers adapt to it,
//! as kind adapts its nodes. Pure decisions, so each one is unit-tested.

use bollard::models::{SystemInfo, SystemInfoCgroupVersionEnum};

/// The facts about the Docker host that change how nodes are created or configured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DockerHost {
    /// The host runs cgroup v1: kubelet 1.35+ then needs `fail-cgroupv1=false`.
    pub cgroup_v1: bool,
    /// Docker's storage driver (`overlay2`, `btrfs`, `zfs`, ...).
    pub storage_driver: String,
    /// The daemon runs rootless (`docker info` security option `name=rootless`).
    pub rootless: bool,
    /// The daemon remaps user namespaces (`name=userns`, dockerd `--userns-remap`).
    pub userns_remap: bool,
}

impl DockerHost {
    /// Reads the facts from the Engine API's `/info`.
    pub fn from_info(info: &SystemInfo) -> Self {
        let options = info.security_options.clone().unwrap_or_default();
        let has_option = |name: &str| {
            options
                .iter()
                .any(|option| option.split(',').any(|part| part == format!("name={name}")))
        };
        Self {
            cgroup_v1: info.cgroup_version == Some(SystemInfoCgroupVersionEnum::_1),
            storage_driver: info.driver.clone().unwrap_or_default(),
            rootless: has_option("rootless"),
            userns_remap: has_option("userns"),
        }
    }
}

/// What node containers get because of the host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostAdaptations {
    /// Extra bind mounts, `host:container[:opts]`.
    pub binds: Vec<String>,
    /// Host devices passed through.
    pub devices: Vec<String>,
    /// `--userns=host`.
    pub userns_host: bool,
}

/// The adaptations kind makes for its node containers:
/// - btrfs and zfs storage drivers: `/dev/mapper`, which the kubelet's disk statistics (cAdvisor)
///   look up for the filesystem the images live on;
/// - rootless Docker: `/dev/fuse`, for fuse-overlayfs inside the node (no kernel overlayfs for an
///   unprivileged user);
/// - user-namespace remapping: `--userns=host`, because a node needs real root (and the daemon
///   refuses `--privileged` in a remapped namespace).
pub fn adaptations(host: &DockerHost) -> HostAdaptations {
    let mut adapted = HostAdaptations::default();
    if matches!(host.storage_driver.as_str(), "btrfs" | "zfs") {
        adapted.binds.push("/dev/mapper:/dev/mapper".to_owned());
    }
    if host.rootless {
        adapted.devices.push("/dev/fuse".to_owned());
    }
    adapted.userns_host = host.userns_remap;
    adapted
}

/// The proxy variables nodes get, with the node network's subnets added to `NO_PROXY` and
/// `no_proxy` when a proxy is set: nodes talk to each other and to the load balancer directly,
/// never through the proxy (kind does the same).
pub fn proxy_env_with_subnets(proxy_env: &[String], subnets: &[String]) -> Vec<String> {
    let proxied = proxy_env.iter().any(|entry| {
        let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
        let proxy_key =
            key.eq_ignore_ascii_case("http_proxy") || key.eq_ignore_ascii_case("https_proxy");
        proxy_key && !value.is_empty()
    });
    if !proxied || subnets.is_empty() {
        return proxy_env.to_vec();
    }
    let mut env: Vec<String> = Vec::with_capacity(proxy_env.len() + 2);
    let mut seen = [false, false];
    for entry in proxy_env {
        let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
        match key {
            "NO_PROXY" | "no_proxy" => {
                seen[usize::from(key == "no_proxy")] = true;
                env.push(format!("{key}={}", join_no_proxy(value, subnets)));
            }
            _ => env.push(entry.clone()),
        }
    }
    for (index, key) in ["NO_PROXY", "no_proxy"].iter().enumerate() {
        if !seen[index] {
            env.push(format!("{key}={}", join_no_proxy("", subnets)));
        }
    }
    env
}

fn join_no_proxy(value: &str, subnets: &[String]) -> String {
    let mut entries: Vec<&str> = value.split(',').filter(|e| !e.is_empty()).collect();
    for subnet in subnets {
        if !entries.contains(&subnet.as_str()) {
            entries.push(subnet);
        }
    }
    entries.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(driver: &str, cgroup: SystemInfoCgroupVersionEnum, options: &[&str]) -> SystemInfo {
        SystemInfo {
            driver: Some(driver.to_owned()),
            cgroup_version: Some(cgroup),
            security_options: Some(options.iter().map(|o| (*o).to_owned()).collect()),
            ..SystemInfo::default()
        }
    }

    #[test]
    fn docker_info_is_read_into_host_facts() {
        let host = DockerHost::from_info(&info(
            "btrfs",
            SystemInfoCgroupVersionEnum::_1,
            &[
                "name=seccomp,profile=default",
                "name=rootless",
                "name=userns",
            ],
        ));
        assert_eq!(
            host,
            DockerHost {
                cgroup_v1: true,
                storage_driver: "btrfs".into(),
                rootless: true,
                userns_remap: true,
            }
        );
        let plain = DockerHost::from_info(&info(
            "overlay2",
            SystemInfoCgroupVersionEnum::_2,
            &["name=seccomp,profile=default", "name=cgroupns"],
        ));
        assert!(!plain.cgroup_v1 && !plain.rootless && !plain.userns_remap);
    }

    #[test]
    fn an_ordinary_host_needs_no_adaptation() {
        let host = DockerHost {
            storage_driver: "overlay2".into(),
            ..DockerHost::default()
        };
        assert_eq!(adaptations(&host), HostAdaptations::default());
    }

    #[test]
    fn btrfs_and_zfs_get_dev_mapper() {
        for driver in ["btrfs", "zfs"] {
            let host = DockerHost {
                storage_driver: driver.into(),
                ..DockerHost::default()
            };
            assert_eq!(
                adaptations(&host).binds,
                ["/dev/mapper:/dev/mapper"],
                "{driver}"
            );
        }
    }

    #[test]
    fn rootless_gets_fuse_and_userns_remap_gets_the_host_namespace() {
        let rootless = DockerHost {
            rootless: true,
            ..DockerHost::default()
        };
        assert_eq!(adaptations(&rootless).devices, ["/dev/fuse"]);
        assert!(!adaptations(&rootless).userns_host);
        let remapped = DockerHost {
            userns_remap: true,
            ..DockerHost::default()
        };
        assert!(adaptations(&remapped).userns_host);
    }

    #[test]
    fn with_a_proxy_the_node_subnets_bypass_it() {
        let subnets = vec!["172.18.0.0/16".to_owned()];
        let env = vec![
            "HTTP_PROXY=http://proxy:3128".to_owned(),
            "NO_PROXY=localhost,127.0.0.1".to_owned(),
        ];
        assert_eq!(
            proxy_env_with_subnets(&env, &subnets),
            [
                "HTTP_PROXY=http://proxy:3128",
                "NO_PROXY=localhost,127.0.0.1,172.18.0.0/16",
                "no_proxy=172.18.0.0/16",
            ]
        );
        let lower = vec![
            "https_proxy=http://proxy:3128".to_owned(),
            "no_proxy=172.18.0.0/16".to_owned(),
        ];
        assert_eq!(
            proxy_env_with_subnets(&lower, &subnets),
            [
                "https_proxy=http://proxy:3128",
                "no_proxy=172.18.0.0/16",
                "NO_PROXY=172.18.0.0/16",
            ]
        );
    }

    #[test]
    fn without_a_proxy_nothing_is_added() {
        let subnets = vec!["172.18.0.0/16".to_owned()];
        assert!(proxy_env_with_subnets(&[], &subnets).is_empty());
        let only_no_proxy = vec!["NO_PROXY=localhost".to_owned()];
        assert_eq!(
            proxy_env_with_subnets(&only_no_proxy, &subnets),
            only_no_proxy
        );
    }
}

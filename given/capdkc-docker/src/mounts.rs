//! Which host paths a DockerMachine may mount: only what lies inside a directory the operator
//! allows on the manager (`--allowed-host-mounts`), judged after resolving every symlink, `..`
//! and `/proc/<pid>/root`-style link.
//!
//! The trust model: node containers are privileged (or nearly so), so whoever may create
//! DockerMachines is trusted with the Docker host already. The allowlist keeps a mistake or a
//! less-trusted template from mounting the Docker socket, `/etc` or `/` into a node; the CRD's
//! CEL rules only check a path's shape, and a shape check cannot see through symlinks.
//!
//! Paths are resolved on the machine the manager runs on, which must see the Docker host's
//! filesystem as the daemon does: the manager runs on the Docker host (as in the tests and with
//! a local kind management cluster whose nodes mount the host's paths at the same places). A
//! manager talking to a remote daemon cannot check this and must leave the list empty.

use std::path::{Path, PathBuf};

use crate::node::HostMount;

/// Why an extraMount is refused. The message names the flag that would allow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountRefused {
    /// The manager allows no host mounts at all.
    #[error(
        "extraMounts hostPath {path} is not allowed: the manager allows no host mounts; an operator can allow a directory with the manager flag --allowed-host-mounts=DIR"
    )]
    NoneAllowed {
        /// The requested host path.
        path: String,
    },
    /// The path does not exist (Docker would create it, as root).
    #[error(
        "extraMounts hostPath {path} does not exist on the Docker host (it is not created for you)"
    )]
    Missing {
        /// The requested host path.
        path: String,
    },
    /// The resolved path lies outside every allowed directory.
    #[error(
        "extraMounts hostPath {path} resolves to {resolved}, which is outside the directories the manager allows ({allowed}); an operator can allow it with --allowed-host-mounts"
    )]
    Outside {
        /// The requested host path.
        path: String,
        /// Where it really points.
        resolved: String,
        /// The allowed directories, comma-separated.
        allowed: String,
    },
}

/// The mounts with their host paths resolved, or the first one that is not allowed. Each host
/// path is replaced by its resolved form, so Docker mounts exactly what was checked.
pub fn resolve_allowed(
    mounts: &[HostMount],
    allowed: &[String],
) -> Result<Vec<HostMount>, MountRefused> {
    mounts
        .iter()
        .map(|mount| {
            let resolved = resolve_one(&mount.host_path, allowed)?;
            Ok(HostMount {
                host_path: resolved.display().to_string(),
                ..mount.clone()
            })
        })
        .collect()
}

fn resolve_one(path: &str, allowed: &[String]) -> Result<PathBuf, MountRefused> {
    if allowed.is_empty() {
        return Err(MountRefused::NoneAllowed {
            path: path.to_owned(),
        });
    }
    let resolved = std::fs::canonicalize(path).map_err(|_| MountRefused::Missing {
        path: path.to_owned(),
    })?;
    // An allowed directory that does not exist (yet) allows nothing.
    let inside = allowed
        .iter()
        .filter_map(|dir| std::fs::canonicalize(dir).ok())
        .any(|dir| is_within(&resolved, &dir));
    if inside {
        Ok(resolved)
    } else {
        Err(MountRefused::Outside {
            path: path.to_owned(),
            resolved: resolved.display().to_string(),
            allowed: allowed.join(","),
        })
    }
}

/// Component-wise, so `/srv/data2` is not inside `/srv/data`.
fn is_within(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(host_path: impl Into<String>) -> HostMount {
        HostMount {
            host_path: host_path.into(),
            container_path: "/data".into(),
            read_only: false,
        }
    }

    /// A temp tree: `allowed/` (with a file and a subdirectory), a sibling `allowed2/`, and
    /// symlinks inside `allowed/` that point out of it.
    struct Tree {
        root: tempfile::TempDir,
    }

    impl Tree {
        fn new() -> Self {
            let root = tempfile::tempdir().expect("temp dir");
            let allowed = root.path().join("allowed");
            std::fs::create_dir_all(allowed.join("images")).unwrap();
            std::fs::create_dir_all(root.path().join("allowed2")).unwrap();
            std::fs::write(allowed.join("file.txt"), "x").unwrap();
            std::os::unix::fs::symlink("/etc", allowed.join("etc-link")).unwrap();
            std::os::unix::fs::symlink("/proc/1/root", allowed.join("host-root")).unwrap();
            std::os::unix::fs::symlink("images", allowed.join("images-link")).unwrap();
            Self { root }
        }
        fn path(&self, relative: &str) -> String {
            self.root.path().join(relative).display().to_string()
        }
        fn allowed(&self) -> Vec<String> {
            vec![self.path("allowed")]
        }
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        let refused = resolve_allowed(&[mount("/srv/images")], &[]).unwrap_err();
        assert!(matches!(refused, MountRefused::NoneAllowed { .. }));
        assert!(
            refused.to_string().contains("--allowed-host-mounts"),
            "{refused}"
        );
        assert_eq!(resolve_allowed(&[], &[]), Ok(Vec::new()));
    }

    #[test]
    fn paths_inside_an_allowed_directory_are_mounted_resolved() {
        let tree = Tree::new();
        let real = std::fs::canonicalize(tree.path("allowed/images")).unwrap();
        for path in [
            tree.path("allowed/images"),
            tree.path("allowed/images/"),
            tree.path("allowed/images-link"),
            tree.path("allowed/./images"),
        ] {
            let mounted = resolve_allowed(&[mount(&path)], &tree.allowed()).unwrap();
            assert_eq!(mounted[0].host_path, real.display().to_string(), "{path}");
        }
        let file = resolve_allowed(&[mount(tree.path("allowed/file.txt"))], &tree.allowed());
        assert!(file.is_ok(), "files inside are fine too");
        let itself = resolve_allowed(&[mount(tree.path("allowed"))], &tree.allowed());
        assert!(itself.is_ok(), "the allowed directory itself");
    }

    #[test]
    fn every_way_around_the_allowlist_is_refused() {
        let tree = Tree::new();
        let allowed_with_slash = vec![format!("{}/", tree.path("allowed"))];
        let ways_out = [
            tree.path("allowed/etc-link"),
            tree.path("allowed/etc-link/"),
            tree.path("allowed/host-root"),
            tree.path("allowed/host-root/run"),
            tree.path("allowed/../allowed2"),
            tree.path("allowed/images/../.."),
            tree.path("allowed2"),
            "/proc/self/root".to_owned(),
            "/proc/1/root".to_owned(),
            "/proc/1/root/run".to_owned(),
            "/var/run/docker.sock".to_owned(),
            "/etc".to_owned(),
            "/dev".to_owned(),
            "/".to_owned(),
        ];
        for allowed in [tree.allowed(), allowed_with_slash] {
            for path in &ways_out {
                match resolve_allowed(&[mount(path)], &allowed) {
                    Err(MountRefused::Outside { .. } | MountRefused::Missing { .. }) => {}
                    other => panic!("{path} with {allowed:?}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn a_missing_path_is_refused_not_created() {
        let tree = Tree::new();
        let missing = tree.path("allowed/not-there");
        let refused = resolve_allowed(&[mount(&missing)], &tree.allowed()).unwrap_err();
        assert!(matches!(refused, MountRefused::Missing { .. }), "{refused}");
        assert!(!Path::new(&missing).exists());
    }

    #[test]
    fn a_sibling_with_the_same_prefix_is_outside() {
        let tree = Tree::new();
        let refused = resolve_allowed(&[mount(tree.path("allowed2"))], &tree.allowed());
        assert!(matches!(refused, Err(MountRefused::Outside { .. })));
    }
}

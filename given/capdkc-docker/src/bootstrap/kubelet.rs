//! The kubelet settings a node in a container needs, added to the kubeadm configuration the
//! bootstrap data writes, unless the configuration sets them already.
//!
//! Why here and not only in our templates: a user's own KubeadmConfig (or a ClusterClass from
//! elsewhere) does not carry them, and without them the kubelet fails or misbehaves in a
//! container: cgroup v1 refused, pods mixed into the node's systemd cgroups, evictions and image
//! garbage collection triggered by the host's disk. Upstream's Docker provider adds them the
//! same way. What the user set wins: we only add names that are missing.

use serde_json::{Value, json};

use super::BootstrapError;

/// `(name, value)` of every kubelet flag a node container needs.
pub const NODE_KUBELET_ARGS: [(&str, &str); 5] = [
    // Pods under their own cgroup, apart from the node's systemd services.
    ("cgroup-root", "/kubelet"),
    // containerd is accounted where systemd put it.
    ("runtime-cgroups", "/system.slice/containerd.service"),
    // The node's disk is the host's disk: no evictions because of it.
    (
        "eviction-hard",
        "nodefs.available<0%,nodefs.inodesFree<0%,imagefs.available<0%",
    ),
    // Never garbage-collect images: preloaded ones may not be pullable.
    ("image-gc-high-threshold", "100"),
    // The host may have swap.
    ("fail-swap-on", "false"),
];

/// kubelet 1.35+ refuses cgroup v1 unless told: only added on cgroup v1 hosts.
pub const CGROUP_V1_KUBELET_ARG: (&str, &str) = ("fail-cgroupv1", "false");

/// Whether `path` is a kubeadm configuration that the kubeadm bootstrap provider writes.
pub fn is_kubeadm_config(path: &str) -> bool {
    path.starts_with("/run/kubeadm/") && path.ends_with(".yaml")
}

/// The kubeadm configuration `yaml` with the node kubelet flags added to every
/// InitConfiguration and JoinConfiguration (v1beta4's list of `{name, value}`, or v1beta3's
/// map). Errors never quote the file: it holds the join token.
pub fn with_node_kubelet_args(yaml: &[u8], cgroup_v1: bool) -> Result<Vec<u8>, BootstrapError> {
    let invalid = |what: &str| BootstrapError::Invalid {
        reason: format!("the kubeadm configuration {what}"),
    };
    let text = std::str::from_utf8(yaml).map_err(|_| invalid("is not UTF-8"))?;
    let mut documents: Vec<Value> =
        serde_saphyr::from_multiple(text).map_err(|_| invalid("is not valid YAML"))?;
    let mut args: Vec<(&str, &str)> = NODE_KUBELET_ARGS.to_vec();
    if cgroup_v1 {
        args.push(CGROUP_V1_KUBELET_ARG);
    }
    let mut changed = false;
    for document in &mut documents {
        let kind = document.get("kind").and_then(Value::as_str).unwrap_or("");
        if matches!(kind, "InitConfiguration" | "JoinConfiguration") {
            changed |= add_missing(document, &args).map_err(invalid)?;
        }
    }
    if !changed {
        return Ok(yaml.to_vec());
    }
    let mut out = String::new();
    for document in documents.iter().filter(|d| !d.is_null()) {
        out.push_str("---\n");
        out.push_str(
            &serde_saphyr::to_string(document).map_err(|_| invalid("cannot be written back"))?,
        );
    }
    Ok(out.into_bytes())
}

/// Adds the flags `nodeRegistration.kubeletExtraArgs` lacks; true if it added any.
fn add_missing(document: &mut Value, args: &[(&str, &str)]) -> Result<bool, &'static str> {
    // v1beta3 (Kubernetes before 1.31) has a map of flags, v1beta4 a list of names and values.
    let api_version = document.get("apiVersion").and_then(Value::as_str);
    let map_shaped = api_version == Some("kubeadm.k8s.io/v1beta3");
    let Some(config) = document.as_object_mut() else {
        return Err("has a document that is not a mapping");
    };
    let registration = config
        .entry("nodeRegistration")
        .or_insert_with(|| json!({}));
    let Some(registration) = registration.as_object_mut() else {
        return Err("has a nodeRegistration that is not a mapping");
    };
    let extra = registration
        .entry("kubeletExtraArgs")
        .or_insert_with(|| if map_shaped { json!({}) } else { json!([]) });
    if extra.is_null() {
        *extra = if map_shaped { json!({}) } else { json!([]) };
    }
    let mut added = false;
    match extra {
        Value::Array(list) => {
            for (name, value) in args {
                let present = list
                    .iter()
                    .any(|arg| arg.get("name").and_then(Value::as_str) == Some(name));
                if !present {
                    list.push(json!({ "name": name, "value": value }));
                    added = true;
                }
            }
        }
        Value::Object(map) => {
            for (name, value) in args {
                if !map.contains_key(*name) {
                    map.insert((*name).to_owned(), json!(value));
                    added = true;
                }
            }
        }
        _ => return Err("has kubeletExtraArgs that are neither a list nor a map"),
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INIT_V1BETA4: &str = "---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.36.3
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- token: abcdef.0123456789abcdef
nodeRegistration:
  criSocket: unix:///var/run/containerd/containerd.sock
  kubeletExtraArgs:
  - name: eviction-hard
    value: memory.available<5%
";

    fn documents(yaml: &[u8]) -> Vec<Value> {
        serde_saphyr::from_multiple(std::str::from_utf8(yaml).unwrap()).unwrap()
    }

    fn args_of(document: &Value) -> Vec<(String, String)> {
        let extra = &document["nodeRegistration"]["kubeletExtraArgs"];
        match extra {
            Value::Array(list) => list
                .iter()
                .map(|a| {
                    let field = |k: &str| a[k].as_str().unwrap().to_owned();
                    (field("name"), field("value"))
                })
                .collect(),
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_flags_are_added_and_the_users_win() {
        let out = with_node_kubelet_args(INIT_V1BETA4.as_bytes(), false).unwrap();
        let docs = documents(&out);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["kind"], "ClusterConfiguration");
        let args = args_of(&docs[1]);
        assert!(args.contains(&("eviction-hard".into(), "memory.available<5%".into())));
        assert_eq!(args.iter().filter(|(n, _)| n == "eviction-hard").count(), 1);
        for name in [
            "cgroup-root",
            "runtime-cgroups",
            "image-gc-high-threshold",
            "fail-swap-on",
        ] {
            assert!(args.iter().any(|(n, _)| n == name), "{name}: {args:?}");
        }
        assert!(
            args.contains(&("image-gc-high-threshold".into(), "100".into())),
            "a string"
        );
        assert!(
            !args.iter().any(|(n, _)| n == "fail-cgroupv1"),
            "cgroup v2 host"
        );
        assert_eq!(
            docs[1]["bootstrapTokens"][0]["token"], "abcdef.0123456789abcdef",
            "everything else is kept"
        );
    }

    #[test]
    fn cgroup_v1_hosts_also_get_fail_cgroupv1_false() {
        let join = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery: {}\n";
        let out = with_node_kubelet_args(join.as_bytes(), true).unwrap();
        let args = args_of(&documents(&out)[0]);
        assert!(
            args.contains(&("fail-cgroupv1".into(), "false".into())),
            "{args:?}"
        );
        assert_eq!(args.len(), NODE_KUBELET_ARGS.len() + 1);
    }

    #[test]
    fn v1beta3_maps_stay_maps() {
        let join = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    cgroup-root: /custom\n";
        let out = with_node_kubelet_args(join.as_bytes(), false).unwrap();
        let docs = documents(&out);
        assert!(docs[0]["nodeRegistration"]["kubeletExtraArgs"].is_object());
        let args = args_of(&docs[0]);
        assert!(args.contains(&("cgroup-root".into(), "/custom".into())));
        assert_eq!(args.len(), NODE_KUBELET_ARGS.len());
    }

    #[test]
    fn a_complete_configuration_is_left_byte_for_byte() {
        let once = with_node_kubelet_args(INIT_V1BETA4.as_bytes(), true).unwrap();
        assert_eq!(with_node_kubelet_args(&once, true).unwrap(), once);
        let other = "apiVersion: v1\nkind: ConfigMap\n";
        assert_eq!(
            with_node_kubelet_args(other.as_bytes(), true).unwrap(),
            other.as_bytes()
        );
    }

    #[test]
    fn invalid_yaml_is_reported_without_its_content() {
        let secret = "kind: JoinConfiguration\ntoken: abcdef.0123456789abcdef\n  bad: [";
        let error = with_node_kubelet_args(secret.as_bytes(), false).unwrap_err();
        assert!(!error.to_string().contains("abcdef"), "{error}");
    }
}

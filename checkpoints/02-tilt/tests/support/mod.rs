//! Shared by the tests: the small helpers of the workspace's test-support crate.

#![allow(dead_code, unused_imports)] // each test file uses a different part

pub use capdkc_test_support::{eventually, get, role_allows};

/// A DockerCluster as the API server would return it.
pub fn docker_cluster_json(name: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha1",
        "kind": "DockerCluster",
        "metadata": { "name": name, "namespace": "default", "uid": format!("uid-{name}"), "resourceVersion": "1" },
        "spec": {},
    })
}

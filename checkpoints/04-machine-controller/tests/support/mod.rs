//! Shared by the tests: fixture builders for the per-reconcile tests of both controllers, a
//! stand-in for a workload cluster's API server; the scripted API server
//! and the small helpers come from the workspace's test-support crate.

#![allow(dead_code, unused_imports)] // each test file uses a different part

pub mod fixtures;
pub mod machines;
pub mod workload;

pub use capdkc_test_support::{eventually, get, role_allows, scripted};

/// A DockerCluster as the API server would return it.
pub fn docker_cluster_json(name: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha1",
        "kind": "DockerCluster",
        "metadata": { "name": name, "namespace": "default", "uid": format!("uid-{name}"), "resourceVersion": "1" },
        "spec": {},
    })
}

//! Shared by the tests: fixture builders for the per-reconcile tests of both controllers, a
//! stand-in for a workload cluster's API server; the scripted API server
//! and the small helpers come from the workspace's test-support crate.

#![allow(dead_code, unused_imports)] // each test file uses a different part

/// The checkpoint under test, under one name in every checkpoint's tests: a test file a chapter
/// leaves alone is then the very same file (a link) in every later checkpoint.
pub use checkpoint_04 as checkpoint;
/// The checkpoint's manager binary.
pub const MANAGER: &str = env!("CARGO_BIN_EXE_checkpoint-04");
/// The kinds this checkpoint serves, in the order `crdgen::crds()` lists them.
pub const KINDS: &[&str] = &["DockerCluster", "DockerMachine"];

pub mod fixtures;
pub mod machines;
pub mod workload;

pub use capdkc_test_support::{eventually, get, role_allows, scripted};

pub mod kinds;

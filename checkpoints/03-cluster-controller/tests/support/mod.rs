//! Shared by the tests: fixture builders for the per-reconcile tests; the scripted API server
//! and the small helpers come from the workspace's test-support crate.

#![allow(dead_code, unused_imports)] // each test file uses a different part

/// The checkpoint under test, under one name in every checkpoint's tests: a test file a chapter
/// leaves alone is then the very same file (a link) in every later checkpoint.
pub use checkpoint_03 as checkpoint;
/// The checkpoint's manager binary.
pub const MANAGER: &str = env!("CARGO_BIN_EXE_checkpoint-03");
/// The kinds this checkpoint serves, in the order `crdgen::crds()` lists them.
pub const KINDS: &[&str] = &["DockerCluster", "DockerMachine"];

pub mod fixtures;

pub use capdkc_test_support::{eventually, get, role_allows, scripted};

pub mod kinds;

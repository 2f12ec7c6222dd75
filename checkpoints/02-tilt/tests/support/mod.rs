//! Shared by the tests: the small helpers of the workspace's test-support crate.

#![allow(dead_code, unused_imports)] // each test file uses a different part

/// The checkpoint under test, under one name in every checkpoint's tests: a test file a chapter
/// leaves alone is then the very same file (a link) in every later checkpoint.
pub use checkpoint_02 as checkpoint;
/// The checkpoint's manager binary.
pub const MANAGER: &str = env!("CARGO_BIN_EXE_checkpoint-02");
/// The kinds this checkpoint serves, in the order `crdgen::crds()` lists them.
pub const KINDS: &[&str] = &["DockerCluster", "DockerMachine"];

pub use capdkc_test_support::{eventually, get, role_allows};

pub mod kinds;

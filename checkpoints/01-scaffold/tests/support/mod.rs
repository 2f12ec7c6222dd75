//! Shared by the tests.

#![allow(dead_code, unused_imports)] // each test file uses a different part

/// The checkpoint under test, under one name in every checkpoint's tests: a test file a chapter
/// leaves alone is then the very same file (a link) in every later checkpoint.
pub use checkpoint_01 as checkpoint;
/// The checkpoint's manager binary.
pub const MANAGER: &str = env!("CARGO_BIN_EXE_checkpoint-01");
/// The kinds this checkpoint serves, in the order `crdgen::crds()` lists them.
pub const KINDS: &[&str] = &["DockerCluster", "DockerMachine"];

pub mod kinds;

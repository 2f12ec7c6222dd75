//! The real-Docker test environment lives in the library (`capdkc_docker::test_support`) so that
//! the checkpoints' end-to-end tests use the same one.

pub use capdkc_docker::test_support::*;

//! Checkpoint 01: the scaffold.
//!
//! The Rust counterpart of `kubebuilder init` followed by `kubebuilder create api` for the two
//! infrastructure kinds. The API types carry only the scaffold's example field; the Cluster API
//! contract fields arrive in the cluster and machine controller chapters.

pub mod api;
pub mod controllers;
pub mod crdgen;

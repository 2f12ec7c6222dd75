//! Checkpoint 03: the DockerCluster controller. Following the Cluster API v1beta2 contract, it
//! runs a load-balancer container in Docker for each cluster, points the control-plane endpoint at
//! it and reports the infrastructure provisioned, with conditions, events and a finalizer.

pub mod api;
pub mod controllers;
pub mod crdgen;

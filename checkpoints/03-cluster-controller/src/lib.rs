//! Checkpoint 03: the DockerCluster controller. Following the Cluster API v1beta2 contract, it
//! runs a load-balancer container in Docker for each cluster, points the control-plane endpoint at
//! it and reports the infrastructure provisioned, with conditions, events and a finalizer.

pub mod api;
pub mod capi;
pub mod cli;
pub mod conditions;
pub mod controllers;
pub mod crdgen;
pub mod http;
pub mod leader;
pub mod manager;
pub mod metrics;
pub mod telemetry;

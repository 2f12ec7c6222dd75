//! Checkpoint 04: the DockerMachine controller. Following the Cluster API v1beta2 contract, it runs
//! a node container for each Machine, bootstraps it from the Machine's cloud-config in the
//! background, adds control-plane nodes to the load balancer and reports providerID and addresses.

pub mod api;
pub mod controllers;
pub mod crdgen;

//! Checkpoint 02: the scaffold's controllers inside a manager process fit for a cluster: leader
//! election, health probes, metrics, scoped watches, structured logs and graceful shutdown.

pub mod api;
pub mod cli;
pub mod controllers;
pub mod crdgen;
pub mod http;
pub mod leader;
pub mod manager;
pub mod metrics;
pub mod telemetry;

//! Checkpoint 02: the scaffold's controllers inside the given manager process, fit for a
//! cluster (leader election, health probes, metrics, scoped watches, structured logs, graceful
//! shutdown), with its image, its deployment (`config/`) and the Tilt inner loop.

pub mod api;
pub mod controllers;
pub mod crdgen;

//! The cluster's load balancer: an HAProxy container in front of the control-plane nodes.

pub mod apply;
pub mod haproxy;

pub use apply::{ApplyError, ApplyOutcome, LbSettings, LbStatus, apply_config, ensure_lb, lb_spec};
pub use haproxy::{Backend, CONFIG_PATH, HealthCheck, LbConfig, drained, render};

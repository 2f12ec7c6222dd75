//! Checkpoint 05: the full provider. Templates (DockerMachineTemplate, DockerClusterTemplate) let
//! KubeadmControlPlane, MachineDeployments and ClusterClass stamp out DockerMachines and
//! DockerClusters; `templates/` and `metadata.yaml` make it installable with clusterctl.

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

//! Checkpoint 05: the full provider. Templates (DockerMachineTemplate, DockerClusterTemplate) let
//! KubeadmControlPlane, MachineDeployments and ClusterClass stamp out DockerMachines and
//! DockerClusters; `templates/` and `metadata.yaml` make it installable with clusterctl.

pub mod api;
pub mod controllers;
pub mod crdgen;

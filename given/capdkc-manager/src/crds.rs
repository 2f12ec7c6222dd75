//! The `crds` subcommand: the counterpart of kubebuilder's `make manifests`. The CRDs come from
//! the provider's Rust types (`CustomResourceExt::crd()`); this only names their files as
//! kubebuilder does and turns them into YAML text.

use std::path::Path;

use crate::cli::Command;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// The file kubebuilder would write this CRD to under `config/crd/bases`: `<group>_<plural>.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// One CRD as the YAML text we ship.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_saphyr::ser::Error> {
    serde_saphyr::to_string(crd)
}

/// All CRDs as one multi-document YAML stream, as `manager crds` prints it.
pub fn all_to_yaml(crds: &[CustomResourceDefinition]) -> Result<String, serde_saphyr::ser::Error> {
    let documents = crds.iter().map(to_yaml).collect::<Result<Vec<_>, _>>()?;
    Ok(documents.iter().map(|doc| format!("---\n{doc}")).collect())
}

/// Writes each CRD to its own file in `dir` (normally `config/crd/bases`).
pub fn write_bases(crds: &[CustomResourceDefinition], dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    for crd in crds {
        std::fs::write(dir.join(file_name(crd)), to_yaml(crd)?)?;
    }
    Ok(())
}

/// Runs the `crds` subcommand: prints `crds`, or writes them to `--output-dir`.
pub fn run(command: &Command, crds: &[CustomResourceDefinition]) -> anyhow::Result<()> {
    match command {
        Command::Crds {
            output_dir: Some(dir),
        } => write_bases(crds, dir),
        Command::Crds { output_dir: None } => {
            print!("{}", all_to_yaml(crds)?);
            Ok(())
        }
    }
}

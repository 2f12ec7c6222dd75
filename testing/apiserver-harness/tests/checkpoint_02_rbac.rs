//! Checkpoint 02's manager, leader election included, under the ServiceAccount, ClusterRole and
//! leader-election Role it ships (`config/rbac`) on a real API server with RBAC: nothing it does
//! is refused, and every granted rule is used except the Events rules the next chapter needs.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use apiserver_harness::{
    ControlPlane, Needs, Permission, assets_for_test, create_from_yaml, create_namespace,
    install_crds, refusals, requests_of, unused_permissions, wait_until_allowed,
};
use capdkc_manager::{Cli, Manager};
use clap::Parser;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::Api;
use kube::api::PostParams;

const RBAC: &str = "../../../checkpoints/02-tilt/config/rbac";
const SERVICE_ACCOUNT: &str =
    include_str!("../../../checkpoints/02-tilt/config/rbac/service_account.yaml");
const ROLE: &str = include_str!("../../../checkpoints/02-tilt/config/rbac/role.yaml");
const ROLE_BINDING: &str =
    include_str!("../../../checkpoints/02-tilt/config/rbac/role_binding.yaml");
const LEASE_ROLE: &str =
    include_str!("../../../checkpoints/02-tilt/config/rbac/leader_election_role.yaml");
const LEASE_ROLE_BINDING: &str =
    include_str!("../../../checkpoints/02-tilt/config/rbac/leader_election_role_binding.yaml");
const SAMPLE: &str = include_str!(
    "../../../checkpoints/02-tilt/config/samples/infrastructure_v1alpha1_dockercluster.yaml"
);

#[tokio::test]
async fn checkpoint_02_manager_needs_no_more_than_the_shipped_roles() -> anyhow::Result<()> {
    let test = "checkpoint_02_manager_needs_no_more_than_the_shipped_roles";
    let Some(assets) = assets_for_test(test, Needs::ControlPlane)? else {
        return Ok(());
    };
    let control_plane = ControlPlane::start(&assets).await?;
    let admin = control_plane.client().await?;
    install_crds(&admin, &checkpoint_02::crdgen::crds()).await?;

    // The manifests as shipped (kustomize renames namespace and names consistently).
    let service_account: ServiceAccount = serde_saphyr::from_str(SERVICE_ACCOUNT)?;
    let cluster_role: ClusterRole = serde_saphyr::from_str(ROLE)?;
    let cluster_role_binding: ClusterRoleBinding = serde_saphyr::from_str(ROLE_BINDING)?;
    let lease_role: Role = serde_saphyr::from_str(LEASE_ROLE)?;
    let lease_role_binding: RoleBinding = serde_saphyr::from_str(LEASE_ROLE_BINDING)?;
    let namespace = service_account
        .metadata
        .namespace
        .clone()
        .unwrap_or_default();
    let name = service_account.metadata.name.clone().unwrap_or_default();
    let post = PostParams::default();
    create_namespace(&admin, &namespace).await?;
    Api::<ServiceAccount>::namespaced(admin.clone(), &namespace)
        .create(&post, &service_account)
        .await?;
    Api::<ClusterRole>::all(admin.clone())
        .create(&post, &cluster_role)
        .await?;
    Api::<ClusterRoleBinding>::all(admin.clone())
        .create(&post, &cluster_role_binding)
        .await?;
    Api::<Role>::namespaced(admin.clone(), &namespace)
        .create(&post, &lease_role)
        .await?;
    Api::<RoleBinding>::namespaced(admin.clone(), &namespace)
        .create(&post, &lease_role_binding)
        .await?;
    let user = format!("system:serviceaccount:{namespace}:{name}");
    for permission in [
        Permission {
            group: "infrastructure.cluster.x-k8s.io",
            resource: "dockerclusters",
            verb: "list",
            namespace: None,
        },
        Permission {
            group: "coordination.k8s.io",
            resource: "leases",
            verb: "get",
            namespace: Some(&namespace),
        },
    ] {
        wait_until_allowed(&admin, &user, permission).await?;
    }

    let client = control_plane
        .client_as_service_account(&namespace, &name)
        .await?;
    let options = Cli::parse_from([
        "manager",
        "--leader-elect",
        "--health-probe-bind-address=127.0.0.1:0",
        "--metrics-bind-address=0",
        &format!("--leader-election-namespace={namespace}"),
        "--leader-election-identity=rbac-test",
    ])
    .manager;
    let mut manager = Manager::start(client, options).await?;
    checkpoint_02::controllers::setup(&mut manager);
    let running = manager.spawn();
    create_namespace(&admin, "workload").await?;
    create_from_yaml(&admin, "workload", SAMPLE).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while running.metrics.reconciles("dockercluster") == 0 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the manager never reconciled under its roles"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Stopping releases the Lease: that write must be allowed too.
    running.stop().await?;

    let events = requests_of(&control_plane.audit_events()?, &user);
    let refused = refusals(&events);
    assert!(refused.is_empty(), "refused by RBAC: {refused:#?}");

    let mut rules = cluster_role.rules.unwrap_or_default();
    rules.extend(lease_role.rules.unwrap_or_default());
    let unused = unused_permissions(&rules, &events);
    let events_rules: BTreeSet<(String, String, String)> = ["create", "patch"]
        .iter()
        .map(|verb| {
            (
                "events.k8s.io".to_owned(),
                "events".to_owned(),
                (*verb).to_owned(),
            )
        })
        .collect();
    assert_eq!(
        unused, events_rules,
        "granted but unused (only the Events rules may be, until chapter 3): see {RBAC}"
    );
    Ok(())
}

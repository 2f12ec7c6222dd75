//! RBAC checks shared by the tests that run a manager as its shipped ServiceAccount: waiting until
//! new bindings apply, and reading that user's requests back from the audit log.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule};
use kube::api::PostParams;
use kube::{Api, ResourceExt};

use crate::{AuditEvent, Error};

/// One permission to ask the authorizer about.
#[derive(Clone, Copy, Debug)]
pub struct Permission<'a> {
    pub group: &'a str,
    pub resource: &'a str,
    pub verb: &'a str,
    /// `None` for cluster-wide.
    pub namespace: Option<&'a str>,
}

/// A manager's identity as a checkpoint ships it (`config/rbac`): the YAML of its ServiceAccount,
/// ClusterRole and ClusterRoleBinding.
#[derive(Clone, Copy, Debug)]
pub struct ShippedRbac<'a> {
    pub service_account: &'a str,
    pub cluster_role: &'a str,
    pub cluster_role_binding: &'a str,
}

/// The shipped identity, installed and in effect.
#[derive(Clone, Debug)]
pub struct InstalledServiceAccount {
    pub namespace: String,
    pub name: String,
    /// The user name the audit log shows for its requests.
    pub user: String,
    /// What the ClusterRole grants.
    pub rules: Vec<PolicyRule>,
}

/// Creates the shipped ServiceAccount (and its namespace), ClusterRole and binding, and waits
/// until the authorizer applies them.
pub async fn install_shipped_rbac(
    admin: &kube::Client,
    rbac: ShippedRbac<'_>,
) -> Result<InstalledServiceAccount, Error> {
    let parse_error = |source| Error::Yaml {
        origin: "shipped RBAC".to_owned(),
        source: Box::new(source),
    };
    let service_account: ServiceAccount =
        serde_saphyr::from_str(rbac.service_account).map_err(parse_error)?;
    let cluster_role: ClusterRole =
        serde_saphyr::from_str(rbac.cluster_role).map_err(parse_error)?;
    let binding: ClusterRoleBinding =
        serde_saphyr::from_str(rbac.cluster_role_binding).map_err(parse_error)?;
    let namespace = service_account.namespace().unwrap_or_default();
    let name = service_account.name_any();
    let post = PostParams::default();
    crate::create_namespace(admin, &namespace).await?;
    Api::<ServiceAccount>::namespaced(admin.clone(), &namespace)
        .create(&post, &service_account)
        .await?;
    Api::<ClusterRole>::all(admin.clone())
        .create(&post, &cluster_role)
        .await?;
    Api::<ClusterRoleBinding>::all(admin.clone())
        .create(&post, &binding)
        .await?;
    let user = format!("system:serviceaccount:{namespace}:{name}");
    let permission = Permission {
        group: "cluster.x-k8s.io",
        resource: "clusters",
        verb: "watch",
        namespace: None,
    };
    wait_until_allowed(admin, &user, permission).await?;
    Ok(InstalledServiceAccount {
        namespace,
        name,
        user,
        rules: cluster_role.rules.unwrap_or_default(),
    })
}

/// RBAC decisions come from an informer cache: asks the authorizer (as `admin`, so the audit log
/// of `user` stays clean) until `permission` is allowed, for up to 30 s.
pub async fn wait_until_allowed(
    admin: &kube::Client,
    user: &str,
    permission: Permission<'_>,
) -> Result<(), Error> {
    let reviews: Api<SubjectAccessReview> = Api::all(admin.clone());
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(user.to_owned()),
            resource_attributes: Some(ResourceAttributes {
                group: Some(permission.group.to_owned()),
                resource: Some(permission.resource.to_owned()),
                verb: Some(permission.verb.to_owned()),
                namespace: permission.namespace.map(str::to_owned),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    let timeout = Duration::from_secs(30);
    let start = Instant::now();
    loop {
        let answer = reviews.create(&PostParams::default(), &review).await?;
        if answer.status.is_some_and(|status| status.allowed) {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(Error::Timeout {
                what: format!("{user} to be allowed {permission:?}"),
                timeout,
                last_seen: "not allowed".to_owned(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The audit events of requests `user` made.
pub fn requests_of(events: &[AuditEvent], user: &str) -> Vec<AuditEvent> {
    events
        .iter()
        .filter(|event| event.effective_user() == user)
        .cloned()
        .collect()
}

/// `verb group/resource -> code` lines, deduplicated, for readable assertion messages.
pub fn summary<'a>(events: impl IntoIterator<Item = &'a AuditEvent>) -> BTreeSet<String> {
    events
        .into_iter()
        .map(|e| {
            let (group, resource, verb) = e
                .permission()
                .unwrap_or_else(|| (String::new(), e.request_uri.clone(), e.verb.clone()));
            format!("{verb} {group}/{resource} -> {}", e.code())
        })
        .collect()
}

/// The requests that authentication or RBAC refused (401, 403), summarised. Other failures (a
/// 429 while a new CRD's watch cache starts, say) are retried by clients and do not count.
pub fn refusals(events: &[AuditEvent]) -> BTreeSet<String> {
    summary(events.iter().filter(|e| e.code() == 401 || e.code() == 403))
}

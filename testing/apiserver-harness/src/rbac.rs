//! RBAC checks shared by the tests that run a manager as its shipped ServiceAccount: waiting until
//! new bindings apply, and reading that user's requests back from the audit log.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::Api;
use kube::api::PostParams;

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

//! The API server's audit log, read back by tests: every request with its (impersonated) user,
//! verb, resource and response code. RBAC tests use it to prove that a ServiceAccount was never
//! refused, and to list the rules of a shipped ClusterRole that nothing exercised.

use std::collections::BTreeSet;
use std::path::Path;

use k8s_openapi::api::rbac::v1::PolicyRule;
use serde::Deserialize;

use crate::Error;

/// Records request metadata (no bodies) once each request has an answer.
pub(crate) const POLICY: &str = "\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
";

/// One audit event (the fields tests need).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// `ResponseStarted` (watches) or `ResponseComplete`.
    pub stage: String,
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, ...
    pub verb: String,
    /// The request path and query.
    #[serde(rename = "requestURI")]
    pub request_uri: String,
    /// The authenticated user.
    pub user: AuditUser,
    /// The user the request impersonated, whose permissions RBAC checked.
    #[serde(default)]
    pub impersonated_user: Option<AuditUser>,
    /// The object or collection the request addressed (absent for non-resource URLs).
    #[serde(default)]
    pub object_ref: Option<AuditObjectRef>,
    /// The response code.
    #[serde(default)]
    pub response_status: Option<AuditResponseStatus>,
}

/// A user in an audit event.
#[derive(Clone, Debug, Deserialize)]
pub struct AuditUser {
    /// The user name (`system:serviceaccount:<namespace>:<name>` for ServiceAccounts).
    #[serde(default)]
    pub username: String,
}

/// The addressed resource of an audit event.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditObjectRef {
    /// API group; empty for the core group.
    #[serde(default)]
    pub api_group: String,
    /// Plural resource name.
    #[serde(default)]
    pub resource: String,
    /// Subresource such as `status`.
    #[serde(default)]
    pub subresource: String,
    /// Namespace, if namespaced.
    #[serde(default)]
    pub namespace: String,
    /// Object name, if one object was addressed.
    #[serde(default)]
    pub name: String,
}

/// The response status of an audit event.
#[derive(Clone, Debug, Deserialize)]
pub struct AuditResponseStatus {
    /// HTTP status code.
    #[serde(default)]
    pub code: u16,
}

impl AuditEvent {
    /// The user whose permissions applied: the impersonated one if any.
    pub fn effective_user(&self) -> &str {
        self.impersonated_user
            .as_ref()
            .map_or(self.user.username.as_str(), |user| user.username.as_str())
    }

    /// The response code (0 when the event has none).
    pub fn code(&self) -> u16 {
        self.response_status
            .as_ref()
            .map_or(0, |status| status.code)
    }

    /// `(apiGroup, resource[/subresource], verb)` as an RBAC rule names it, for resource requests.
    pub fn permission(&self) -> Option<(String, String, String)> {
        let object = self.object_ref.as_ref()?;
        let resource = if object.subresource.is_empty() {
            object.resource.clone()
        } else {
            format!("{}/{}", object.resource, object.subresource)
        };
        Some((object.api_group.clone(), resource, self.verb.clone()))
    }
}

/// Parses an audit log (JSON lines). Lines that are not events (none expected) are skipped.
pub(crate) fn read_audit_log(path: &Path) -> Result<Vec<AuditEvent>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        // No request has been answered yet.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(Error::io("reading the audit log", path, source)),
    };
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

/// The `(apiGroup, resource, verb)` triples that `rules` grant and no event in `events` used
/// successfully. Wildcard rules (`*`) are reported as used if anything matched them.
pub fn unused_permissions(
    rules: &[PolicyRule],
    events: &[AuditEvent],
) -> BTreeSet<(String, String, String)> {
    let used: BTreeSet<(String, String, String)> = events
        .iter()
        .filter(|event| (200..300).contains(&event.code()))
        .filter_map(AuditEvent::permission)
        .collect();
    let matches = |granted: &str, requested: &str| granted == "*" || granted == requested;
    let mut unused = BTreeSet::new();
    for rule in rules {
        let groups = rule.api_groups.as_deref().unwrap_or_default();
        let resources = rule.resources.as_deref().unwrap_or_default();
        for group in groups {
            for resource in resources {
                for verb in &rule.verbs {
                    let is_used = used.iter().any(|(g, r, v)| {
                        matches(group, g) && matches(resource, r) && matches(verb, v)
                    });
                    if !is_used {
                        unused.insert((group.clone(), resource.clone(), verb.clone()));
                    }
                }
            }
        }
    }
    unused
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(verb: &str, resource: &str, code: u16) -> AuditEvent {
        serde_json::from_value(serde_json::json!({
            "stage": "ResponseComplete",
            "verb": verb,
            "requestURI": "/",
            "user": { "username": "admin" },
            "impersonatedUser": { "username": "system:serviceaccount:ns:sa" },
            "objectRef": { "apiGroup": "g", "resource": resource },
            "responseStatus": { "code": code },
        }))
        .expect("event")
    }

    #[test]
    fn rules_without_a_successful_request_are_unused() {
        let rules = [PolicyRule {
            api_groups: Some(vec!["g".to_owned()]),
            resources: Some(vec!["things".to_owned()]),
            verbs: vec!["get".to_owned(), "list".to_owned(), "watch".to_owned()],
            ..PolicyRule::default()
        }];
        let events = [event("list", "things", 200), event("get", "things", 403)];
        assert_eq!(events[0].effective_user(), "system:serviceaccount:ns:sa");
        let unused: Vec<_> = unused_permissions(&rules, &events).into_iter().collect();
        assert_eq!(
            unused,
            [
                ("g".to_owned(), "things".to_owned(), "get".to_owned()),
                ("g".to_owned(), "things".to_owned(), "watch".to_owned()),
            ]
        );
    }
}

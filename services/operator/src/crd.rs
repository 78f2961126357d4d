//! The `Committee` custom resource (`committees.xieshang.io/v1`, short name `cmte`).
//!
//! The CRD YAML in the Helm chart is generated from these types (`xieshang-operator crdgen`), so
//! this file is the single source of truth for the schema; a test fails when the chart's copy is
//! stale.

use kube::{CustomResource, CustomResourceExt, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Finalizer that makes deleting a `Committee` suspend — never delete — its tenant: a committee's
/// proposals, members and audit log outlive the Kubernetes object that declared it.
pub const FINALIZER: &str = "xieshang.io/suspend-on-delete";

/// The type of the one condition the operator maintains.
pub const READY: &str = "Ready";

/// Desired state of one CPPCC committee (政协委员会), a tenant of the tenants service.
///
/// Example: `code: "130528"`, `name: 中国人民政治协商会议宁晋县委员会`, `level: County`,
/// `parentCode: "130500"` (邢台市).
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
// Clippy reads the repeated `type_ = "string"` of the printer columns as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "xieshang.io",
    version = "v1",
    kind = "Committee",
    plural = "committees",
    singular = "committee",
    namespaced,
    shortname = "cmte",
    status = "CommitteeStatus",
    derive = "PartialEq",
    doc = "A CPPCC committee, reconciled into the Xieshang tenants service by xieshang-operator.",
    printcolumn(name = "Code", type_ = "string", json_path = ".spec.code"),
    printcolumn(name = "Level", type_ = "string", json_path = ".spec.level"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[x_kube(validation = Rule::new("self.level == 'Province' ? !has(self.parentCode) : has(self.parentCode)")
    .message("parentCode is required for City and County committees and must be absent for a Province"))]
#[serde(rename_all = "camelCase")]
pub struct CommitteeSpec {
    /// GB/T 2260 six-digit administrative division code, e.g. "130528" (宁晋县). Immutable: the
    /// tenants service keys committees by it.
    #[schemars(regex(pattern = r"^[1-9][0-9]{5}$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("code is immutable"))]
    pub code: String,
    /// The committee's name, e.g. 中国人民政治协商会议宁晋县委员会 (2-40 characters).
    #[schemars(length(min = 2, max = 40))]
    pub name: String,
    /// Province, City or County. Immutable in the tenants service.
    #[x_kube(validation = Rule::new("self == oldSelf").message("level is immutable"))]
    pub level: CommitteeLevel,
    /// Division code of the parent committee: a Province's code for a City, a City's for a County.
    /// Required for City and County, absent for a Province. Immutable in the tenants service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[1-9][0-9]{5}$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("parentCode is immutable"))]
    pub parent_code: Option<String>,
    /// The committee's first administrator, created with the committee-admin role when the
    /// operator creates (or adopts) the committee. Later edits are not propagated: from then on
    /// the committee manages its own users.
    pub admin: AdminContact,
    /// Suspend the committee (its users can no longer sign in) while true; reactivate when false.
    #[serde(default)]
    pub suspended: bool,
}

/// Level of a committee in the administrative tree.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CommitteeLevel {
    /// 省级 — provincial committee.
    Province,
    /// 市级 — city or prefecture committee.
    City,
    /// 县级 — county or district committee.
    County,
}

/// Contact of the first administrator.
///
/// The tenants API's `User` has a username and a display name only; `phone` and `email` are kept
/// in the resource for the people running the platform, and are not sent to the tenants service.
/// The account is created with a one-time password that the operator discards: the first
/// password is issued out of band by a platform operator (`ResetPassword`), so no credential ever
/// lands in the cluster.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminContact {
    /// Sign-in name: 3-32 letters, digits, '.', '_' or '-'.
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]{3,32}$"))]
    pub username: String,
    /// Name shown to people, e.g. 张国强.
    #[schemars(length(min = 1, max = 64))]
    pub display_name: String,
    /// Office or mobile phone (not sent to the tenants service, which has no such field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// E-mail address (not sent to the tenants service, which has no such field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Observed state, written only by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitteeStatus {
    /// Id of the committee in the tenants service. Set once this resource created or adopted the
    /// committee; it is the proof of ownership (see the crate docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committee_id: Option<String>,
    /// `Active` or `Suspended`, as last seen in the tenants service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The `metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions; the operator maintains `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// The fields of a `metav1.Condition`, with the same JSON names and meaning (k8s-openapi's type
/// carries no JSON schema without an extra feature, so it is mirrored here).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// CamelCase reason of the last transition, e.g. `CodeConflict`.
    pub reason: String,
    /// Human-readable detail.
    #[serde(default)]
    pub message: String,
    /// When `status` last changed (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: String,
    /// The `metadata.generation` this condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl CommitteeStatus {
    /// The `Ready` condition, if set.
    pub fn ready(&self) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == READY)
    }
}

/// The CRD as YAML, exactly what `crdgen` prints and the chart ships.
pub fn crd_yaml() -> String {
    let body = serde_yaml_ng::to_string(&Committee::crd()).expect("the CRD serializes");
    format!("# Generated by `xieshang-operator crdgen` from services/operator/src/crd.rs. Do not edit.\n{body}")
}

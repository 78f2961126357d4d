//! Validates rendered manifests: every document is deserialized into its typed Kubernetes
//! struct with unknown fields rejected, then checked against the chart's own rules.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, PersistentVolumeClaim, PodSpec, PodTemplateSpec, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// The gRPC port of every service container (the binary's contract).
pub const GRPC_PORT: i32 = 50051;

/// Labels every object of the chart carries.
pub const REQUIRED_LABELS: [&str; 4] = [
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
];

/// A validation failure, naming where it is.
#[derive(Debug, thiserror::Error)]
#[error("{source_file}, document {document} ({kind} {name}): {message}")]
pub struct Invalid {
    pub source_file: String,
    pub document: usize,
    pub kind: String,
    pub name: String,
    pub message: String,
}

/// One YAML document of a rendered file.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The file it was rendered from, e.g. `templates/deployments.yaml`.
    pub source: String,
    /// Its position among the file's non-empty documents, from 0.
    pub document: usize,
    pub value: Json,
}

impl Manifest {
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Json::as_str).unwrap_or("?")
    }

    pub fn api_version(&self) -> &str {
        self.value.get("apiVersion").and_then(Json::as_str).unwrap_or("?")
    }

    pub fn name(&self) -> &str {
        self.value.pointer("/metadata/name").and_then(Json::as_str).unwrap_or("?")
    }

    fn invalid(&self, message: impl Into<String>) -> Invalid {
        Invalid {
            source_file: self.source.clone(),
            document: self.document,
            kind: self.kind().to_string(),
            name: self.name().to_string(),
            message: message.into(),
        }
    }
}

/// Splits a rendered file into its YAML documents, dropping empty ones (as Helm does).
pub fn split_documents(source: &str, text: &str) -> Result<Vec<Manifest>, Invalid> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut chunks = Vec::new();
    for line in text.lines() {
        if line == "---" || line.starts_with("--- ") || line.trim_end() == "---" {
            chunks.push(std::mem::take(&mut current));
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    chunks.push(current);
    for chunk in chunks {
        let value: Json = serde_yaml_ng::from_str(&chunk).map_err(|e| Invalid {
            source_file: source.to_string(),
            document: docs.len(),
            kind: "?".into(),
            name: "?".into(),
            message: format!("not YAML: {e}\n{chunk}"),
        })?;
        if value.is_null() {
            continue;
        }
        docs.push(Manifest { source: source.to_string(), document: docs.len(), value });
    }
    Ok(docs)
}

/// Deserializes `value` into `T`, failing on any field `T` does not know (reported by path),
/// on any value of the wrong type, and on any required field that is missing (k8s-openapi
/// fills those with defaults: serializing the result back shows them).
pub fn strict<T: DeserializeOwned + Serialize>(value: &Json) -> Result<T, String> {
    let mut unknown = Vec::new();
    let mut record = |path: serde_ignored::Path<'_>| unknown.push(path_string(&path));
    let result: Result<T, _> =
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value.clone(), &mut record));
    let typed = result.map_err(|e| {
        let path = e.path().to_string();
        format!("at `{path}`: {}", e.into_inner())
    })?;
    if !unknown.is_empty() {
        return Err(format!("unknown field(s): {}", unknown.join(", ")));
    }
    let back = serde_json::to_value(&typed).map_err(|e| format!("cannot serialize back: {e}"))?;
    let mut missing = Vec::new();
    missing_required(value, &back, "", &mut missing);
    if !missing.is_empty() {
        return Err(format!("missing required field(s): {}", missing.join(", ")));
    }
    Ok(typed)
}

/// A serde_ignored path as `a.b.0.c`, without its markers for `Some` and newtypes.
fn path_string(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => join_path(&path_string(parent), &index.to_string()),
        Path::Map { parent, key } => join_path(&path_string(parent), key),
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => path_string(parent),
    }
}

fn join_path(parent: &str, segment: &str) -> String {
    if parent.is_empty() { segment.to_string() } else { format!("{parent}.{segment}") }
}

/// Paths present in `back` (the typed value serialized again) but not in `input`.
fn missing_required(input: &Json, back: &Json, path: &str, out: &mut Vec<String>) {
    match (input, back) {
        (Json::Object(i), Json::Object(b)) => {
            for (k, bv) in b {
                if bv.is_null() {
                    continue;
                }
                let p = join_path(path, k);
                match i.get(k) {
                    None | Some(Json::Null) => out.push(p),
                    Some(iv) => missing_required(iv, bv, &p, out),
                }
            }
        }
        (Json::Array(i), Json::Array(b)) => {
            for (n, (iv, bv)) in i.iter().zip(b).enumerate() {
                missing_required(iv, bv, &join_path(path, &n.to_string()), out);
            }
        }
        _ => {}
    }
}

/// The Prometheus Operator's ServiceMonitor, as far as the chart uses it.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceMonitor {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: ServiceMonitorSpec,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceMonitorSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<NamespaceSelector>,
    pub selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespaceSelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_names: Vec<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Endpoint {
    pub port: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_timeout: Option<String>,
}

/// A validated object.
#[derive(Debug)]
pub enum Object {
    ConfigMap(Box<ConfigMap>),
    Secret(Box<Secret>),
    ServiceAccount(Box<ServiceAccount>),
    Service(Box<Service>),
    Deployment(Box<Deployment>),
    Job(Box<Job>),
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
    HorizontalPodAutoscaler(Box<HorizontalPodAutoscaler>),
    PodDisruptionBudget(Box<PodDisruptionBudget>),
    NetworkPolicy(Box<NetworkPolicy>),
    Role(Box<Role>),
    RoleBinding(Box<RoleBinding>),
    ClusterRole(Box<ClusterRole>),
    ClusterRoleBinding(Box<ClusterRoleBinding>),
    CustomResourceDefinition(Box<CustomResourceDefinition>),
    ServiceMonitor(Box<ServiceMonitor>),
}

impl Object {
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::ConfigMap(o) => &o.metadata,
            Object::Secret(o) => &o.metadata,
            Object::ServiceAccount(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::Job(o) => &o.metadata,
            Object::PersistentVolumeClaim(o) => &o.metadata,
            Object::HorizontalPodAutoscaler(o) => &o.metadata,
            Object::PodDisruptionBudget(o) => &o.metadata,
            Object::NetworkPolicy(o) => &o.metadata,
            Object::Role(o) => &o.metadata,
            Object::RoleBinding(o) => &o.metadata,
            Object::ClusterRole(o) => &o.metadata,
            Object::ClusterRoleBinding(o) => &o.metadata,
            Object::CustomResourceDefinition(o) => &o.metadata,
            Object::ServiceMonitor(o) => &o.metadata,
        }
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.metadata().labels.as_ref().and_then(|l| l.get(key)).map(String::as_str)
    }
}

/// Deserializes a manifest into its typed struct (unknown fields and wrong types rejected),
/// then applies the per-object rules. CRDs are validated with [`validate_crd`] instead: they
/// are not the chart's templates and do not carry its labels.
pub fn validate(m: &Manifest) -> Result<Object, Invalid> {
    let object = typed(m)?;
    if let Object::CustomResourceDefinition(_) = object {
        return Err(m.invalid("a CustomResourceDefinition belongs in crds/, not templates/"));
    }
    let mut problems = Vec::new();
    check_metadata(&object, &mut problems);
    match &object {
        Object::Deployment(d) => {
            let spec = d.spec.as_ref();
            match spec {
                None => problems.push("no spec".into()),
                Some(spec) => {
                    check_selector(spec.selector.match_labels.as_ref(), &spec.template, &mut problems);
                    let service_pod = object.label("app.kubernetes.io/component") != Some("operator");
                    check_pod(&spec.template, service_pod, &mut problems);
                }
            }
        }
        Object::Job(j) => match j.spec.as_ref() {
            None => problems.push("no spec".into()),
            Some(spec) => check_pod(&spec.template, false, &mut problems),
        },
        Object::Service(s) => {
            let spec = s.spec.as_ref();
            if spec.and_then(|s| s.selector.as_ref()).is_none_or(BTreeMap::is_empty) {
                problems.push("a Service without a selector".into());
            }
            for port in spec.and_then(|s| s.ports.as_ref()).into_iter().flatten() {
                if port.name.as_deref().is_none_or(str::is_empty) {
                    problems.push(format!("Service port {} has no name", port.port));
                }
            }
        }
        Object::PodDisruptionBudget(p) => {
            if p.spec.as_ref().and_then(|s| s.selector.as_ref()).is_none() {
                problems.push("a PodDisruptionBudget without a selector".into());
            }
        }
        Object::ServiceMonitor(s) => {
            if s.spec.endpoints.is_empty() {
                problems.push("a ServiceMonitor without endpoints".into());
            }
        }
        _ => {}
    }
    if problems.is_empty() { Ok(object) } else { Err(m.invalid(problems.join("; "))) }
}

/// Validates a CustomResourceDefinition document (from crds/).
pub fn validate_crd(m: &Manifest) -> Result<CustomResourceDefinition, Invalid> {
    let crd: CustomResourceDefinition = strict(&m.value).map_err(|e| m.invalid(e))?;
    let spec = &crd.spec;
    let expected = format!("{}.{}", spec.names.plural, spec.group);
    if crd.metadata.name.as_deref() != Some(expected.as_str()) {
        return Err(m.invalid(format!("a CRD must be named <plural>.<group> = {expected}")));
    }
    if spec.versions.iter().filter(|v| v.storage).count() != 1 {
        return Err(m.invalid("exactly one version must be the storage version"));
    }
    for version in &spec.versions {
        if version.schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref()).is_none() {
            return Err(m.invalid(format!("version {} has no openAPIV3Schema", version.name)));
        }
    }
    Ok(crd)
}

fn typed(m: &Manifest) -> Result<Object, Invalid> {
    fn de<T: DeserializeOwned + Serialize>(m: &Manifest) -> Result<Box<T>, Invalid> {
        strict::<T>(&m.value).map(Box::new).map_err(|e| m.invalid(e))
    }
    Ok(match (m.api_version(), m.kind()) {
        ("v1", "ConfigMap") => Object::ConfigMap(de(m)?),
        ("v1", "Secret") => Object::Secret(de(m)?),
        ("v1", "ServiceAccount") => Object::ServiceAccount(de(m)?),
        ("v1", "Service") => Object::Service(de(m)?),
        ("v1", "PersistentVolumeClaim") => Object::PersistentVolumeClaim(de(m)?),
        ("apps/v1", "Deployment") => Object::Deployment(de(m)?),
        ("batch/v1", "Job") => Object::Job(de(m)?),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => Object::HorizontalPodAutoscaler(de(m)?),
        ("policy/v1", "PodDisruptionBudget") => Object::PodDisruptionBudget(de(m)?),
        ("networking.k8s.io/v1", "NetworkPolicy") => Object::NetworkPolicy(de(m)?),
        ("rbac.authorization.k8s.io/v1", "Role") => Object::Role(de(m)?),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => Object::RoleBinding(de(m)?),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => Object::ClusterRole(de(m)?),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => Object::ClusterRoleBinding(de(m)?),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => Object::CustomResourceDefinition(de(m)?),
        ("monitoring.coreos.com/v1", "ServiceMonitor") => Object::ServiceMonitor(de(m)?),
        (api_version, kind) => return Err(m.invalid(format!("unknown apiVersion/kind {api_version}/{kind}"))),
    })
}

/// A DNS-1123 label: lower-case alphanumerics and '-', at most 63, alphanumeric at both ends.
pub fn is_dns_label(s: &str) -> bool {
    s.len() <= 63 && is_dns_label_chars(s)
}

fn is_dns_label_chars(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.is_empty()
}

/// A label value: at most 63 of alphanumerics, '-', '_', '.', alphanumeric at both ends.
fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric())
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 in all.
pub fn is_dns_subdomain(s: &str) -> bool {
    // Kubernetes' IsDNS1123Subdomain: the label pattern without the 63 limit per part.
    s.len() <= 253 && s.split('.').all(is_dns_label_chars)
}

/// Kinds whose names must be DNS labels (≤ 63): Services by the API, the others because
/// their names become label values or host names of their pods.
pub fn needs_dns_label_name(kind: &str) -> bool {
    matches!(
        kind,
        "Service" | "Deployment" | "Job" | "HorizontalPodAutoscaler" | "PodDisruptionBudget" | "NetworkPolicy"
    )
}

fn check_metadata(object: &Object, problems: &mut Vec<String>) {
    let meta = object.metadata();
    let label_name = needs_dns_label_name(kind_of(object));
    match meta.name.as_deref() {
        None | Some("") => problems.push("metadata.name is missing".into()),
        Some(name) if label_name && !is_dns_label(name) => {
            problems.push(format!("metadata.name {name:?} is not a DNS-1123 label (at most 63)"))
        }
        Some(name) if !is_dns_subdomain(name) => {
            problems.push(format!("metadata.name {name:?} is not a DNS-1123 subdomain"))
        }
        _ => {}
    }
    let labels = meta.labels.clone().unwrap_or_default();
    for key in REQUIRED_LABELS {
        match labels.get(key) {
            None => problems.push(format!("label {key} is missing")),
            Some(v) if v.is_empty() => problems.push(format!("label {key} is empty")),
            _ => {}
        }
    }
    for (k, v) in &labels {
        if !is_label_value(v) {
            problems.push(format!("label {k}={v:?} is not a valid label value"));
        }
    }
}

fn check_selector(selector: Option<&BTreeMap<String, String>>, template: &PodTemplateSpec, problems: &mut Vec<String>) {
    let selector = selector.cloned().unwrap_or_default();
    if selector.is_empty() {
        problems.push("spec.selector.matchLabels is empty".into());
    }
    let labels = template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
    for (k, v) in &selector {
        if labels.get(k) != Some(v) {
            problems.push(format!("the selector {k}={v} does not match the pod template's labels"));
        }
    }
}

fn check_pod(template: &PodTemplateSpec, service_pod: bool, problems: &mut Vec<String>) {
    let Some(spec) = template.spec.as_ref() else {
        problems.push("the pod template has no spec".into());
        return;
    };
    let volumes: BTreeSet<&str> = spec.volumes.iter().flatten().map(|v| v.name.as_str()).collect();
    let containers: Vec<&Container> = spec.init_containers.iter().flatten().chain(spec.containers.iter()).collect();
    if spec.containers.is_empty() {
        problems.push("the pod has no containers".into());
    }
    check_pod_security(spec, problems);
    for c in containers {
        let sc = c.security_context.as_ref();
        if sc.and_then(|s| s.run_as_non_root) != Some(true) {
            problems.push(format!("container {}: securityContext.runAsNonRoot must be true", c.name));
        }
        if sc.and_then(|s| s.read_only_root_filesystem) != Some(true) {
            problems.push(format!("container {}: securityContext.readOnlyRootFilesystem must be true", c.name));
        }
        if sc.and_then(|s| s.allow_privilege_escalation) != Some(false) {
            problems.push(format!("container {}: securityContext.allowPrivilegeEscalation must be false", c.name));
        }
        if sc.and_then(|s| s.privileged) == Some(true) {
            problems.push(format!("container {}: privileged", c.name));
        }
        let mounts: Vec<_> = c.volume_mounts.iter().flatten().collect();
        for mount in &mounts {
            if !volumes.contains(mount.name.as_str()) {
                problems.push(format!("container {}: volume {} is not defined", c.name, mount.name));
            }
        }
        if !mounts.iter().any(|m| m.mount_path == "/tmp") {
            problems.push(format!("container {}: a read-only root filesystem needs a writable /tmp", c.name));
        }
        if c.image.as_deref().is_none_or(str::is_empty) {
            problems.push(format!("container {}: no image", c.name));
        }
        if service_pod {
            check_service_container(c, problems);
        }
    }
}

fn check_pod_security(spec: &PodSpec, problems: &mut Vec<String>) {
    let psc = spec.security_context.as_ref();
    if psc.and_then(|s| s.run_as_non_root) != Some(true) {
        problems.push("pod securityContext.runAsNonRoot must be true".into());
    }
    if psc.and_then(|s| s.run_as_user) == Some(0) {
        problems.push("pod securityContext.runAsUser must not be 0".into());
    }
}

/// A service container: a `grpc` port 50051 and native gRPC probes on it.
fn check_service_container(c: &Container, problems: &mut Vec<String>) {
    let grpc_port = c.ports.iter().flatten().find(|p| p.name.as_deref() == Some("grpc"));
    if grpc_port.map(|p| p.container_port) != Some(GRPC_PORT) {
        problems.push(format!("container {}: needs a port named grpc = {GRPC_PORT}", c.name));
    }
    let probes = [("liveness", &c.liveness_probe), ("readiness", &c.readiness_probe), ("startup", &c.startup_probe)];
    for (what, probe) in probes {
        match probe.as_ref().and_then(|p| p.grpc.as_ref()) {
            None => problems.push(format!("container {}: the {what} probe must be a grpc probe", c.name)),
            Some(grpc) if grpc.port != GRPC_PORT => {
                problems.push(format!("container {}: the {what} probe must use port {GRPC_PORT}", c.name))
            }
            Some(grpc) if grpc.service.as_deref().is_some_and(|s| !s.is_empty()) => {
                problems.push(format!("container {}: the {what} probe must check the whole process (\"\")", c.name))
            }
            _ => {}
        }
    }
}

/// Checks across the documents of one render: unique names, Services that select a pod,
/// references to ConfigMaps, ServiceAccounts, Roles and Deployments that exist.
pub fn check_release(objects: &[Object]) -> Result<(), String> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for o in objects {
        let key = (kind_of(o), o.metadata().namespace.clone().unwrap_or_default(), o.name().to_string());
        if !seen.insert(key.clone()) {
            problems.push(format!("{} {} is defined twice", key.0, key.2));
        }
    }
    let names = |kind: &str| -> BTreeSet<String> {
        objects.iter().filter(|o| kind_of(o) == kind).map(|o| o.name().to_string()).collect()
    };
    let config_maps = names("ConfigMap");
    let service_accounts = names("ServiceAccount");
    let deployments = names("Deployment");
    let secrets = names("Secret");
    let pod_labels: Vec<BTreeMap<String, String>> = objects
        .iter()
        .filter_map(|o| match o {
            Object::Deployment(d) => {
                d.spec.as_ref().and_then(|s| s.template.metadata.as_ref()).and_then(|m| m.labels.clone())
            }
            _ => None,
        })
        .collect();
    for o in objects {
        match o {
            Object::Service(s) => {
                let selector = s.spec.as_ref().and_then(|s| s.selector.clone()).unwrap_or_default();
                if !pod_labels.iter().any(|labels| selector.iter().all(|(k, v)| labels.get(k) == Some(v))) {
                    problems.push(format!("Service {} selects no pod of the release", o.name()));
                }
            }
            Object::Deployment(d) => {
                let pod = d.spec.as_ref().and_then(|s| s.template.spec.as_ref());
                if let Some(pod) = pod {
                    let sa = pod.service_account_name.as_deref().unwrap_or("default");
                    if sa != "default" && !service_accounts.contains(sa) {
                        problems.push(format!("Deployment {} runs as ServiceAccount {sa}, not defined", o.name()));
                    }
                    for c in &pod.containers {
                        for from in c.env_from.iter().flatten() {
                            if let Some(cm) = from.config_map_ref.as_ref()
                                && !config_maps.contains(&cm.name)
                            {
                                problems.push(format!("Deployment {}: ConfigMap {} is not defined", o.name(), cm.name));
                            }
                        }
                        for env in c.env.iter().flatten() {
                            let secret = env.value_from.as_ref().and_then(|v| v.secret_key_ref.as_ref());
                            // When the chart renders Secrets (development), every reference must
                            // point at one of them; otherwise they are existing Secrets.
                            if let Some(secret) = secret
                                && !secrets.is_empty()
                                && !secrets.contains(&secret.name)
                            {
                                problems.push(format!(
                                    "Deployment {}: Secret {} is not defined",
                                    o.name(),
                                    secret.name
                                ));
                            }
                        }
                    }
                }
            }
            Object::HorizontalPodAutoscaler(h) => {
                let Some(spec) = h.spec.as_ref() else {
                    problems.push(format!("HPA {} has no spec", o.name()));
                    continue;
                };
                let target = &spec.scale_target_ref;
                if target.kind != "Deployment" || !deployments.contains(&target.name) {
                    problems.push(format!("HPA {} scales {} {}, not defined", o.name(), target.kind, target.name));
                }
                let fixed = objects.iter().any(|d| match d {
                    Object::Deployment(d) => {
                        d.metadata.name.as_deref() == Some(target.name.as_str())
                            && d.spec.as_ref().and_then(|s| s.replicas).is_some()
                    }
                    _ => false,
                });
                if fixed {
                    problems.push(format!("Deployment {} sets replicas although an HPA scales it", target.name));
                }
            }
            Object::RoleBinding(b) => {
                let kind = b.role_ref.kind.as_str();
                if !names(kind).contains(&b.role_ref.name) {
                    problems.push(format!(
                        "RoleBinding {} refers to {kind} {}, not defined",
                        o.name(),
                        b.role_ref.name
                    ));
                }
                check_subjects(o.name(), b.subjects.as_deref(), &service_accounts, &mut problems);
            }
            Object::ClusterRoleBinding(b) => {
                if b.role_ref.kind != "ClusterRole" || !names("ClusterRole").contains(&b.role_ref.name) {
                    problems.push(format!(
                        "ClusterRoleBinding {} refers to {}, not defined",
                        o.name(),
                        b.role_ref.name
                    ));
                }
                check_subjects(o.name(), b.subjects.as_deref(), &service_accounts, &mut problems);
            }
            _ => {}
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

fn check_subjects(
    binding: &str,
    subjects: Option<&[k8s_openapi::api::rbac::v1::Subject]>,
    service_accounts: &BTreeSet<String>,
    problems: &mut Vec<String>,
) {
    for s in subjects.unwrap_or_default() {
        if s.kind == "ServiceAccount" && !service_accounts.contains(&s.name) {
            problems.push(format!("binding {binding}: ServiceAccount {} is not defined", s.name));
        }
    }
}

pub fn kind_of(o: &Object) -> &'static str {
    match o {
        Object::ConfigMap(_) => "ConfigMap",
        Object::Secret(_) => "Secret",
        Object::ServiceAccount(_) => "ServiceAccount",
        Object::Service(_) => "Service",
        Object::Deployment(_) => "Deployment",
        Object::Job(_) => "Job",
        Object::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
        Object::HorizontalPodAutoscaler(_) => "HorizontalPodAutoscaler",
        Object::PodDisruptionBudget(_) => "PodDisruptionBudget",
        Object::NetworkPolicy(_) => "NetworkPolicy",
        Object::Role(_) => "Role",
        Object::RoleBinding(_) => "RoleBinding",
        Object::ClusterRole(_) => "ClusterRole",
        Object::ClusterRoleBinding(_) => "ClusterRoleBinding",
        Object::CustomResourceDefinition(_) => "CustomResourceDefinition",
        Object::ServiceMonitor(_) => "ServiceMonitor",
    }
}

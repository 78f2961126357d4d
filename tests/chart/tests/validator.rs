//! The validator must be able to fail: broken manifests are rejected, naming the file, the
//! document and what is wrong.

use xieshang_chart::validate::{split_documents, strict, validate};

const GOOD: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: xs-xieshang-tenants
  labels:
    app.kubernetes.io/name: xieshang
    app.kubernetes.io/instance: xs
    app.kubernetes.io/version: "0.1.0"
    app.kubernetes.io/managed-by: Helm
    app.kubernetes.io/component: tenants
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/instance: xs
      app.kubernetes.io/component: tenants
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: xs
        app.kubernetes.io/component: tenants
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:
        - name: tenants
          image: ghcr.io/xieshang/xieshang:0.1.0
          ports:
            - name: grpc
              containerPort: 50051
          startupProbe:
            grpc:
              port: 50051
          livenessProbe:
            grpc:
              port: 50051
          readinessProbe:
            grpc:
              port: 50051
          securityContext:
            runAsNonRoot: true
            readOnlyRootFilesystem: true
            allowPrivilegeEscalation: false
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {}
"#;

fn check(text: &str) -> Result<(), String> {
    let docs = split_documents("templates/test.yaml", text).map_err(|e| e.to_string())?;
    assert_eq!(docs.len(), 1);
    validate(&docs[0]).map(|_| ()).map_err(|e| e.to_string())
}

#[test]
fn the_good_manifest_passes() {
    check(GOOD).unwrap();
}

#[test]
fn an_unknown_field_is_rejected_with_its_path() {
    let broken = GOOD.replace("          image: ghcr", "          imagePullPolicyy: Always\n          image: ghcr");
    let err = check(&broken).unwrap_err();
    assert!(err.contains("templates/test.yaml, document 0"), "{err}");
    assert!(err.contains("unknown field"), "{err}");
    assert!(err.contains("spec.template.spec.containers.0.imagePullPolicyy"), "{err}");
}

#[test]
fn a_misplaced_field_is_rejected() {
    // `replicas` belongs in spec, not in metadata.
    let broken = GOOD.replace("  name: xs-xieshang-tenants\n", "  name: xs-xieshang-tenants\n  replicas: 2\n");
    let err = check(&broken).unwrap_err();
    assert!(err.contains("metadata.replicas"), "{err}");
}

#[test]
fn a_wrong_type_is_rejected() {
    let broken = GOOD.replace("replicas: 2", "replicas: two");
    let err = check(&broken).unwrap_err();
    assert!(err.contains("spec.replicas"), "{err}");
}

#[test]
fn a_missing_required_field_is_rejected() {
    // k8s-openapi defaults missing required fields; the validator must not.
    let broken = GOOD.replace("        - name: tenants\n          image", "        - image");
    let err = check(&broken).unwrap_err();
    assert!(err.contains("missing required field(s): spec.template.spec.containers.0.name"), "{err}");
    let broken = GOOD.replace(
        "            grpc:\n              port: 50051\n          livenessProbe",
        "            grpc: {}\n          livenessProbe",
    );
    let err = check(&broken).unwrap_err();
    assert!(err.contains("spec.template.spec.containers.0.startupProbe.grpc.port"), "{err}");
}

#[test]
fn a_missing_label_is_rejected() {
    let broken = GOOD.replace("    app.kubernetes.io/managed-by: Helm\n", "");
    let err = check(&broken).unwrap_err();
    assert!(err.contains("label app.kubernetes.io/managed-by is missing"), "{err}");
}

#[test]
fn a_selector_that_does_not_match_the_pod_is_rejected() {
    let broken =
        GOOD.replacen("      app.kubernetes.io/component: tenants", "      app.kubernetes.io/component: other", 1);
    let err = check(&broken).unwrap_err();
    assert!(err.contains("does not match the pod template"), "{err}");
}

#[test]
fn a_writable_root_filesystem_is_rejected() {
    let broken = GOOD.replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false");
    let err = check(&broken).unwrap_err();
    assert!(err.contains("readOnlyRootFilesystem must be true"), "{err}");
}

#[test]
fn privilege_escalation_is_rejected() {
    let broken = GOOD.replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true");
    let err = check(&broken).unwrap_err();
    assert!(err.contains("allowPrivilegeEscalation must be false"), "{err}");
}

#[test]
fn a_non_grpc_probe_is_rejected() {
    let broken = GOOD.replacen(
        "          livenessProbe:\n            grpc:\n              port: 50051",
        "          livenessProbe:\n            tcpSocket:\n              port: 50051",
        1,
    );
    let err = check(&broken).unwrap_err();
    assert!(err.contains("the liveness probe must be a grpc probe"), "{err}");
}

#[test]
fn a_probe_on_another_port_is_rejected() {
    let broken = GOOD.replacen(
        "          readinessProbe:\n            grpc:\n              port: 50051",
        "          readinessProbe:\n            grpc:\n              port: 8080",
        1,
    );
    let err = check(&broken).unwrap_err();
    assert!(err.contains("the readiness probe must use port 50051"), "{err}");
}

#[test]
fn an_unknown_kind_is_rejected() {
    let err = check("apiVersion: v1\nkind: Pod2\nmetadata:\n  name: x\n").unwrap_err();
    assert!(err.contains("unknown apiVersion/kind v1/Pod2"), "{err}");
}

#[test]
fn a_wrong_api_version_is_rejected() {
    let broken = GOOD.replace("apiVersion: apps/v1", "apiVersion: apps/v1beta1");
    assert!(check(&broken).is_err());
}

#[test]
fn a_service_monitor_with_an_unknown_field_is_rejected() {
    let monitor = r#"
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: xs
  labels:
    app.kubernetes.io/name: xieshang
    app.kubernetes.io/instance: xs
    app.kubernetes.io/version: "0.1.0"
    app.kubernetes.io/managed-by: Helm
spec:
  selector:
    matchLabels:
      app.kubernetes.io/instance: xs
  endpoints:
    - port: metrics
      interval: 30s
"#;
    check(monitor).unwrap();
    let err = check(&monitor.replace("interval: 30s", "intervall: 30s")).unwrap_err();
    assert!(err.contains("intervall"), "{err}");
}

#[test]
fn strict_reports_every_ignored_path() {
    let value = serde_json::json!({"name": "x", "extra": 1, "configMapRef": {"name": "y", "bogus": true}});
    let err = strict::<k8s_openapi::api::core::v1::EnvFromSource>(&value).unwrap_err();
    assert!(err.contains("unknown field(s): configMapRef.bogus, extra, name"), "{err}");
}

#[test]
fn yaml_that_does_not_parse_is_rejected() {
    let err = split_documents("templates/x.yaml", "a: [1, 2\n").unwrap_err().to_string();
    assert!(err.contains("templates/x.yaml") && err.contains("not YAML"), "{err}");
}

#[test]
fn empty_documents_are_dropped() {
    let docs = split_documents("t.yaml", "---\n# only a comment\n---\na: 1\n---\n\n").unwrap();
    assert_eq!(docs.len(), 1);
}

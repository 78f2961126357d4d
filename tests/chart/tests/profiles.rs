//! Renders the chart for each profile and validates every manifest; then checks what each
//! profile must (and must not) contain.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, EnvVar};
use serde_json::json;
use xieshang_chart::{Chart, Checked, Object, Release, chart_dir, check, check_values};

const SERVICES: [&str; 5] = ["analytics", "consultation", "membership", "proposals", "tenants"];

fn chart() -> Chart {
    Chart::load(chart_dir()).expect("the chart loads")
}

fn checked(files: &[&str]) -> Checked {
    match check(&chart(), files, &Release::default()) {
        Ok(c) => c,
        Err(e) => panic!("{e:#}"),
    }
}

fn deployments(c: &Checked) -> BTreeMap<String, &Deployment> {
    c.objects
        .iter()
        .filter_map(|o| match o {
            Object::Deployment(d) => Some((o.name().to_string(), d.as_ref())),
            _ => None,
        })
        .collect()
}

fn container(d: &Deployment) -> &Container {
    &d.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0]
}

fn env<'a>(c: &'a Container, name: &str) -> Option<&'a EnvVar> {
    c.env.iter().flatten().find(|e| e.name == name)
}

fn env_value<'a>(c: &'a Container, name: &str) -> Option<&'a str> {
    env(c, name).and_then(|e| e.value.as_deref())
}

fn secret_ref(c: &Container, name: &str) -> Option<(String, String)> {
    let r = env(c, name)?.value_from.as_ref()?.secret_key_ref.as_ref()?;
    Some((r.name.clone(), r.key.clone()))
}

fn config_map(c: &Checked) -> BTreeMap<String, String> {
    c.objects
        .iter()
        .find_map(|o| match o {
            Object::ConfigMap(cm) => cm.data.clone(),
            _ => None,
        })
        .expect("a ConfigMap")
}

#[test]
fn defaults_are_distributed_with_one_deployment_per_service() {
    let c = checked(&[]);
    let deployments = deployments(&c);
    let expected: Vec<String> = SERVICES.iter().map(|s| format!("xs-xieshang-{s}")).collect();
    assert_eq!(deployments.keys().cloned().collect::<Vec<_>>(), expected);
    for service in SERVICES {
        let d = deployments[&format!("xs-xieshang-{service}")];
        assert_eq!(d.spec.as_ref().unwrap().replicas, Some(2));
        let c0 = container(d);
        assert_eq!(c0.args.as_deref(), Some(&["serve".to_string()][..]));
        assert_eq!(env_value(c0, "XIESHANG__SERVICES"), Some(service));
        for peer in SERVICES {
            let var = format!("XIESHANG__PEERS__{}", peer.to_uppercase());
            assert_eq!(env_value(c0, &var), Some(format!("http://xs-xieshang-{peer}:50051").as_str()), "{var}");
        }
        assert_eq!(secret_ref(c0, "XIESHANG__DATABASE__URL"), Some(("xieshang-database".into(), "url".into())));
        assert_eq!(secret_ref(c0, "XIESHANG__REDIS__URL"), Some(("xieshang-redis".into(), "url".into())));
        assert_eq!(secret_ref(c0, "XIESHANG__AUTH__SIGNING_KEY"), Some(("xieshang-keys".into(), "signing-key".into())));
        assert_eq!(secret_ref(c0, "XIESHANG__PII__KEY"), Some(("xieshang-keys".into(), "pii-key".into())));
        assert!(env(c0, "XIESHANG__DATABASE__ADMIN_URL").is_none(), "only the migrations Job gets the admin URL");
        assert!(env(c0, "XIESHANG__BOOTSTRAP__PASSWORD").is_none());
        let labels = d.metadata.labels.as_ref().unwrap();
        assert_eq!(labels["app.kubernetes.io/component"], service);
        assert_eq!(labels["app.kubernetes.io/part-of"], "xieshang");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "Helm");
        assert_eq!(labels["app.kubernetes.io/version"], "0.1.0");
        assert_eq!(c0.image.as_deref(), Some("ghcr.io/xieshang/xieshang:0.1.0"));
    }
    let data = config_map(&c);
    assert_eq!(data["XIESHANG__DATABASE__AUTO_MIGRATE"], "false");
    assert_eq!(data["XIESHANG__LISTEN"], "0.0.0.0:50051");
    assert_eq!(data["XIESHANG__METRICS__LISTEN"], "0.0.0.0:9464");
    assert_eq!(data["XIESHANG__LOG__FORMAT"], "json");
    assert_eq!(data["XIESHANG__DATABASE__MAX_CONNECTIONS"], "10");

    let job = c
        .objects
        .iter()
        .find_map(|o| match o {
            Object::Job(j) => Some(j),
            _ => None,
        })
        .expect("the migrations Job");
    let hooks = job.metadata.annotations.as_ref().unwrap();
    assert_eq!(hooks["helm.sh/hook"], "pre-install,pre-upgrade");
    let job_container = &job.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0];
    assert_eq!(job_container.args.as_deref(), Some(&["migrate".to_string(), "up".to_string()][..]));
    assert_eq!(
        secret_ref(job_container, "XIESHANG__DATABASE__ADMIN_URL"),
        Some(("xieshang-database".into(), "admin-url".into()))
    );
    assert!(secret_ref(job_container, "XIESHANG__DATABASE__URL").is_some());

    assert_eq!(c.of_kind("Service").count(), 5);
    for kind in ["PersistentVolumeClaim", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"] {
        assert_eq!(c.of_kind(kind).count(), 0, "{kind} is off by default");
    }
    assert_eq!(c.of_kind("ServiceMonitor").count(), 0);
    assert_eq!(c.of_kind("Secret").count(), 0, "the chart creates no Secret by default");
    assert_eq!(c.of_kind("ClusterRole").count(), 0, "the operator is off by default");
}

#[test]
fn embedded_is_one_pod_on_sqlite_with_a_volume() {
    let c = checked(&["ci/embedded-values.yaml"]);
    let deployments = deployments(&c);
    assert_eq!(deployments.len(), 1);
    let d = deployments["xs-xieshang"];
    let spec = d.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(1));
    assert_eq!(spec.strategy.as_ref().and_then(|s| s.type_.as_deref()), Some("Recreate"));
    let c0 = container(d);
    for absent in
        ["XIESHANG__SERVICES", "XIESHANG__DATABASE__URL", "XIESHANG__REDIS__URL", "XIESHANG__AUTH__SIGNING_KEY"]
    {
        assert!(env(c0, absent).is_none(), "{absent} must not be set in the embedded profile");
    }
    let mounts = c0.volume_mounts.as_ref().unwrap();
    assert!(mounts.iter().any(|m| m.name == "data" && m.mount_path == "/var/lib/xieshang"));
    let pod = spec.template.spec.as_ref().unwrap();
    let data = pod.volumes.as_ref().unwrap().iter().find(|v| v.name == "data").unwrap();
    assert_eq!(data.persistent_volume_claim.as_ref().map(|p| p.claim_name.as_str()), Some("xs-xieshang-data"));
    assert_eq!(c.of_kind("PersistentVolumeClaim").count(), 1);
    for kind in ["Job", "HorizontalPodAutoscaler", "PodDisruptionBudget"] {
        assert_eq!(c.of_kind(kind).count(), 0, "no {kind} in the embedded profile");
    }
    let config = config_map(&c);
    assert_eq!(config["XIESHANG__DATABASE__AUTO_MIGRATE"], "true");
    assert_eq!(config["XIESHANG__DATA_DIR"], "/var/lib/xieshang");
    assert_eq!(c.of_kind("Service").map(|s| s.name().to_string()).collect::<Vec<_>>(), ["xs-xieshang"]);
}

#[test]
fn production_has_autoscaling_budgets_policies_monitoring_and_the_operator() {
    let c = checked(&["ci/production-values.yaml"]);
    assert_eq!(c.of_kind("HorizontalPodAutoscaler").count(), 5);
    assert_eq!(c.of_kind("PodDisruptionBudget").count(), 5);
    assert_eq!(c.of_kind("NetworkPolicy").count(), 1);
    assert_eq!(c.of_kind("ServiceMonitor").count(), 1);
    let deployments = deployments(&c);
    for service in SERVICES {
        let d = deployments[&format!("xs-xieshang-{service}")];
        assert_eq!(d.spec.as_ref().unwrap().replicas, None, "the HPA owns {service}'s replicas");
        let resources = container(d).resources.as_ref().expect("resources");
        assert!(resources.requests.as_ref().is_some_and(|r| r.contains_key("cpu")), "{service} requests CPU");
        assert_eq!(env_value(container(d), "OTEL_EXPORTER_OTLP_ENDPOINT"), None, "OTLP comes from the ConfigMap");
    }
    assert_eq!(config_map(&c)["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://otel-collector.observability:4317");

    let operator = deployments["xs-xieshang-operator"];
    assert_eq!(operator.spec.as_ref().unwrap().replicas, Some(2));
    let op = container(operator);
    assert_eq!(op.command.as_deref(), Some(&["xieshang-operator".to_string()][..]));
    assert_eq!(op.args.as_deref(), Some(&["run".to_string()][..]));
    assert_eq!(env_value(op, "XIESHANG_TENANTS_URL"), Some("http://xs-xieshang-tenants:50051"));
    assert!(secret_ref(op, "XIESHANG_OPERATOR_PASSWORD").is_some());
    for downward in ["POD_NAME", "POD_NAMESPACE"] {
        assert!(env(op, downward).and_then(|e| e.value_from.as_ref()).and_then(|v| v.field_ref.as_ref()).is_some());
    }
    assert!(env(op, "XIESHANG_OPERATOR_WATCH_NAMESPACE").is_none(), "watches every namespace");
    let liveness = op.liveness_probe.as_ref().and_then(|p| p.http_get.as_ref()).unwrap();
    assert_eq!(liveness.path.as_deref(), Some("/healthz"));

    let cluster_role = c
        .objects
        .iter()
        .find_map(|o| match o {
            Object::ClusterRole(r) => Some(r),
            _ => None,
        })
        .expect("a ClusterRole for all namespaces");
    let rules = cluster_role.rules.as_ref().unwrap();
    let committees = rules.iter().find(|r| r.resources.as_ref().unwrap().contains(&"committees".into())).unwrap();
    for verb in ["get", "list", "watch", "patch", "update"] {
        assert!(committees.verbs.contains(&verb.to_string()), "{verb}");
    }
    assert!(rules.iter().any(|r| r.resources.as_ref().unwrap().contains(&"committees/finalizers".into())));
    assert_eq!(c.of_kind("ClusterRoleBinding").count(), 1);
    let lease_role = c.of_kind("Role").find(|r| r.name().ends_with("-leases")).expect("the Lease Role");
    assert_eq!(lease_role.metadata().namespace.as_deref(), Some("xieshang"));
    assert!(c.text("templates/NOTES.txt").unwrap().contains("all namespaces"));
}

#[test]
fn dev_profile_creates_its_secret_and_a_namespaced_role() {
    let c = checked(&["ci/dev-values.yaml"]);
    let deployments = deployments(&c);
    assert!(!deployments.contains_key("xs-dev-analytics"), "analytics is disabled");
    let proposals = container(deployments["xs-dev-proposals"]);
    assert!(env(proposals, "XIESHANG__PEERS__ANALYTICS").is_none());
    assert_eq!(env_value(proposals, "XIESHANG__PEERS__TENANTS"), Some("http://xs-dev-tenants:50051"));
    assert_eq!(secret_ref(proposals, "XIESHANG__DATABASE__URL"), Some(("xs-dev-dev".into(), "databaseUrl".into())));
    assert!(proposals.ports.as_ref().unwrap().iter().all(|p| p.name.as_deref() != Some("metrics")));
    assert!(!config_map(&c).contains_key("XIESHANG__METRICS__LISTEN"));
    let secret = c
        .objects
        .iter()
        .find_map(|o| match o {
            Object::Secret(s) => Some(s),
            _ => None,
        })
        .expect("the development Secret");
    let url = &secret.data.as_ref().unwrap()["redisUrl"];
    assert_eq!(url.0, b"redis://redis:6379");
    let role = c.of_kind("Role").find(|r| !r.name().ends_with("-leases")).expect("a Role for the watched namespace");
    assert_eq!(role.metadata().namespace.as_deref(), Some("committees"));
    assert_eq!(c.of_kind("ClusterRole").count(), 0);
    let operator = container(deployments["xs-dev-operator"]);
    assert_eq!(env_value(operator, "XIESHANG_OPERATOR_WATCH_NAMESPACE"), Some("committees"));
}

#[test]
fn an_upgrade_renders_the_same_objects() {
    let install = checked(&["ci/production-values.yaml"]);
    let upgrade = check(
        &chart(),
        &["ci/production-values.yaml"],
        &Release { revision: 2, is_upgrade: true, ..Release::default() },
    )
    .unwrap();
    let names = |c: &Checked| c.objects.iter().map(|o| o.name().to_string()).collect::<Vec<_>>();
    assert_eq!(names(&install), names(&upgrade));
}

#[test]
fn a_missing_secret_reference_fails_the_render_with_its_name() {
    let chart = chart();
    let mut values = chart.values_with(&[]).unwrap();
    values["secrets"]["redis"]["existingSecret"] = json!("");
    let err = format!("{:#}", check_values(&chart, &values, &Release::default()).err().expect("must fail"));
    assert!(err.contains("secrets.redis.existingSecret is required"), "{err}");
}

#[test]
fn an_unknown_mode_fails_the_render() {
    let chart = chart();
    let mut values = chart.values_with(&[]).unwrap();
    values["mode"] = json!("clustered");
    let err = format!("{:#}", check_values(&chart, &values, &Release::default()).err().expect("must fail"));
    assert!(err.contains("mode must be distributed or embedded"), "{err}");
}

#[test]
fn a_long_release_name_still_gives_valid_names() {
    let release =
        Release { name: "a-very-long-release-name-for-a-provincial-committee-xyz".into(), ..Release::default() };
    let c = check(&chart(), &["ci/production-values.yaml"], &release).unwrap_or_else(|e| panic!("{e:#}"));
    let deployments = deployments(&c);
    assert_eq!(deployments.len(), 6, "five services and the operator");
    assert!(deployments.keys().all(|name| name.len() <= 63 && !name.contains("--")), "{deployments:?}");
}

#[test]
fn notes_render_for_every_profile() {
    for (files, expected) in [
        (&[][..], "svc/xs-xieshang-tenants"),
        (&["ci/embedded-values.yaml"][..], "svc/xs-xieshang "),
        (&["ci/dev-values.yaml"][..], "WARNING: secrets.create=true"),
    ] {
        let c = checked(files);
        let notes = c.text("templates/NOTES.txt").expect("NOTES.txt");
        assert!(notes.contains(expected), "{files:?}: {notes}");
        assert!(!notes.contains("<no value>"));
    }
}

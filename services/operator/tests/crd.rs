//! The chart ships the CRD generated from the Rust types; this fails when its copy is stale.

use kube::CustomResourceExt;
use xieshang_operator::crd::{Committee, crd_yaml};

const CHART_CRD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../helm/xieshang/crds/committees.yaml");

#[test]
fn the_chart_crd_is_generated_from_the_types() {
    let on_disk = std::fs::read_to_string(CHART_CRD).unwrap_or_default();
    assert!(
        on_disk == crd_yaml(),
        "helm/xieshang/crds/committees.yaml is stale; regenerate it with\n\n    \
         cargo run -p xieshang-operator -- crdgen > helm/xieshang/crds/committees.yaml\n"
    );
}

#[test]
fn the_crd_names_the_contract() {
    let crd = Committee::crd();
    assert_eq!(crd.metadata.name.as_deref(), Some("committees.xieshang.io"));
    assert_eq!(crd.spec.group, "xieshang.io");
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.names.kind, "Committee");
    assert_eq!(crd.spec.names.plural, "committees");
    assert_eq!(crd.spec.names.short_names.as_deref(), Some(&["cmte".to_owned()][..]));
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v1");
    assert!(version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some());
    let columns: Vec<&str> = version.additional_printer_columns.iter().flatten().map(|c| c.name.as_str()).collect();
    assert_eq!(columns, ["Code", "Level", "Ready", "Age"]);
    let yaml = crd_yaml();
    for needle in
        ["parentCode", "displayName", "suspended", "observedGeneration", "lastTransitionTime", "self == oldSelf"]
    {
        assert!(yaml.contains(needle), "the CRD lacks {needle}");
    }
}

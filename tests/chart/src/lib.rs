//! Chart rendering and validation without helm.
//!
//! [`render`] renders `helm/xieshang` with gtmpl (Go templates) plus the Helm/sprig functions in
//! [`funcs`]; [`validate`] deserializes every rendered document into its typed `k8s-openapi`
//! struct, rejecting unknown fields and wrong types, and checks the chart's own rules
//! (labels, selectors, probes, security contexts, cross-references).

pub mod funcs;
pub mod render;
pub mod validate;

use std::path::PathBuf;

use anyhow::{Result, bail};

pub use render::{Chart, Release, Rendered};
pub use validate::{Invalid, Manifest, Object};

/// The chart's directory: `helm/xieshang` at the workspace root.
pub fn chart_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../helm/xieshang")
}

/// One profile rendered and validated.
pub struct Checked {
    pub rendered: Vec<Rendered>,
    pub manifests: Vec<Manifest>,
    pub objects: Vec<Object>,
}

impl Checked {
    /// The objects of one kind.
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Object> + 'a {
        self.objects.iter().filter(move |o| validate::kind_of(o) == kind)
    }

    /// The rendered text of a template file, e.g. `templates/NOTES.txt`.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.rendered.iter().find(|r| r.path == path).map(|r| r.text.as_str())
    }
}

/// Renders the chart with `values_files` merged over values.yaml, splits every manifest into
/// documents, validates each and then the whole release. Every failure is collected and
/// reported together.
pub fn check(chart: &Chart, values_files: &[&str], release: &Release) -> Result<Checked> {
    let values = chart.values_with(values_files)?;
    check_values(chart, &values, release).map_err(|e| e.context(format!("values files {values_files:?}")))
}

/// [`check`] with the complete values given.
pub fn check_values(chart: &Chart, values: &serde_json::Value, release: &Release) -> Result<Checked> {
    let rendered = chart.render(values, release)?;
    let mut manifests = Vec::new();
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for file in &rendered {
        if !(file.path.ends_with(".yaml") || file.path.ends_with(".yml")) {
            continue;
        }
        match validate::split_documents(&file.path, &file.text) {
            Ok(docs) => manifests.extend(docs),
            Err(e) => errors.push(e.to_string()),
        }
    }
    for m in &manifests {
        match validate::validate(m) {
            Ok(o) => objects.push(o),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty()
        && let Err(e) = validate::check_release(&objects)
    {
        errors.push(e);
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    Ok(Checked { rendered, manifests, objects })
}

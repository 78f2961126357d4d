//! Renders a Helm chart the way `helm template` does, for the subset of Helm the chart uses.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use gtmpl::{Context, Value};
use serde_json::Value as Json;

use crate::funcs;

/// The release a chart is rendered for (`.Release`).
#[derive(Clone, Debug)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    pub revision: u32,
    pub is_upgrade: bool,
}

impl Default for Release {
    fn default() -> Self {
        Release { name: "xs".into(), namespace: "xieshang".into(), revision: 1, is_upgrade: false }
    }
}

/// One rendered template file.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The path inside the chart, e.g. `templates/deployments.yaml`.
    pub path: String,
    pub text: String,
}

/// A chart on disk: Chart.yaml, values.yaml and the templates.
pub struct Chart {
    pub dir: PathBuf,
    /// Chart.yaml.
    pub meta: Json,
    /// values.yaml.
    pub values: Json,
}

impl Chart {
    pub fn load(dir: impl AsRef<Path>) -> Result<Chart> {
        let dir = dir.as_ref().to_path_buf();
        let meta = read_yaml(&dir.join("Chart.yaml"))?;
        let values = read_yaml(&dir.join("values.yaml"))?;
        for field in ["apiVersion", "name", "version"] {
            if meta.get(field).and_then(Json::as_str).is_none_or(str::is_empty) {
                bail!("Chart.yaml: `{field}` is required");
            }
        }
        Ok(Chart { dir, meta, values })
    }

    /// The chart's values with each values file (relative to the chart) merged over them in
    /// order, as `helm install -f a.yaml -f b.yaml` does.
    pub fn values_with(&self, files: &[&str]) -> Result<Json> {
        let mut values = self.values.clone();
        for file in files {
            let overlay = read_yaml(&self.dir.join(file))?;
            values = merge_values(values, overlay);
        }
        Ok(values)
    }

    /// `.Chart`: Chart.yaml's fields under Helm's capitalized names.
    fn chart_object(&self) -> Json {
        let mut out = serde_json::Map::new();
        if let Json::Object(meta) = &self.meta {
            for (k, v) in meta {
                let mut chars = k.chars();
                let key =
                    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default();
                out.insert(key, v.clone());
            }
        }
        out.entry("AppVersion").or_insert(Json::String(String::new()));
        Json::Object(out)
    }

    /// Renders every template (not the `_` partials) with `values`, in file-name order.
    pub fn render(&self, values: &Json, release: &Release) -> Result<Vec<Rendered>> {
        let templates_dir = self.dir.join("templates");
        let mut entries: Vec<PathBuf> = fs::read_dir(&templates_dir)
            .with_context(|| format!("reading {}", templates_dir.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        let chart_name = self.meta["name"].as_str().unwrap_or_default().to_string();
        let mut partials = Vec::new();
        let mut files = Vec::new();
        for path in entries {
            if !path.is_file() {
                continue;
            }
            let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let chart_path = format!("{chart_name}/templates/{file_name}");
            if file_name.starts_with('_') {
                partials.push((chart_path, text));
            } else {
                files.push((chart_path, text));
            }
        }
        funcs::set_partials(partials.clone());

        let mut out = Vec::new();
        for (chart_path, text) in files {
            let top = serde_json::json!({
                "Values": values,
                "Release": {
                    "Name": release.name,
                    "Namespace": release.namespace,
                    "Service": "Helm",
                    "Revision": release.revision,
                    "IsInstall": !release.is_upgrade,
                    "IsUpgrade": release.is_upgrade,
                },
                "Chart": self.chart_object(),
                "Capabilities": {
                    "KubeVersion": { "Version": "v1.33.0", "Major": "1", "Minor": "33" },
                    "HelmVersion": { "Version": "v3.17.0" },
                },
                "Template": { "Name": chart_path, "BasePath": format!("{chart_name}/templates") },
            });
            let mut template = funcs::new_template(&chart_path);
            for (name, partial) in &partials {
                template.add_template(name.clone(), partial.clone()).map_err(|e| anyhow!("{name}: {e}"))?;
            }
            template.parse(text).map_err(|e| anyhow!("{chart_path}: parse error: {e}"))?;
            let rendered = template
                .render(&Context::from(to_gtmpl(&top)))
                .map_err(|e| anyhow!("{chart_path}: render error: {e}"))?;
            // Helm prints missing values as "" (the template engine writes "<no value>").
            let rendered = rendered.replace("<no value>", "");
            let path = chart_path.split_once('/').map(|(_, p)| p.to_string()).unwrap_or(chart_path);
            out.push(Rendered { path, text: rendered });
        }
        Ok(out)
    }
}

/// Reads a YAML file as JSON values (an empty file is an empty map).
pub fn read_yaml(path: &Path) -> Result<Json> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: Json = serde_yaml_ng::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(if value.is_null() { Json::Object(Default::default()) } else { value })
}

/// Helm's coalescing of user values over chart defaults: maps merge key by key, recursively;
/// anything else in the overlay replaces the default; a `null` in the overlay deletes the key.
pub fn merge_values(base: Json, overlay: Json) -> Json {
    match (base, overlay) {
        (Json::Object(mut base), Json::Object(overlay)) => {
            for (k, v) in overlay {
                if v.is_null() {
                    base.remove(&k);
                    continue;
                }
                let merged = match base.remove(&k) {
                    Some(b) => merge_values(b, v),
                    None => v,
                };
                base.insert(k, merged);
            }
            Json::Object(base)
        }
        (_, overlay) => overlay,
    }
}

/// JSON → gtmpl value. Maps become `Value::Map` so that a missing key reads as no value (as in
/// Helm) instead of failing.
pub fn to_gtmpl(value: &Json) -> Value {
    match value {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(to_gtmpl).collect()),
        Json::Object(map) => Value::Map(map.iter().map(|(k, v)| (k.clone(), to_gtmpl(v))).collect::<HashMap<_, _>>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_is_deep_and_null_deletes() {
        let base = json!({"a": {"b": 1, "c": 2}, "l": [1, 2], "d": 1});
        let overlay = json!({"a": {"c": 3}, "l": [9], "d": null});
        assert_eq!(merge_values(base, overlay), json!({"a": {"b": 1, "c": 3}, "l": [9]}));
    }
}

//! Every value in values.yaml is documented: a `# --` comment in values.yaml and a row in the
//! chart README's table; and every row of the table is a value that exists.

use std::collections::BTreeSet;
use std::fs;

use serde_json::Value as Json;
use xieshang_chart::chart_dir;
use xieshang_chart::render::read_yaml;

const SERVICES: [&str; 5] = ["tenants", "membership", "proposals", "consultation", "analytics"];

/// Leaf paths of the values, with `services.<each>` folded into `services.<name>`.
fn leaves(value: &Json, path: &str, out: &mut BTreeSet<String>) {
    match value {
        Json::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if path == "services" && SERVICES.contains(&k.as_str()) { "<name>" } else { k };
                let p = if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
                leaves(v, &p, out);
            }
        }
        _ => {
            out.insert(path.to_string());
        }
    }
}

fn readme_keys() -> BTreeSet<String> {
    let readme = fs::read_to_string(chart_dir().join("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once("` |").map(|(key, _)| key.to_string()))
        .filter(|key| !key.contains(' ') && !key.contains('/'))
        .collect()
}

#[test]
fn every_value_has_a_row_in_the_readme() {
    let values = read_yaml(&chart_dir().join("values.yaml")).unwrap();
    let mut paths = BTreeSet::new();
    leaves(&values, "", &mut paths);
    let documented = readme_keys();
    let undocumented: Vec<_> =
        paths.iter().filter(|p| !documented.iter().any(|d| *p == d || p.starts_with(&format!("{d}.")))).collect();
    assert!(undocumented.is_empty(), "values without a row in helm/xieshang/README.md: {undocumented:?}");
}

#[test]
fn every_readme_row_is_a_value() {
    let values = read_yaml(&chart_dir().join("values.yaml")).unwrap();
    for key in readme_keys() {
        let pointer = format!("/{}", key.replace("<name>", "tenants").replace('.', "/"));
        assert!(values.pointer(&pointer).is_some(), "README documents `{key}`, which values.yaml does not have");
    }
}

/// Keys of a values.yaml text without a `# --` comment right above them, nor above an ancestor
/// (values that are objects, such as `podSecurityContext`, are documented as a whole).
fn undocumented_keys(text: &str) -> Vec<String> {
    let mut stack: Vec<(usize, bool)> = Vec::new(); // (indent, documented)
    let mut comment = false;
    let mut missing = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("# --") {
            comment = true;
            continue;
        }
        if trimmed.starts_with('#') || trimmed.is_empty() || trimmed.starts_with("- ") {
            continue;
        }
        let Some((key, rest)) = trimmed.split_once(':') else { continue };
        let indent = line.len() - trimmed.len();
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let inherited = stack.iter().any(|(_, documented)| *documented);
        let is_parent = rest.trim().is_empty();
        if !comment && !inherited && !is_parent {
            missing.push(format!("line {}: {key}", n + 1));
        }
        stack.push((indent, comment));
        comment = false;
    }
    missing
}

#[test]
fn every_key_in_values_yaml_has_a_comment() {
    let text = fs::read_to_string(chart_dir().join("values.yaml")).unwrap();
    let missing = undocumented_keys(&text);
    assert!(missing.is_empty(), "values.yaml keys without a `# --` comment: {missing:?}");
}

#[test]
fn an_undocumented_key_is_found() {
    let text = "# -- documented\na: 1\nparent:\n  # -- documented\n  b: 2\n  c: 3\n# -- an object\nobj:\n  d: 4\n";
    assert_eq!(undocumented_keys(text), ["line 6: c"]);
}

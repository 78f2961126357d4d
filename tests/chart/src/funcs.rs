//! The Helm and sprig functions the chart uses, on top of the Go builtins gtmpl provides
//! (`eq`, `ne`, `and`, `or`, `not`, `len`, `index`, `print`, `printf`, …).
//!
//! gtmpl functions are plain `fn` pointers without access to the template set, so `include`
//! reaches the chart's partials through a thread-local registry that [`crate::render`] fills
//! before rendering (see [`set_partials`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use base64::Engine as _;
use gtmpl::{Context, Func, FuncError, Template, Value};
use serde::ser::{SerializeMap, SerializeSeq};
use sha2::{Digest, Sha256};

/// Every function the renderer adds to gtmpl's builtins, by its Helm/sprig name.
pub const FUNCS: &[(&str, Func)] = &[
    ("include", include),
    ("toYaml", to_yaml),
    ("toJson", to_json),
    ("indent", indent),
    ("nindent", nindent),
    ("quote", quote),
    ("squote", squote),
    ("default", default),
    ("required", required),
    ("fail", fail),
    ("trunc", trunc),
    ("trim", trim),
    ("trimSuffix", trim_suffix),
    ("trimPrefix", trim_prefix),
    ("replace", replace),
    ("lower", lower),
    ("upper", upper),
    ("contains", contains),
    ("hasPrefix", has_prefix),
    ("hasSuffix", has_suffix),
    ("b64enc", b64enc),
    ("sha256sum", sha256sum),
    ("toString", to_string),
    ("dict", dict),
    ("list", list),
    ("hasKey", has_key),
    ("empty", empty),
    ("keys", keys),
    ("sortAlpha", sort_alpha),
    ("join", join),
    ("ternary", ternary),
];

/// A template with every function of the renderer.
pub fn new_template(name: &str) -> Template {
    let mut template = Template::with_name(name);
    template.add_funcs(FUNCS);
    template
}

thread_local! {
    /// The partials (`templates/_*.tpl`) `include` can call into: (path, text).
    static PARTIALS: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
    /// One parsed dispatcher template per included name, built on first use.
    static INCLUDES: RefCell<HashMap<String, Rc<Template>>> = RefCell::new(HashMap::new());
}

/// Makes `partials` the templates `include` can reach on this thread.
pub fn set_partials(partials: Vec<(String, String)>) {
    PARTIALS.with(|p| *p.borrow_mut() = partials);
    INCLUDES.with(|i| i.borrow_mut().clear());
}

fn err(message: impl Into<String>) -> FuncError {
    FuncError::Generic(message.into())
}

fn arity(name: &str, args: &[Value], n: usize) -> Result<(), FuncError> {
    if args.len() == n { Ok(()) } else { Err(FuncError::ExactlyXArgs(name.into(), n)) }
}

/// Go's `fmt.Sprint` of a value as sprig's `toString`/`strval` does it.
pub fn strval(value: &Value) -> String {
    match value {
        Value::NoValue | Value::Nil => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn string_arg(name: &str, value: &Value) -> Result<String, FuncError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::NoValue | Value::Nil => Ok(String::new()),
        Value::Number(_) | Value::Bool(_) => Ok(value.to_string()),
        other => Err(err(format!("{name}: expected a string, got {other:?}"))),
    }
}

fn int_arg(name: &str, value: &Value) -> Result<i64, FuncError> {
    match value {
        Value::Number(n) => n.as_i64().ok_or_else(|| err(format!("{name}: expected an integer, got {n}"))),
        Value::String(s) => s.parse().map_err(|_| err(format!("{name}: expected an integer, got {s:?}"))),
        other => Err(err(format!("{name}: expected an integer, got {other:?}"))),
    }
}

/// sprig's `empty`: nil, false, 0, "" and empty collections.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::NoValue | Value::Nil => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Map(m) | Value::Object(m) => m.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Function(_) => false,
    }
}

/// `include NAME DATA`: renders the named template (a `define` in a partial) to a string.
fn include(args: &[Value]) -> Result<Value, FuncError> {
    if args.is_empty() || args.len() > 2 {
        return Err(err("include takes a template name and an optional value"));
    }
    let name = string_arg("include", &args[0])?;
    let data = args.get(1).cloned().unwrap_or(Value::NoValue);
    let cached = INCLUDES.with(|i| i.borrow().get(&name).cloned());
    let template = match cached {
        Some(t) => t,
        None => {
            let mut template = new_template("__include__");
            let partials = PARTIALS.with(|p| p.borrow().clone());
            for (path, text) in partials {
                template.add_template(path.clone(), text).map_err(|e| err(format!("{path}: {e}")))?;
            }
            let name_literal = serde_json::to_string(&name).map_err(|e| err(e.to_string()))?;
            template
                .parse(format!("{{{{ template {name_literal} . }}}}"))
                .map_err(|e| err(format!("include {name:?}: {e}")))?;
            let template = Rc::new(template);
            INCLUDES.with(|i| i.borrow_mut().insert(name.clone(), template.clone()));
            template
        }
    };
    let rendered = template.render(&Context::from(data)).map_err(|e| err(format!("include {name:?}: {e}")))?;
    Ok(Value::String(rendered.replace("<no value>", "")))
}

/// A gtmpl value serialized with sorted map keys (Go's encoding of maps), nil for no value.
pub struct Sorted<'a>(pub &'a Value);

impl serde::Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::NoValue | Value::Nil | Value::Function(_) => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::String(s) => serializer.serialize_str(s),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    serializer.serialize_i64(i)
                } else if let Some(u) = n.as_u64() {
                    serializer.serialize_u64(u)
                } else {
                    serializer.serialize_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Sorted(item))?;
                }
                seq.end()
            }
            Value::Map(m) | Value::Object(m) => {
                let mut entries: Vec<_> = m.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, &Sorted(v))?;
                }
                map.end()
            }
        }
    }
}

/// `toYaml`: YAML with sorted keys, without the trailing newline (as Helm does).
fn to_yaml(args: &[Value]) -> Result<Value, FuncError> {
    arity("toYaml", args, 1)?;
    let yaml = serde_yaml_ng::to_string(&Sorted(&args[0])).map_err(|e| err(format!("toYaml: {e}")))?;
    Ok(Value::String(yaml.trim_end_matches('\n').to_string()))
}

fn to_json(args: &[Value]) -> Result<Value, FuncError> {
    arity("toJson", args, 1)?;
    let json = serde_json::to_string(&Sorted(&args[0])).map_err(|e| err(format!("toJson: {e}")))?;
    Ok(Value::String(json))
}

fn indent_text(spaces: i64, text: &str) -> String {
    let pad = " ".repeat(spaces.max(0) as usize);
    format!("{pad}{}", text.replace('\n', &format!("\n{pad}")))
}

fn indent(args: &[Value]) -> Result<Value, FuncError> {
    arity("indent", args, 2)?;
    Ok(Value::String(indent_text(int_arg("indent", &args[0])?, &string_arg("indent", &args[1])?)))
}

fn nindent(args: &[Value]) -> Result<Value, FuncError> {
    arity("nindent", args, 2)?;
    Ok(Value::String(format!("\n{}", indent_text(int_arg("nindent", &args[0])?, &string_arg("nindent", &args[1])?))))
}

/// Go's `%q` for the strings a chart produces (JSON escaping agrees with it on those).
fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn quote(args: &[Value]) -> Result<Value, FuncError> {
    let quoted: Vec<String> =
        args.iter().filter(|a| !matches!(a, Value::NoValue | Value::Nil)).map(|a| go_quote(&strval(a))).collect();
    Ok(Value::String(quoted.join(" ")))
}

fn squote(args: &[Value]) -> Result<Value, FuncError> {
    let quoted: Vec<String> =
        args.iter().filter(|a| !matches!(a, Value::NoValue | Value::Nil)).map(|a| format!("'{}'", strval(a))).collect();
    Ok(Value::String(quoted.join(" ")))
}

/// `default DEFAULT GIVEN`: GIVEN unless it is empty.
fn default(args: &[Value]) -> Result<Value, FuncError> {
    match args {
        [default] => Ok(default.clone()),
        [default, given] => Ok(if is_empty(given) { default.clone() } else { given.clone() }),
        _ => Err(err("default takes a default and a value")),
    }
}

/// `required MESSAGE VALUE`: fails with MESSAGE when VALUE is nil or "".
fn required(args: &[Value]) -> Result<Value, FuncError> {
    arity("required", args, 2)?;
    match &args[1] {
        Value::NoValue | Value::Nil => Err(err(strval(&args[0]))),
        Value::String(s) if s.is_empty() => Err(err(strval(&args[0]))),
        v => Ok(v.clone()),
    }
}

fn fail(args: &[Value]) -> Result<Value, FuncError> {
    arity("fail", args, 1)?;
    Err(err(strval(&args[0])))
}

/// `trunc N S`: the first N bytes (N ≥ 0) or the last -N bytes.
fn trunc(args: &[Value]) -> Result<Value, FuncError> {
    arity("trunc", args, 2)?;
    let n = int_arg("trunc", &args[0])?;
    let s = string_arg("trunc", &args[1])?;
    let len = s.len() as i64;
    let out = if n >= 0 {
        if n < len { s[..n as usize].to_string() } else { s }
    } else if -n < len {
        s[(len + n) as usize..].to_string()
    } else {
        s
    };
    Ok(Value::String(out))
}

fn trim(args: &[Value]) -> Result<Value, FuncError> {
    arity("trim", args, 1)?;
    Ok(Value::String(string_arg("trim", &args[0])?.trim().to_string()))
}

fn trim_suffix(args: &[Value]) -> Result<Value, FuncError> {
    arity("trimSuffix", args, 2)?;
    let suffix = string_arg("trimSuffix", &args[0])?;
    let s = string_arg("trimSuffix", &args[1])?;
    Ok(Value::String(s.strip_suffix(suffix.as_str()).unwrap_or(&s).to_string()))
}

fn trim_prefix(args: &[Value]) -> Result<Value, FuncError> {
    arity("trimPrefix", args, 2)?;
    let prefix = string_arg("trimPrefix", &args[0])?;
    let s = string_arg("trimPrefix", &args[1])?;
    Ok(Value::String(s.strip_prefix(prefix.as_str()).unwrap_or(&s).to_string()))
}

fn replace(args: &[Value]) -> Result<Value, FuncError> {
    arity("replace", args, 3)?;
    let old = string_arg("replace", &args[0])?;
    let new = string_arg("replace", &args[1])?;
    Ok(Value::String(string_arg("replace", &args[2])?.replace(&old, &new)))
}

fn lower(args: &[Value]) -> Result<Value, FuncError> {
    arity("lower", args, 1)?;
    Ok(Value::String(string_arg("lower", &args[0])?.to_lowercase()))
}

fn upper(args: &[Value]) -> Result<Value, FuncError> {
    arity("upper", args, 1)?;
    Ok(Value::String(string_arg("upper", &args[0])?.to_uppercase()))
}

/// `contains SUBSTR S`.
fn contains(args: &[Value]) -> Result<Value, FuncError> {
    arity("contains", args, 2)?;
    Ok(Value::Bool(string_arg("contains", &args[1])?.contains(&string_arg("contains", &args[0])?)))
}

fn has_prefix(args: &[Value]) -> Result<Value, FuncError> {
    arity("hasPrefix", args, 2)?;
    Ok(Value::Bool(string_arg("hasPrefix", &args[1])?.starts_with(&string_arg("hasPrefix", &args[0])?)))
}

fn has_suffix(args: &[Value]) -> Result<Value, FuncError> {
    arity("hasSuffix", args, 2)?;
    Ok(Value::Bool(string_arg("hasSuffix", &args[1])?.ends_with(&string_arg("hasSuffix", &args[0])?)))
}

fn b64enc(args: &[Value]) -> Result<Value, FuncError> {
    arity("b64enc", args, 1)?;
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(string_arg("b64enc", &args[0])?)))
}

fn sha256sum(args: &[Value]) -> Result<Value, FuncError> {
    arity("sha256sum", args, 1)?;
    let digest = Sha256::digest(string_arg("sha256sum", &args[0])?.as_bytes());
    Ok(Value::String(digest.iter().map(|b| format!("{b:02x}")).collect()))
}

fn to_string(args: &[Value]) -> Result<Value, FuncError> {
    arity("toString", args, 1)?;
    Ok(Value::String(strval(&args[0])))
}

/// `dict K1 V1 K2 V2 …`.
fn dict(args: &[Value]) -> Result<Value, FuncError> {
    if args.len() % 2 != 0 {
        return Err(err("dict takes key/value pairs"));
    }
    let mut map = HashMap::new();
    for pair in args.chunks(2) {
        map.insert(string_arg("dict", &pair[0])?, pair[1].clone());
    }
    Ok(Value::Map(map))
}

fn list(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Array(args.to_vec()))
}

fn has_key(args: &[Value]) -> Result<Value, FuncError> {
    arity("hasKey", args, 2)?;
    let key = string_arg("hasKey", &args[1])?;
    match &args[0] {
        Value::Map(m) | Value::Object(m) => Ok(Value::Bool(m.contains_key(&key))),
        other => Err(err(format!("hasKey: expected a map, got {other:?}"))),
    }
}

fn empty(args: &[Value]) -> Result<Value, FuncError> {
    arity("empty", args, 1)?;
    Ok(Value::Bool(is_empty(&args[0])))
}

/// `keys MAP…`: the keys, unordered as in sprig (sort them with `sortAlpha`).
fn keys(args: &[Value]) -> Result<Value, FuncError> {
    let mut out = Vec::new();
    for arg in args {
        match arg {
            Value::Map(m) | Value::Object(m) => out.extend(m.keys().cloned().map(Value::String)),
            other => return Err(err(format!("keys: expected a map, got {other:?}"))),
        }
    }
    Ok(Value::Array(out))
}

fn sort_alpha(args: &[Value]) -> Result<Value, FuncError> {
    arity("sortAlpha", args, 1)?;
    match &args[0] {
        Value::Array(items) => {
            let mut strings: Vec<String> = items.iter().map(strval).collect();
            strings.sort();
            Ok(Value::Array(strings.into_iter().map(Value::String).collect()))
        }
        other => Err(err(format!("sortAlpha: expected a list, got {other:?}"))),
    }
}

fn join(args: &[Value]) -> Result<Value, FuncError> {
    arity("join", args, 2)?;
    let sep = string_arg("join", &args[0])?;
    match &args[1] {
        Value::Array(items) => Ok(Value::String(items.iter().map(strval).collect::<Vec<_>>().join(&sep))),
        other => Ok(Value::String(strval(other))),
    }
}

/// `ternary IF_TRUE IF_FALSE CONDITION`.
fn ternary(args: &[Value]) -> Result<Value, FuncError> {
    arity("ternary", args, 3)?;
    Ok(if is_empty(&args[2]) { args[1].clone() } else { args[0].clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, data: Value) -> Result<String, String> {
        let mut t = new_template("test");
        t.parse(text).map_err(|e| e.to_string())?;
        t.render(&Context::from(data)).map_err(|e| e.to_string())
    }

    #[test]
    fn pipelines_pass_the_value_last() {
        assert_eq!(render(r#"{{ "abc-" | trimSuffix "-" | upper | quote }}"#, Value::NoValue).unwrap(), "\"ABC\"");
        assert_eq!(render(r#"{{ "a+b" | replace "+" "_" }}"#, Value::NoValue).unwrap(), "a_b");
        assert_eq!(render(r#"{{ "abcdef" | trunc 3 }}"#, Value::NoValue).unwrap(), "abc");
        assert_eq!(render(r#"{{ "" | default "x" }}|{{ "y" | default "x" }}"#, Value::NoValue).unwrap(), "x|y");
        assert_eq!(render(r#"{{ ternary "a" "b" true }}{{ ternary "a" "b" false }}"#, Value::NoValue).unwrap(), "ab");
    }

    #[test]
    fn to_yaml_sorts_keys_and_nindent_indents_every_line() {
        let out = render(r#"x:{{ dict "b" 1 "a" (list "p" "q") | toYaml | nindent 2 }}"#, Value::NoValue).unwrap();
        assert_eq!(out, "x:\n  a:\n  - p\n  - q\n  b: 1");
    }

    #[test]
    fn required_fails_with_its_message() {
        let e = render(r#"{{ required "secrets.x is required" "" }}"#, Value::NoValue).unwrap_err();
        assert!(e.contains("secrets.x is required"), "{e}");
    }

    #[test]
    fn include_renders_a_partial_with_its_argument() {
        set_partials(vec![(
            "_h.tpl".into(),
            r#"{{- define "greet" -}}hi {{ .who }}{{- end }}{{- define "twice" -}}{{ include "greet" . }}/{{ include "greet" . }}{{- end }}"#
                .into(),
        )]);
        let out = render(r#"{{ include "twice" (dict "who" "x") | upper }}"#, Value::NoValue).unwrap();
        assert_eq!(out, "HI X/HI X");
    }
}

//! A fake Kubernetes API server on `tower_test::mock`: it keeps one `Committee` and one `Lease`,
//! answers the requests the operator makes, and records every request so that tests assert the
//! exact list (method, path, body).
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode};
use k8s_openapi::api::coordination::v1::Lease;
use kube::client::Body;
use serde_json::{Value, json};
use xieshang_operator::crd::Committee;

/// One request the operator made.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub body: Value,
}

#[derive(Default)]
pub struct State {
    pub committee: Option<Committee>,
    pub lease: Option<Lease>,
    pub log: Vec<Recorded>,
    /// Answer the next Lease write with 409 Conflict (a concurrent writer won).
    pub conflict_next_lease_write: bool,
}

#[derive(Clone)]
pub struct FakeApi(pub Arc<Mutex<State>>);

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

impl FakeApi {
    /// A client talking to a new fake server holding `committee`.
    pub fn start(committee: Option<Committee>) -> (kube::Client, FakeApi) {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let api = FakeApi(Arc::new(Mutex::new(State { committee, ..Default::default() })));
        let server = api.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let (parts, body) = request.into_parts();
                let bytes = body.collect_bytes().await.expect("request body");
                let body: Value = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
                let recorded = Recorded { method: parts.method.clone(), path: parts.uri.path().to_owned(), body };
                let (status, reply) = server.answer(&recorded);
                server.0.lock().unwrap().log.push(recorded);
                let response = Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(Body::from(serde_json::to_vec(&reply).unwrap()))
                    .unwrap();
                send.send_response(response);
            }
        });
        (kube::Client::new(service, "default"), api)
    }

    /// Takes the requests recorded so far.
    pub fn take_log(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.0.lock().unwrap().log)
    }

    pub fn committee(&self) -> Committee {
        self.0.lock().unwrap().committee.clone().expect("the fake server holds a committee")
    }

    pub fn set_committee(&self, c: Committee) {
        self.0.lock().unwrap().committee = Some(c);
    }

    pub fn lease(&self) -> Option<Lease> {
        self.0.lock().unwrap().lease.clone()
    }

    pub fn set_lease(&self, lease: Option<Lease>) {
        self.0.lock().unwrap().lease = lease;
    }

    pub fn conflict_next_lease_write(&self) {
        self.0.lock().unwrap().conflict_next_lease_write = true;
    }

    fn answer(&self, r: &Recorded) -> (StatusCode, Value) {
        let mut state = self.0.lock().unwrap();
        let path = r.path.as_str();
        if path.starts_with("/apis/events.k8s.io/v1/namespaces/") {
            return match r.method {
                Method::POST => (StatusCode::CREATED, r.body.clone()),
                // The recorder patches a repeated event into a series.
                _ => (StatusCode::OK, r.body.clone()),
            };
        }
        if path.starts_with("/apis/coordination.k8s.io/v1/namespaces/") {
            return lease(&mut state, r);
        }
        if path.starts_with("/apis/xieshang.io/v1/namespaces/") && r.method == Method::PATCH {
            let Some(c) = state.committee.as_mut() else {
                return (StatusCode::NOT_FOUND, status_body(404, "NotFound", "no committee"));
            };
            if path.ends_with("/status") {
                c.status = Some(serde_json::from_value(r.body["status"].clone()).expect("a CommitteeStatus"));
            } else {
                apply_finalizer_patch(c, &r.body);
            }
            bump(&mut c.metadata);
            return (StatusCode::OK, serde_json::to_value(&*c).unwrap());
        }
        (StatusCode::NOT_FOUND, status_body(404, "NotFound", &format!("unexpected {} {path}", r.method)))
    }
}

fn bump(meta: &mut kube::api::ObjectMeta) {
    let v: u64 = meta.resource_version.as_deref().unwrap_or("0").parse().unwrap_or(0);
    meta.resource_version = Some((v + 1).to_string());
}

/// The JSON patches kube-runtime's finalizer helper sends: test, add, remove on
/// `/metadata/finalizers`.
fn apply_finalizer_patch(c: &mut Committee, patch: &Value) {
    for op in patch.as_array().expect("a JSON patch") {
        let path = op["path"].as_str().unwrap();
        let finalizers = c.metadata.finalizers.get_or_insert_with(Vec::new);
        match op["op"].as_str().unwrap() {
            "test" => {}
            "add" if path == "/metadata/finalizers" => {
                *finalizers = serde_json::from_value(op["value"].clone()).unwrap();
            }
            "add" if path == "/metadata/finalizers/-" => finalizers.push(op["value"].as_str().unwrap().into()),
            "remove" => {
                let i: usize = path.rsplit('/').next().unwrap().parse().unwrap();
                finalizers.remove(i);
            }
            other => panic!("unexpected patch op {other} {path}"),
        }
    }
}

fn lease(state: &mut State, r: &Recorded) -> (StatusCode, Value) {
    let not_found = || (StatusCode::NOT_FOUND, status_body(404, "NotFound", "leases \"xieshang-operator\" not found"));
    let conflict = || (StatusCode::CONFLICT, status_body(409, "Conflict", "the object has been modified"));
    match r.method {
        Method::GET => match &state.lease {
            Some(l) => (StatusCode::OK, serde_json::to_value(l).unwrap()),
            None => not_found(),
        },
        Method::POST => {
            if state.lease.is_some() || std::mem::take(&mut state.conflict_next_lease_write) {
                return (StatusCode::CONFLICT, status_body(409, "AlreadyExists", "already exists"));
            }
            let mut lease: Lease = serde_json::from_value(r.body.clone()).unwrap();
            lease.metadata.resource_version = Some("1".into());
            state.lease = Some(lease.clone());
            (StatusCode::CREATED, serde_json::to_value(lease).unwrap())
        }
        Method::PUT => {
            let Some(current) = state.lease.as_ref() else { return not_found() };
            let mut lease: Lease = serde_json::from_value(r.body.clone()).unwrap();
            if std::mem::take(&mut state.conflict_next_lease_write)
                || lease.metadata.resource_version != current.metadata.resource_version
            {
                return conflict();
            }
            bump(&mut lease.metadata);
            state.lease = Some(lease.clone());
            (StatusCode::OK, serde_json::to_value(lease).unwrap())
        }
        _ => (StatusCode::METHOD_NOT_ALLOWED, status_body(405, "MethodNotAllowed", "")),
    }
}

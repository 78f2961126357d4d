//! xieshang-operator: `Committee` resources (`committees.xieshang.io/v1`) reconciled into the
//! Xieshang tenants service over gRPC.
//!
//! - [`crd`]: the resource types; the chart's CRD YAML is generated from them.
//! - [`plan`]: the reconcile decision and the ownership rule, as pure functions.
//! - [`tenants`]: the gRPC client (platform-operator session, deadlines).
//! - [`reconcile`]: the plumbing — finalizer, status, events, backoff.
//! - [`leader`]: Lease-based leader election.
//! - [`probe`]: `/healthz` and `/readyz`.
//! - [`run`]: the `run` command wiring it all together.
#![forbid(unsafe_code)]

pub mod crd;
pub mod leader;
pub mod plan;
pub mod probe;
pub mod reconcile;
pub mod run;
pub mod tenants;

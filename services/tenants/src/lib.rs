//! The tenants service: committees and their province → city → county tree,
//! terms and plenary sessions, users and roles, sign-in and tokens, and the
//! audit log (`xieshang.tenants.v1`).
//!
//! - [`domain`]: plain types and the tree's rules (division codes, placement, names).
//! - [`store`]: the repository; every function takes the caller's context.
//! - [`grpc`]: the only module that touches generated protobuf types.
#![forbid(unsafe_code)]

pub mod domain;
mod entity;
pub mod error;
mod grpc;
pub mod store;

use std::sync::Arc;

use tonic::service::RoutesBuilder;
use tonic::service::interceptor::InterceptedService;
use xieshang_platform::auth::{AuthInterceptor, Revocations, TokenKeys};
use xieshang_platform::db::Db;
use xieshang_proto::tenants::v1 as pb;

pub use error::TenantsError;
pub use store::Store;

/// Fully-qualified names of the gRPC services this crate serves (for health reporting).
pub const SERVICE_NAMES: &[&str] = &[
    "xieshang.tenants.v1.CommitteeService",
    "xieshang.tenants.v1.UserService",
    "xieshang.tenants.v1.AuthService",
    "xieshang.tenants.v1.AuditService",
];

/// The tenants service, ready to be mounted on a server.
#[derive(Clone)]
pub struct TenantsService {
    store: Store,
}

impl TenantsService {
    pub fn new(db: Db, keys: Arc<TokenKeys>, revocations: Revocations) -> Self {
        Self { store: Store::new(db, keys, revocations) }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Mounts every gRPC service of this crate behind the auth interceptor.
    pub fn add_to(&self, routes: &mut RoutesBuilder, auth: AuthInterceptor) {
        routes
            .add_service(InterceptedService::new(
                pb::committee_service_server::CommitteeServiceServer::new(grpc::CommitteeApi(self.store.clone())),
                auth.clone(),
            ))
            .add_service(InterceptedService::new(
                pb::user_service_server::UserServiceServer::new(grpc::UserApi(self.store.clone())),
                auth.clone(),
            ))
            .add_service(InterceptedService::new(
                pb::auth_service_server::AuthServiceServer::new(grpc::AuthApi(self.store.clone())),
                auth.clone(),
            ))
            .add_service(InterceptedService::new(
                pb::audit_service_server::AuditServiceServer::new(grpc::AuditApi(self.store.clone())),
                auth,
            ));
    }
}

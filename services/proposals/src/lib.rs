//! The proposals service (`xieshang.proposals.v1`): proposals (提案) from
//! drafting to the proposer's rating.
//!
//! - [`domain`]: plain types and the lifecycle as a state machine.
//! - [`store`]: the repository; every function takes the caller's context.
//! - `grpc`: the only module that touches generated protobuf types.
#![forbid(unsafe_code)]

pub mod domain;
mod entity;
pub mod error;
mod grpc;
pub mod store;

use tonic::service::RoutesBuilder;
use tonic::service::interceptor::InterceptedService;
use xieshang_platform::auth::AuthInterceptor;
use xieshang_platform::db::Db;
use xieshang_proto::proposals::v1 as pb;

pub use error::ProposalsError;
pub use store::Store;

/// Fully-qualified names of the gRPC services this crate serves (for health reporting).
pub const SERVICE_NAMES: &[&str] = &["xieshang.proposals.v1.ProposalService"];

/// The proposals service, ready to be mounted on a server.
#[derive(Clone)]
pub struct ProposalsService {
    store: Store,
}

impl ProposalsService {
    pub fn new(db: Db) -> Self {
        Self { store: Store::new(db) }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Mounts every gRPC service of this crate behind the auth interceptor.
    pub fn add_to(&self, routes: &mut RoutesBuilder, auth: AuthInterceptor) {
        routes.add_service(InterceptedService::new(
            pb::proposal_service_server::ProposalServiceServer::new(grpc::ProposalApi(self.store.clone())),
            auth,
        ));
    }
}

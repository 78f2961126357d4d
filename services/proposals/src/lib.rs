//! The proposals service (`xieshang.proposals.v1`): proposals (提案) from
//! drafting to the proposer's rating, their deadlines and statistics, and
//! social-conditions information (社情民意信息) reported up the tree.
//!
//! - [`domain`]: plain types and the lifecycle as a state machine.
//! - [`store`]: the repository; every function takes the caller's context.
//! - `grpc`: the only module that touches generated protobuf types.
#![forbid(unsafe_code)]

pub mod digest;
pub mod domain;
mod drafts;
mod entity;
pub mod error;
mod grpc;
mod handlers;
pub mod store;
pub mod text;

use std::sync::Arc;
use std::time::Duration;

use tonic::service::RoutesBuilder;
use tonic::service::interceptor::InterceptedService;
use xieshang_platform::auth::AuthInterceptor;
use xieshang_platform::db::Db;
use xieshang_platform::events::EventHandler;
use xieshang_proto::proposals::v1 as pb;

pub use error::ProposalsError;
pub use store::Store;

/// Fully-qualified names of the gRPC services this crate serves (for health reporting).
pub const SERVICE_NAMES: &[&str] = &[
    "xieshang.proposals.v1.ProposalService",
    "xieshang.proposals.v1.InformationService",
    "xieshang.proposals.v1.DigestService",
];

/// The proposals service, ready to be mounted on a server.
#[derive(Clone)]
pub struct ProposalsService {
    store: Store,
    db: Db,
}

impl ProposalsService {
    pub fn new(db: Db) -> Self {
        Self { store: Store::new(db.clone()), db }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Mounts every gRPC service of this crate behind the auth interceptor.
    pub fn add_to(&self, routes: &mut RoutesBuilder, auth: AuthInterceptor) {
        routes.add_service(InterceptedService::new(
            pb::proposal_service_server::ProposalServiceServer::new(grpc::ProposalApi(self.store.clone())),
            auth.clone(),
        ));
        routes.add_service(InterceptedService::new(
            pb::information_service_server::InformationServiceServer::new(grpc::InformationApi(self.store.clone())),
            auth.clone(),
        ));
        routes.add_service(InterceptedService::new(
            pb::digest_service_server::DigestServiceServer::new(grpc::DigestApi(self.store.clone())),
            auth,
        ));
    }

    /// Handlers to subscribe to the event bus: the upward status of forwarded
    /// information items (`InformationAdopted`, `InformationInstructed`), and
    /// drafts requested by other services (`SuggestionCarriedForward`, `StudioRequestDrafted`).
    pub fn event_handlers(&self) -> Vec<Arc<dyn EventHandler>> {
        vec![
            Arc::new(handlers::UpwardStatus { store: self.store.clone() }),
            Arc::new(drafts::DraftRequests { db: self.db.clone() }),
        ]
    }

    /// The reminder sweep ([`Store::sweep_reminders`]) every `every`, until
    /// `shutdown` turns true. Safe to run on every replica.
    pub async fn run_sweeper(&self, every: Duration, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.store.sweep_reminders(xieshang_platform::time::now()).await {
                Ok(sweep) if sweep.total() == 0 => {}
                Ok(sweep) => tracing::info!(
                    overdue = sweep.overdue,
                    due_soon = sweep.due_soon,
                    follow_ups = sweep.follow_ups,
                    "deadline sweep sent reminders"
                ),
                Err(err) => tracing::warn!(error = %err, "deadline sweep failed; will retry"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

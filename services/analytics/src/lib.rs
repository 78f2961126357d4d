//! The analytics service (`xieshang.analytics.v1`): counters per committee,
//! period and metric, fed by the domain events and rolled up the tree, and
//! the figures, breakdowns and time series read from them.
//!
//! - [`domain`]: periods, metrics and the rates derived from counters.
//! - [`store`]: the repository; reads take the caller's context.
//! - `consumer`: events → counter facts, applied once per event id.
//! - `grpc`: the only module that touches generated protobuf types.
#![forbid(unsafe_code)]

mod consumer;
pub mod domain;
mod entity;
pub mod error;
mod grpc;
pub mod store;

use std::sync::Arc;

use tonic::service::RoutesBuilder;
use tonic::service::interceptor::InterceptedService;
use xieshang_platform::auth::AuthInterceptor;
use xieshang_platform::db::Db;
use xieshang_platform::events::EventHandler;
use xieshang_proto::analytics::v1 as pb;

pub use error::AnalyticsError;
pub use store::{Counter, MemberCounter, MemberRanking, Position, RebuildProgress, RebuildReport, Store, TermRow};

/// Fully-qualified names of the gRPC services this crate serves (for health reporting).
pub const SERVICE_NAMES: &[&str] = &["xieshang.analytics.v1.AnalyticsService"];

/// The analytics service, ready to be mounted on a server.
#[derive(Clone)]
pub struct AnalyticsService {
    store: Store,
}

impl AnalyticsService {
    pub fn new(db: Db) -> Self {
        Self { store: Store::new(db) }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Mounts every gRPC service of this crate behind the auth interceptor.
    pub fn add_to(&self, routes: &mut RoutesBuilder, auth: AuthInterceptor) {
        routes.add_service(InterceptedService::new(
            pb::analytics_service_server::AnalyticsServiceServer::new(grpc::AnalyticsApi(self.store.clone())),
            auth,
        ));
    }

    /// Handlers to subscribe to the event bus: the counter consumer.
    pub fn event_handlers(&self) -> Vec<Arc<dyn EventHandler>> {
        vec![Arc::new(consumer::CounterConsumer { store: self.store.clone() })]
    }

    /// The consumer's recorded position.
    pub async fn position(&self) -> error::Result<Position> {
        self.store.position().await
    }

    /// Recomputes every counter from scratch by replaying the retained event
    /// log (the outbox), in one transaction that swaps the fresh counters in.
    /// The repair tool if counters drift; `progress` hears as it goes.
    pub async fn rebuild(&self, progress: &(dyn Fn(store::RebuildProgress) + Sync)) -> error::Result<RebuildReport> {
        self.store.rebuild(consumer::facts, progress).await
    }
}

//! The analytics service (`xieshang.analytics.v1`).
#![forbid(unsafe_code)]

use std::sync::Arc;

use tonic::service::RoutesBuilder;
use xieshang_platform::auth::AuthInterceptor;
use xieshang_platform::db::Db;
use xieshang_platform::events::EventHandler;

/// Fully-qualified names of the gRPC services this crate serves (for health reporting).
pub const SERVICE_NAMES: &[&str] = &[];

/// The analytics service, ready to be mounted on a server.
#[derive(Clone)]
pub struct AnalyticsService {
    #[allow(dead_code)]
    db: Db,
}

impl AnalyticsService {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Mounts every gRPC service of this crate behind the auth interceptor.
    pub fn add_to(&self, _routes: &mut RoutesBuilder, _auth: AuthInterceptor) {}

    /// Handlers to subscribe to the event bus.
    pub fn event_handlers(&self) -> Vec<Arc<dyn EventHandler>> {
        Vec::new()
    }
}

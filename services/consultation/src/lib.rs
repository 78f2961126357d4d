//! The consultation service (`xieshang.consultation.v1`).
#![forbid(unsafe_code)]

use std::sync::Arc;

use tonic::service::RoutesBuilder;
use xieshang_platform::auth::AuthInterceptor;
use xieshang_platform::db::Db;
use xieshang_platform::events::EventHandler;

/// Fully-qualified names of the gRPC services this crate serves (for health reporting).
pub const SERVICE_NAMES: &[&str] = &[];

/// The consultation service, ready to be mounted on a server.
#[derive(Clone)]
pub struct ConsultationService {
    #[allow(dead_code)]
    db: Db,
}

impl ConsultationService {
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

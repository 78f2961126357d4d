//! The membership service (`xieshang.membership.v1`).
#![forbid(unsafe_code)]

use std::sync::Arc;

use tonic::service::RoutesBuilder;
use xieshang_platform::auth::AuthInterceptor;
use xieshang_platform::db::Db;
use xieshang_platform::events::EventHandler;

/// Fully-qualified names of the gRPC services this crate serves (for health reporting).
pub const SERVICE_NAMES: &[&str] = &[];

/// The membership service, ready to be mounted on a server.
#[derive(Clone)]
pub struct MembershipService {
    #[allow(dead_code)]
    db: Db,
    #[allow(dead_code)]
    pii_key: [u8; 16],
}

impl MembershipService {
    /// `pii_key`: the SM4 key that encrypts personal information at rest.
    pub fn new(db: Db, pii_key: [u8; 16]) -> Self {
        Self { db, pii_key }
    }

    /// Mounts every gRPC service of this crate behind the auth interceptor.
    pub fn add_to(&self, _routes: &mut RoutesBuilder, _auth: AuthInterceptor) {}

    /// Handlers to subscribe to the event bus.
    pub fn event_handlers(&self) -> Vec<Arc<dyn EventHandler>> {
        Vec::new()
    }
}

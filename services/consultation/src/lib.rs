//! The consultation service (`xieshang.consultation.v1`): topic sourcing
//! (议题征集, including the public's sign-in-free submission), the annual
//! consultation and supervision plan (年度协商监督计划), consultation
//! activities (协商活动) with research visits, meetings with sign-in and
//! speeches, and the suggestions of activities' reports with feedback and
//! adoption rates; democratic supervision (民主监督) with rectification
//! tracking and three-level joint supervision (三级政协联动), served as
//! `xieshang.consultation.v1.SupervisionService`; quality evaluation
//! (协商议政质量评价) and the sector round-table rotation (界别圆桌会联组轮值),
//! served as `xieshang.consultation.v1.QualityService`.
//!
//! - [`domain`]: plain types, state machines and rules.
//! - [`store`]: the repository; every function takes the caller's context
//!   (the two public operations take the client address instead). The
//!   public's contact phone is sealed with the platform's SM4 `pii`.
//! - `grpc`: the only module that touches generated protobuf types.
#![forbid(unsafe_code)]

pub mod domain;
mod entity;
pub mod error;
mod grpc;
mod grpc_quality;
mod grpc_supervision;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use tonic::service::RoutesBuilder;
use tonic::service::interceptor::InterceptedService;
use xieshang_platform::auth::AuthInterceptor;
use xieshang_platform::db::Db;
use xieshang_platform::events::EventHandler;
use xieshang_platform::pii::Pii;
use xieshang_proto::consultation::v1 as pb;

pub use error::ConsultationError;
pub use store::Store;
pub use xieshang_platform::limits::{InProcessLimiter, RateLimiter};

/// Fully-qualified names of the gRPC services this crate serves (for health reporting).
pub const SERVICE_NAMES: &[&str] = &[
    "xieshang.consultation.v1.ConsultationService",
    "xieshang.consultation.v1.SupervisionService",
    "xieshang.consultation.v1.QualityService",
];

/// Public topic submissions allowed per client address and committee…
pub const PUBLIC_SUBMISSIONS: usize = 5;
/// …within this window.
pub const PUBLIC_WINDOW: Duration = Duration::from_secs(600);

/// The consultation service, ready to be mounted on a server.
#[derive(Clone)]
pub struct ConsultationService {
    store: Store,
}

impl ConsultationService {
    /// Without the SM4 key: for tools that need only [`Self::event_handlers`]
    /// (e.g. `xieshang events retry`). Such a service cannot seal or open the
    /// public's contact phones: `SubmitPublicTopic` and staff reads of a public
    /// topic's contact fail with INTERNAL. Servers use [`Self::with_limiter`].
    pub fn new(db: Db) -> Self {
        let limiter = Arc::new(InProcessLimiter::new(PUBLIC_SUBMISSIONS, PUBLIC_WINDOW));
        Self { store: Store::new(db, limiter, None) }
    }

    /// `pii_key`: the SM4 key (`pii.key`) that seals the public's contact
    /// phones at rest; `limiter` counts public submissions (in process, or
    /// shared in distributed mode).
    pub fn with_limiter(db: Db, pii_key: [u8; 16], limiter: Arc<dyn RateLimiter>) -> Self {
        Self { store: Store::new(db, limiter, Some(Pii::new(pii_key))) }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Mounts every gRPC service of this crate behind the auth interceptor
    /// (which lets token-less calls through for the public RPCs).
    pub fn add_to(&self, routes: &mut RoutesBuilder, auth: AuthInterceptor) {
        routes.add_service(InterceptedService::new(
            pb::consultation_service_server::ConsultationServiceServer::new(grpc::ConsultationApi(self.store.clone())),
            auth.clone(),
        ));
        routes.add_service(InterceptedService::new(
            pb::supervision_service_server::SupervisionServiceServer::new(grpc_supervision::SupervisionApi(
                self.store.clone(),
            )),
            auth.clone(),
        ));
        routes.add_service(InterceptedService::new(
            pb::quality_service_server::QualityServiceServer::new(grpc_quality::QualityApi(self.store.clone())),
            auth,
        ));
    }

    /// Handlers to subscribe to the event bus: none yet.
    pub fn event_handlers(&self) -> Vec<Arc<dyn EventHandler>> {
        Vec::new()
    }
}

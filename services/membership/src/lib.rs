//! The membership service (`xieshang.membership.v1`): the roster of members
//! (委员) with their committee's reference data, personal information
//! encrypted at rest, roster import and export, performance records (履职档案)
//! fed by other services' events, members' self-service, and annual reporting
//! (述职, `xieshang.membership.v1.ReportingService`) with its statistics, and
//! annual performance projects (年度履职项目) with the annual assessment (考核,
//! `xieshang.membership.v1.PerformanceService`), and member studios (委员工作室,
//! `xieshang.membership.v1.StudioService`) with the public's requests.
//!
//! - [`domain`]: plain types and rules (ID numbers, masking, ranking).
//! - [`store`]: the repository; every function takes the caller's context.
//!   It writes the events analytics counts (`MemberEnrolled`,
//!   `MemberStatusChanged`, `ReportingSessionClosed`,
//!   `PerformanceEntryRecorded`) into the outbox with the change.
//! - `crypto`: SM4-CCM sealing and keyed digests of personal information
//!   (from the platform kit's `pii`, shared with consultation).
//! - [`roster_file`]: reading, validating and writing roster spreadsheets.
//! - [`rekey`]: moving personal information to a new SM4 key (`xieshang pii rekey`).
//! - `consumer`: the event handler that turns events into record entries.
//! - `grpc`: the only module that touches generated protobuf types.
#![forbid(unsafe_code)]

mod consumer;
mod crypto;
pub mod domain;
mod entity;
pub mod error;
mod grpc;
pub mod rekey;
pub mod roster_file;
pub mod store;

/// The SM4 sealing of personal information, for tools that write member rows
/// directly (the national benchmark's generator). Defined in
/// [`xieshang_platform::pii`]; re-exported under its old name.
pub use crypto::Pii;

/// The spreadsheet crates (and the CSV text decoder) this service reads and writes roster files with,
/// re-exported so that tests and tools build and parse the same files.
#[doc(hidden)]
pub mod spreadsheet {
    pub use {calamine, encoding_rs, rust_xlsxwriter};
}

use std::sync::Arc;

use tonic::service::RoutesBuilder;
use tonic::service::interceptor::InterceptedService;
use xieshang_platform::auth::AuthInterceptor;
use xieshang_platform::db::Db;
use xieshang_platform::events::EventHandler;
use xieshang_platform::limits::{InProcessLimiter, RateLimiter};
use xieshang_proto::membership::v1 as pb;

pub use error::MembershipError;
pub use store::Store;

/// Fully-qualified names of the gRPC services this crate serves (for health reporting).
pub const SERVICE_NAMES: &[&str] = &[
    "xieshang.membership.v1.MembershipService",
    "xieshang.membership.v1.ReportingService",
    "xieshang.membership.v1.PerformanceService",
    "xieshang.membership.v1.StudioService",
];

/// Largest request accepted: a 10 MB roster file plus the message around it.
const MAX_REQUEST_BYTES: usize = 11 * 1024 * 1024;

/// The membership service, ready to be mounted on a server.
#[derive(Clone)]
pub struct MembershipService {
    db: Db,
    store: Store,
    /// Counts the public's studio requests per client address (shared by every mount).
    studio_limiter: Arc<dyn RateLimiter>,
}

impl MembershipService {
    /// `pii_key`: the SM4 key that encrypts personal information at rest.
    /// With the in-process rate limiter for the public's studio requests.
    pub fn new(db: Db, pii_key: [u8; 16]) -> Self {
        let limiter = InProcessLimiter::new(domain::studios::PUBLIC_LIMIT, domain::studios::PUBLIC_WINDOW);
        Self::with_limiter(db, pii_key, Arc::new(limiter))
    }

    /// With another rate limiter (the shared one in distributed mode).
    pub fn with_limiter(db: Db, pii_key: [u8; 16], studio_limiter: Arc<dyn RateLimiter>) -> Self {
        let store = Store::new(db.clone(), crypto::Pii::new(pii_key));
        Self { db, store, studio_limiter }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Mounts every gRPC service of this crate behind the auth interceptor.
    pub fn add_to(&self, routes: &mut RoutesBuilder, auth: AuthInterceptor) {
        routes.add_service(InterceptedService::new(
            pb::membership_service_server::MembershipServiceServer::new(grpc::MembershipApi(self.store.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
            auth.clone(),
        ));
        routes.add_service(InterceptedService::new(
            pb::reporting_service_server::ReportingServiceServer::new(grpc::ReportingApi(self.store.clone())),
            auth.clone(),
        ));
        routes.add_service(InterceptedService::new(
            pb::performance_service_server::PerformanceServiceServer::new(grpc::PerformanceApi(self.store.clone())),
            auth.clone(),
        ));
        let studios = grpc::StudioApi { store: self.store.clone(), limiter: self.studio_limiter.clone() };
        routes.add_service(InterceptedService::new(pb::studio_service_server::StudioServiceServer::new(studios), auth));
    }

    /// Handlers to subscribe to the event bus.
    pub fn event_handlers(&self) -> Vec<Arc<dyn EventHandler>> {
        vec![Arc::new(consumer::RecordConsumer::new(self.db.clone()))]
    }
}

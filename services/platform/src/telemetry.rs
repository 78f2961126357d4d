//! Logs, traces and per-RPC metrics.
//!
//! - Logs: `tracing`, human-readable by default, JSON with `log.format = "json"`.
//! - Traces and metrics: exported over OTLP/gRPC when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the standard OpenTelemetry
//!   variables configure the exporter); otherwise nothing leaves the process.
//! - [`RpcLayer`]: a tower layer on every server. Each RPC gets a span named
//!   after its method, carrying `committee` and `user` (filled in by the auth
//!   interceptor), continuing the caller's W3C trace context; and three
//!   instruments: `rpc.server.requests`, `rpc.server.errors` and
//!   `rpc.server.duration` (seconds), by method and gRPC status code — also
//!   kept for the Prometheus endpoint ([`crate::metrics`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::PlatformError;
use crate::config::{LogConfig, LogFormat};

/// The gRPC method of the request being served, e.g.
/// "/xieshang.tenants.v1.UserService/CreateUser". Put into request extensions
/// by [`RpcLayer`]; the audit log records it.
#[derive(Clone, Debug)]
pub struct RpcMethod(pub String);

/// Keeps the exporters alive; flushes them when dropped.
#[must_use = "dropping the guard shuts telemetry down"]
pub struct TelemetryGuard {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(tracer) = self.tracer.take() {
            let _ = tracer.shutdown();
        }
        if let Some(meter) = self.meter.take() {
            let _ = meter.shutdown();
        }
    }
}

/// Installs the global subscriber (once per process; later calls only return
/// a guard) and, when an OTLP endpoint is configured, the exporters.
pub fn init(log: &LogConfig, service_name: &str) -> Result<TelemetryGuard, PlatformError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .map_err(|e| PlatformError::Telemetry(format!("log.filter: {e}")))?;

    let (tracer, meter) = if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        let resource = opentelemetry_sdk::Resource::builder().with_service_name(service_name.to_owned()).build();
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| PlatformError::Telemetry(e.to_string()))?;
        let tracer = SdkTracerProvider::builder().with_batch_exporter(spans).with_resource(resource.clone()).build();
        let metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| PlatformError::Telemetry(e.to_string()))?;
        let meter = SdkMeterProvider::builder().with_periodic_exporter(metrics).with_resource(resource).build();
        opentelemetry::global::set_meter_provider(meter.clone());
        (Some(tracer), Some(meter))
    } else {
        (None, None)
    };

    let otel_layer =
        tracer.as_ref().map(|t| tracing_opentelemetry::layer().with_tracer(t.tracer(service_name.to_owned())));
    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    // A second init (tests start many servers in one process) keeps the first subscriber.
    let _ = match log.format {
        LogFormat::Human => registry.with(tracing_subscriber::fmt::layer()).try_init(),
        LogFormat::Json => registry.with(tracing_subscriber::fmt::layer().json().flatten_event(true)).try_init(),
    };
    Ok(TelemetryGuard { tracer, meter })
}

/// The current span's W3C trace context, for an event or an outgoing call.
pub fn current_trace_context() -> std::collections::HashMap<String, String> {
    struct Map<'a>(&'a mut std::collections::HashMap<String, String>);
    impl Injector for Map<'_> {
        fn set(&mut self, key: &str, value: String) {
            self.0.insert(key.to_owned(), value);
        }
    }
    let mut map = std::collections::HashMap::new();
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut Map(&mut map)));
    map
}

/// The OpenTelemetry context carried by an event's (or any) W3C trace-context map.
pub fn extract_trace_context(map: &std::collections::HashMap<String, String>) -> opentelemetry::Context {
    struct Map<'a>(&'a std::collections::HashMap<String, String>);
    impl Extractor for Map<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).map(String::as_str)
        }

        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(String::as_str).collect()
        }
    }
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&Map(map)))
}

struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[derive(Clone)]
struct Instruments {
    requests: Counter<u64>,
    errors: Counter<u64>,
    duration: Histogram<f64>,
}

impl Instruments {
    fn new() -> Self {
        let meter = opentelemetry::global::meter("xieshang");
        Self {
            requests: meter.u64_counter("rpc.server.requests").with_description("RPCs served").build(),
            errors: meter
                .u64_counter("rpc.server.errors")
                .with_description("RPCs answered with a non-OK status")
                .build(),
            duration: meter
                .f64_histogram("rpc.server.duration")
                .with_unit("s")
                .with_description("Time to the response headers")
                .build(),
        }
    }
}

/// Per-RPC span and metrics; see the module docs.
#[derive(Clone)]
pub struct RpcLayer {
    instruments: Instruments,
}

impl RpcLayer {
    /// Create after [`init`], so the instruments bind to the exporting meter.
    pub fn new() -> Self {
        Self { instruments: Instruments::new() }
    }
}

impl Default for RpcLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> tower_layer::Layer<S> for RpcLayer {
    type Service = RpcService<S>;

    fn layer(&self, inner: S) -> RpcService<S> {
        RpcService { inner, instruments: self.instruments.clone() }
    }
}

#[derive(Clone)]
pub struct RpcService<S> {
    inner: S,
    instruments: Instruments,
}

impl<S, B, RB> tower_service::Service<http::Request<B>> for RpcService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let span = tracing::info_span!(
            "rpc",
            otel.name = %method,
            otel.kind = "server",
            rpc.system = "grpc",
            committee = tracing::field::Empty,
            user = tracing::field::Empty,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(request.headers())));
        let _ = span.set_parent(parent);
        request.extensions_mut().insert(RpcMethod(method.clone()));

        let start = Instant::now();
        let future = span.in_scope(|| self.inner.call(request));
        let instruments = self.instruments.clone();
        Box::pin(
            async move {
                let result = future.await;
                // Unary errors are "trailers-only" responses: the status is in
                // the headers. A status only in trailers counts as OK here.
                let code = match &result {
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .unwrap_or(0),
                    Err(_) => tonic::Code::Unknown as i32,
                };
                tracing::Span::current().record("rpc.grpc.status_code", code);
                crate::metrics::record_rpc(&method, code, start.elapsed());
                let attributes =
                    [KeyValue::new("rpc.method", method), KeyValue::new("rpc.grpc.status_code", i64::from(code))];
                instruments.requests.add(1, &attributes);
                if code != 0 {
                    instruments.errors.add(1, &attributes);
                }
                instruments.duration.record(start.elapsed().as_secs_f64(), &attributes);
                result
            }
            .instrument(span),
        )
    }
}

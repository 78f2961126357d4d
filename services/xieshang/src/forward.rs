//! Forwarding to peers: a process answers every Xieshang RPC, running the
//! ones of its own services and forwarding the rest to the process that runs
//! them (`peers.<service>` in the configuration).
//!
//! So any pod is an entry point: the CLI, the operator or an ingress may talk
//! to one address, and a service never needs to know where another one runs.
//! Every forwarded call carries a deadline — the caller's `grpc-timeout`, or
//! [`DEFAULT_DEADLINE`] when it set none — and the trace context of the span
//! [`RpcLayer`](xieshang_platform::telemetry::RpcLayer) opened for it, so one
//! trace shows both processes.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderName, HeaderValue, Request, Response};
use tonic::transport::{Channel, Endpoint};
use tower_service::Service;
use xieshang_platform::config::{ALL_SERVICES, Config};

/// Deadline of a forwarded call whose caller set none.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

/// The fallback route of a server: forwards RPCs of services this process
/// does not run.
#[derive(Clone)]
pub struct Forwarder {
    /// Service name → channel to the process that runs it (lazily connected).
    peers: BTreeMap<&'static str, (String, Channel)>,
}

impl Forwarder {
    /// Channels to every configured peer among the services this process does not run.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let mut peers = BTreeMap::new();
        for name in ALL_SERVICES.iter().copied().filter(|name| !config.runs(name)) {
            if let Some(url) = config.peers.get(name) {
                let channel = Endpoint::from_shared(url.clone())
                    .map_err(|e| anyhow::anyhow!("peers.{name}: {e}"))?
                    .connect_timeout(Duration::from_secs(5))
                    .connect_lazy();
                peers.insert(name, (url.clone(), channel));
            }
        }
        Ok(Self { peers })
    }

    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

/// The service an RPC path belongs to: `/xieshang.proposals.v1.ProposalService/FileProposal` → `proposals`.
fn service_of(path: &str) -> Option<&'static str> {
    let package = path.strip_prefix("/xieshang.")?.split('.').next()?;
    ALL_SERVICES.iter().copied().find(|name| *name == package)
}

/// `grpc-timeout` as sent on the wire (`<digits><unit>`), e.g. `1500m`.
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

fn status_response(status: tonic::Status) -> Response<axum::body::Body> {
    status.into_http::<axum::body::Body>()
}

impl Service<Request<axum::body::Body>> for Forwarder {
    type Response = Response<axum::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<axum::body::Body>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let Some(service) = service_of(&path) else {
            return Box::pin(
                async move { Ok(status_response(tonic::Status::unimplemented(format!("no RPC {path}")))) },
            );
        };
        let Some((url, channel)) = self.peers.get(service).cloned() else {
            let message =
                format!("the {service} service does not run in this process and peers.{service} is not configured");
            return Box::pin(async move { Ok(status_response(tonic::Status::unavailable(message))) });
        };

        let (mut parts, body) = request.into_parts();
        let deadline = parts
            .headers
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout)
            .unwrap_or(DEFAULT_DEADLINE);
        parts.headers.insert("grpc-timeout", HeaderValue::from_str(&format!("{}m", deadline.as_millis())).unwrap());
        // Called inside the RPC's span: its context continues in the peer.
        for (key, value) in xieshang_platform::telemetry::current_trace_context() {
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(key), HeaderValue::try_from(value)) {
                parts.headers.insert(name, value);
            }
        }
        let forwarded = Request::from_parts(parts, tonic::body::Body::new(body));
        let mut channel = channel;
        Box::pin(async move {
            let call = async move {
                std::future::poll_fn(|cx| channel.poll_ready(cx)).await?;
                channel.call(forwarded).await
            };
            match tokio::time::timeout(deadline, call).await {
                Ok(Ok(response)) => Ok(response.map(axum::body::Body::new)),
                Ok(Err(err)) => {
                    tracing::warn!(service, peer = %url, error = %err, "cannot reach peer");
                    Ok(status_response(tonic::Status::unavailable(format!(
                        "the {service} service at {url} is unreachable"
                    ))))
                }
                Err(_) => Ok(status_response(tonic::Status::deadline_exceeded(format!(
                    "the {service} service did not answer within {deadline:?}"
                )))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_paths_name_their_service() {
        assert_eq!(service_of("/xieshang.proposals.v1.ProposalService/FileProposal"), Some("proposals"));
        assert_eq!(service_of("/xieshang.tenants.v1.AuthService/Login"), Some("tenants"));
        assert_eq!(service_of("/grpc.health.v1.Health/Check"), None);
        assert_eq!(service_of("/xieshang.events.v1.Nothing/X"), None);
    }

    #[test]
    fn grpc_timeouts_parse_in_every_unit() {
        assert_eq!(parse_grpc_timeout("1500m"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("m"), None);
        assert_eq!(parse_grpc_timeout(""), None);
        assert_eq!(parse_grpc_timeout("10x"), None);
    }
}

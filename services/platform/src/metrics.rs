//! The Prometheus scrape endpoint (`metrics.listen`): `GET /metrics` in the
//! text exposition format.
//!
//! OTLP export (see [`crate::telemetry`]) needs a collector; clusters that run
//! Prometheus scrape pods directly, so the same per-RPC figures are also kept
//! here, in plain counters, with no exporter library in between:
//!
//! - `xieshang_rpc_requests_total{method,code}` — RPCs answered;
//! - `xieshang_rpc_duration_seconds{method}` — histogram of the time to the
//!   response headers;
//! - `xieshang_events_dead_lettered_total{handler}` — events a handler gave
//!   up on and recorded as dead letters (see [`crate::events`]);
//! - gauges registered by the server, e.g. `xieshang_event_bus_up` (1 when the
//!   last Redis operation of the event bus succeeded).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Upper bounds (seconds) of the duration histogram's buckets.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

type Gauge = Arc<dyn Fn() -> f64 + Send + Sync>;

#[derive(Default)]
struct Registry {
    requests: BTreeMap<(String, i32), u64>,
    durations: BTreeMap<String, Histogram>,
    dead_letters: BTreeMap<String, u64>,
    gauges: BTreeMap<String, (String, Gauge)>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records one answered RPC (called by [`crate::telemetry::RpcLayer`]).
pub fn record_rpc(method: &str, code: i32, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64();
    let mut registry = registry();
    *registry.requests.entry((method.to_owned(), code)).or_default() += 1;
    let histogram = registry.durations.entry(method.to_owned()).or_default();
    histogram.count += 1;
    histogram.sum += seconds;
    for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter_mut()) {
        if seconds <= *bound {
            *count += 1;
        }
    }
}

/// Counts one event that `handler` gave up on (recorded as a dead letter).
pub fn record_dead_letter(handler: &str) {
    *registry().dead_letters.entry(handler.to_owned()).or_default() += 1;
}

/// Registers (or replaces) a gauge read at every scrape.
pub fn register_gauge(name: &str, help: &str, read: impl Fn() -> f64 + Send + Sync + 'static) {
    registry().gauges.insert(name.to_owned(), (help.to_owned(), Arc::new(read)));
}

/// The whole exposition, as served at `/metrics`.
pub fn render() -> String {
    let registry = registry();
    let mut out = String::new();
    out.push_str("# HELP xieshang_rpc_requests_total RPCs answered, by method and gRPC status code.\n");
    out.push_str("# TYPE xieshang_rpc_requests_total counter\n");
    for ((method, code), count) in &registry.requests {
        let _ = writeln!(out, "xieshang_rpc_requests_total{{method=\"{method}\",code=\"{code}\"}} {count}");
    }
    out.push_str("# HELP xieshang_rpc_duration_seconds Time to the response headers.\n");
    out.push_str("# TYPE xieshang_rpc_duration_seconds histogram\n");
    for (method, histogram) in &registry.durations {
        for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter()) {
            let _ = writeln!(out, "xieshang_rpc_duration_seconds_bucket{{method=\"{method}\",le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "xieshang_rpc_duration_seconds_bucket{{method=\"{method}\",le=\"+Inf\"}} {}",
            histogram.count
        );
        let _ = writeln!(out, "xieshang_rpc_duration_seconds_sum{{method=\"{method}\"}} {}", histogram.sum);
        let _ = writeln!(out, "xieshang_rpc_duration_seconds_count{{method=\"{method}\"}} {}", histogram.count);
    }
    out.push_str("# HELP xieshang_events_dead_lettered_total Events a handler gave up on, recorded as dead letters.\n");
    out.push_str("# TYPE xieshang_events_dead_lettered_total counter\n");
    for (handler, count) in &registry.dead_letters {
        let _ = writeln!(out, "xieshang_events_dead_lettered_total{{handler=\"{}\"}} {count}", label(handler));
    }
    for (name, (help, read)) in &registry.gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}", read());
    }
    out
}

/// A label value in the exposition format: backslash, quote and newline escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Serves `GET /metrics` on `listener` until `shutdown` turns true. Anything
/// else gets 404; the server speaks just enough HTTP/1.1 for a scraper.
pub async fn serve(listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let Ok((mut stream, _)) = accepted else { continue };
        tokio::spawn(async move {
            let mut buffer = [0u8; 2048];
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await;
            let Ok(Ok(n)) = read else { return };
            let request = String::from_utf8_lossy(&buffer[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = if request.starts_with("GET ") && (path == "/metrics" || path.starts_with("/metrics?"))
            {
                ("200 OK", render())
            } else {
                ("404 Not Found", "not found; try /metrics\n".to_owned())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

/// Binds `addr` and spawns [`serve`]; returns the bound address (port 0 picks one).
pub async fn spawn(
    addr: SocketAddr,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((bound, tokio::spawn(serve(listener, shutdown))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scrapes_show_rpc_counts_histograms_and_gauges() {
        record_rpc("/xieshang.test.v1.Probe/Ping", 0, Duration::from_millis(3));
        record_rpc("/xieshang.test.v1.Probe/Ping", 5, Duration::from_millis(30));
        register_gauge("xieshang_test_up", "A test gauge.", || 1.0);
        record_dead_letter("test-\"handler\"");
        record_dead_letter("test-\"handler\"");
        let (_tx, rx) = watch::channel(false);
        let (addr, _task) = spawn("127.0.0.1:0".parse().unwrap(), rx).await.unwrap();

        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).await.unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        assert!(text.contains("xieshang_rpc_requests_total{method=\"/xieshang.test.v1.Probe/Ping\",code=\"5\"} 1"));
        assert!(
            text.contains(
                "xieshang_rpc_duration_seconds_bucket{method=\"/xieshang.test.v1.Probe/Ping\",le=\"0.005\"} 1"
            )
        );
        assert!(text.contains("xieshang_rpc_duration_seconds_count{method=\"/xieshang.test.v1.Probe/Ping\"} 2"));
        assert!(text.contains("xieshang_test_up 1"));
        assert!(text.contains("xieshang_events_dead_lettered_total{handler=\"test-\\\"handler\\\"\"} 2"), "{text}");

        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET /secrets HTTP/1.1\r\n\r\n").await.unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).await.unwrap();
        assert!(text.starts_with("HTTP/1.1 404"), "{text}");
    }
}

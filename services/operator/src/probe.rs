//! `GET /healthz` (the process is alive) and `GET /readyz` (the last round with the API server
//! succeeded; leader and standby both count) on plain HTTP/1.1. Hand-written on tokio: two fixed
//! answers do not justify an HTTP server dependency.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The response to one request line, e.g. `GET /readyz HTTP/1.1`.
pub fn respond(request_line: &str, ready: bool) -> &'static str {
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/healthz") => {
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n"
        }
        ("GET", "/readyz") if ready => {
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n"
        }
        ("GET", "/readyz") => {
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 10\r\nconnection: close\r\n\r\nnot ready\n"
        }
        ("GET", _) => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        _ => "HTTP/1.1 405 Method Not Allowed\r\nallow: GET\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    }
}

pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves probes until the task is dropped.
pub async fn serve(listener: TcpListener, ready: watch::Receiver<bool>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        let ready = *ready.borrow();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1024];
            let mut len = 0;
            // Read until the end of the request line (probes send small requests).
            let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                while len < buf.len() {
                    match stream.read(&mut buf[len..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => len += n,
                    }
                    if buf[..len].contains(&b'\n') {
                        break;
                    }
                }
            })
            .await;
            if read.is_err() {
                return;
            }
            let text = String::from_utf8_lossy(&buf[..len]);
            let line = text.lines().next().unwrap_or("");
            let _ = stream.write_all(respond(line, ready).as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert!(respond("GET /healthz HTTP/1.1", false).starts_with("HTTP/1.1 200"));
        assert!(respond("GET /readyz HTTP/1.1", true).starts_with("HTTP/1.1 200"));
        assert!(respond("GET /readyz HTTP/1.1", false).starts_with("HTTP/1.1 503"));
        assert!(respond("GET /metrics HTTP/1.1", true).starts_with("HTTP/1.1 404"));
        assert!(respond("POST /healthz HTTP/1.1", true).starts_with("HTTP/1.1 405"));
    }

    #[tokio::test]
    async fn serves_over_tcp() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        let server = tokio::spawn(serve(listener, rx));
        let get = async |path: &str| {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes()).await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        assert!(get("/healthz").await.starts_with("HTTP/1.1 200"));
        assert!(get("/readyz").await.starts_with("HTTP/1.1 503"));
        tx.send_replace(true);
        assert!(get("/readyz").await.starts_with("HTTP/1.1 200"));
        server.abort();
    }
}

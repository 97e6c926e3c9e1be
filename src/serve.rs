//! `rxpath serve`: a Prometheus exporter that reads the host at each scrape.
//!
//! One `Sampler` lives on its own thread for the life of the server (it keeps kernel files open,
//! and those belong to the thread's network namespace). HTTP runs on a current-thread tokio
//! runtime with hyper: each `GET /metrics` sends a request to the sampling thread over a channel
//! and waits for the encoded body. Scrapes that arrive while a sample is being taken share it —
//! it was taken after they were sent, so nothing older than one scrape is ever served, and nothing
//! is cached between scrapes.
//!
//! Slow or idle clients cannot hold the exporter: the request head must arrive within
//! `HEADER_READ_TIMEOUT`, a connection lives at most `CONNECTION_DEADLINE` (then it finishes the
//! request in flight and closes), and at most `MAX_CONNECTIONS` are open at once (more are closed on
//! accept). SIGTERM and SIGINT stop the server: it stops accepting, lets the requests in flight
//! finish (within `SHUTDOWN_GRACE`), closes idle keep-alive connections, and `run` returns the
//! signal's number.

use crate::render::prometheus::{self, Scrape};
use crate::root::Root;
use crate::sample::Sampler;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Semaphore, oneshot, watch};

/// Where `serve` listens unless told otherwise: loopback only, so exposing the host's counters to
/// the network is a choice (`--listen 0.0.0.0:9417`).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9417";
/// The request line and headers must arrive within this (slowloris clients are cut off).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest a connection lives (keep-alive included); the request in flight then finishes,
/// within `SHUTDOWN_GRACE`, and the connection closes. Prometheus simply reconnects.
pub const CONNECTION_DEADLINE: Duration = Duration::from_secs(5);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Connections open at once; more are closed as soon as they are accepted.
pub const MAX_CONNECTIONS: usize = 64;

/// What a scrape asks of the sampling thread: a place for the encoded body.
type Waiter = oneshot::Sender<Bytes>;

/// One scrape from scratch: a sample, its totals since boot, the drop path, the OpenMetrics text.
/// What every `GET /metrics` costs (the benches and examples time it).
pub fn scrape(sampler: &mut Sampler) -> String {
    scrape_and_sample(sampler).0
}

/// `scrape`, also handing back what the text was made from, for the caller to drop when it
/// likes: freeing a sample's thousands of allocations is a tenth of a millisecond, which the
/// server spends after the answer is on its way rather than before.
fn scrape_and_sample(sampler: &mut Sampler) -> (String, Arc<Scrape>) {
    let started = Instant::now();
    let sample = sampler.take();
    let mut s = Scrape::since_boot(sample);
    s.duration = started.elapsed();
    let s = Arc::new(s);
    (prometheus::encode(&s), s)
}

/// Binds the listening socket (so a taken port is an error before anything starts).
pub fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).map_err(|e| {
        let hint = match e.kind() {
            io::ErrorKind::AddrInUse => {
                "; another exporter (or rxpath serve) listens there: choose another port with \
                 --listen"
            }
            io::ErrorKind::PermissionDenied => "; ports below 1024 need root: choose another",
            io::ErrorKind::AddrNotAvailable => "; no interface of this host has that address",
            _ => "",
        };
        format!("cannot listen on {addr}: {e}{hint}")
    })
}

/// Serves `/metrics` of `root` on `listener` until SIGTERM or SIGINT, whose number it returns.
/// `ready` is called with the bound address once signals are caught and connections are accepted.
pub fn run(
    listener: TcpListener,
    root: Root,
    ready: impl FnOnce(SocketAddr),
) -> Result<i32, String> {
    let addr = listener.local_addr().map_err(|e| format!("the listening socket: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| format!("the listening socket: {e}"))?;
    let (tx, rx) = mpsc::channel::<Waiter>();
    std::thread::Builder::new()
        .name("rxpath-sampler".into())
        .spawn(move || sample_loop(root, &rx))
        .map_err(|e| format!("cannot start the sampling thread: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| format!("the listening socket on {addr}: {e}"))?;
        let caught = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| format!("cannot catch {name}: {e}"))
        };
        let mut term = caught(SignalKind::terminate(), "SIGTERM")?;
        let mut int = caught(SignalKind::interrupt(), "SIGINT")?;
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let (stop, stopping) = watch::channel(false);
        ready(addr);
        let sig = loop {
            tokio::select! {
                _ = term.recv() => break libc::SIGTERM,
                _ = int.recv() => break libc::SIGINT,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        // Over the limit the stream is dropped here: closed at once.
                        if let Ok(slot) = Arc::clone(&slots).try_acquire_owned() {
                            let (tx, stopping) = (tx.clone(), stopping.clone());
                            tokio::spawn(async move {
                                connection(stream, tx, stopping).await;
                                drop(slot);
                            });
                        }
                    }
                    Err(e) => {
                        // Out of file descriptors, usually: let connections finish, then go on.
                        eprintln!("rxpath serve: accept on {addr}: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        };
        // New connections are refused from here; the open ones answer what they were asked.
        drop(listener);
        let _ = stop.send(true);
        let all = u32::try_from(MAX_CONNECTIONS).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await;
        Ok(sig)
    })
}

/// The sampling thread: one sample per batch of waiting scrapes, until the server is gone.
fn sample_loop(root: Root, rx: &mpsc::Receiver<Waiter>) {
    let mut sampler = Sampler::new(root);
    while let Ok(first) = rx.recv() {
        let (text, made_from) = scrape_and_sample(&mut sampler);
        let body = Bytes::from(text);
        // Scrapes that came in while this one was taken share it: it is newer than their request.
        for w in std::iter::once(first).chain(rx.try_iter()) {
            // A client that went away no longer waits; nothing to do.
            let _ = w.send(body.clone());
        }
        drop(made_from);
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    scrapes: mpsc::Sender<Waiter>,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| {
        let scrapes = scrapes.clone();
        async move { Ok::<_, Infallible>(respond(&req, &scrapes).await) }
    });
    let mut http = http1::Builder::new();
    // Without a timer hyper silently ignores the header read timeout.
    http.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT).max_buf_size(16 * 1024);
    let conn = http.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    // At the deadline or when the server stops: the request in flight is answered, an idle
    // keep-alive connection is closed.
    tokio::select! {
        _ = conn.as_mut() => return,
        () = tokio::time::sleep(CONNECTION_DEADLINE) => {}
        _ = stopping.wait_for(|&s| s) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
}

const INDEX: &str = "<!DOCTYPE html>\n<html><head><title>rxpath</title></head><body>\n\
<h1>rxpath</h1>\n<p>Where this host's receive path drops packets, as Prometheus counters since \
boot: <a href=\"/metrics\">/metrics</a>.</p>\n</body></html>\n";

async fn respond(req: &Request<Incoming>, scrapes: &mpsc::Sender<Waiter>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if path != "/" && path != "/metrics" {
        return plain(StatusCode::NOT_FOUND, "not found: the metrics are at /metrics\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD are served\n");
        r.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if path == "/" {
        return response(
            StatusCode::OK,
            "text/html; charset=utf-8",
            Bytes::from_static(INDEX.as_bytes()),
        );
    }
    let (tx, rx) = oneshot::channel();
    let body = match scrapes.send(tx) {
        Ok(()) => rx.await.ok(),
        Err(_) => None,
    };
    match body {
        Some(body) => response(StatusCode::OK, prometheus::CONTENT_TYPE, body),
        None => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the sampling thread stopped (see rxpath's standard error); restart rxpath serve\n",
        ),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    response(status, "text/plain; charset=utf-8", Bytes::from_static(text.as_bytes()))
}

fn response(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    r
}

//! The embedded DNS server of one sandbox (Docker's `127.0.0.11`).
//!
//! netd binds the UDP and TCP sockets inside the sandbox's network namespace
//! and hands them to [`spawn`]; the server never deals with namespaces. What
//! it answers comes from a [`ListenerState`] that netd swaps while it serves.
//!
//! # Answers
//!
//! - Names in the [`Zone`], case-insensitive, with or without trailing dot:
//!   A and AAAA with the addresses of the family asked, rotated on every
//!   query (round robin), TTL [`TTL`] as Docker. A name known only with the
//!   other family, or asked for another type (MX, TXT, …), gets NOERROR with
//!   no answers: the name is ours, so it is never forwarded, and never
//!   NXDOMAIN.
//! - PTR for the `in-addr.arpa` / `ip6.arpa` name of an address in the zone.
//! - Everything else is forwarded (see below), single-label names included:
//!   Docker answers those with an empty NOERROR only because of `ndots`, and
//!   netd writes `options ndots:0`, so a single label reaching us is a name
//!   the client really wants resolved.
//!
//! # Forwarding
//!
//! When [`ListenerState::forward`] is true and there are upstreams: to the
//! first three, in order, over UDP with a timeout of 2 s each (configurable,
//! [`ListenerState::with_upstream_timeout`]), failing over to the next on
//! timeout, network error, SERVFAIL or REFUSED; a truncated UDP answer is
//! asked again over TCP from the same upstream. Queries that came over TCP go
//! upstream over TCP, as Docker does. The client's id is kept. When every
//! upstream failed, or there are none: SERVFAIL. At most
//! [`MAX_IN_FLIGHT_FORWARDS`] UDP queries are forwarded at once (Docker's
//! figure); more are dropped, and the client retries.
//!
//! When `forward` is false (the sandbox is only on `--internal` networks):
//! names not in the zone get **NXDOMAIN** at once, nothing leaves the
//! sandbox. Docker answers SERVFAIL there; glibc and musl treat SERVFAIL
//! (and REFUSED) as "try again", and musl ignores such answers and waits out
//! its whole timeout (5 s × attempts) before failing each lookup, while
//! NXDOMAIN fails it at once. Without an SOA record NXDOMAIN is not cached.
//!
//! # Limits
//!
//! UDP answers bigger than 512 bytes, or than the client's EDNS payload size
//! (at most 4096), are cut to what fits and marked TC, so the client retries
//! over TCP. TCP uses 2-byte length framing, several queries per connection
//! answered in order, an idle timeout of 3 s between queries (and for
//! reading a query or writing an answer), queries of 12 to
//! [`MAX_TCP_QUERY`] bytes (a bigger or smaller length prefix closes the
//! connection), and at most [`MAX_TCP_CONNECTIONS`] connections at once
//! (more are closed at once). Malformed queries get FORMERR, other opcodes
//! NOTIMP, EDNS versions other than 0 BADVERS; packets too short for a
//! header, and responses, are ignored.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use hickory_proto::op::ResponseCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::timeout;

use crate::forward::ForwardJob;
use crate::wire::{self, Reject};
use crate::zone::Zone;

/// TTL of the answers for local names, in seconds (Docker's).
pub const TTL: u32 = wire::TTL;
/// The default time to wait for one upstream before trying the next.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);
/// The default idle timeout of a TCP client connection (aardvark-dns's).
pub const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(3);
/// The most UDP queries being forwarded at once; more are dropped.
pub const MAX_IN_FLIGHT_FORWARDS: usize = 1024;
/// The most TCP client connections at once; more are closed.
pub const MAX_TCP_CONNECTIONS: usize = 64;
/// The longest query accepted over TCP (its length prefix); longer closes
/// the connection. Real queries are a few hundred bytes at most.
pub const MAX_TCP_QUERY: usize = 4096;

/// Everything a listener needs, swappable while it serves: netd replaces the
/// zone and upstreams atomically (ArcSwap) on every change.
#[derive(Debug)]
pub struct ListenerState {
    /// The names this sandbox can see.
    pub zone: ArcSwap<Zone>,
    /// Upstream servers, at most 3 used, in order.
    pub upstreams: ArcSwap<Vec<SocketAddr>>,
    /// false for --internal networks: never forward.
    pub forward: AtomicBool,
    upstream_timeout: Duration,
    tcp_idle_timeout: Duration,
    /// Round-robin position, bumped by every answer with several addresses.
    rotation: AtomicUsize,
}

impl ListenerState {
    /// A state with the default timeouts ([`UPSTREAM_TIMEOUT`],
    /// [`TCP_IDLE_TIMEOUT`]).
    pub fn new(zone: Zone, upstreams: Vec<SocketAddr>, forward: bool) -> Self {
        Self {
            zone: ArcSwap::from_pointee(zone),
            upstreams: ArcSwap::from_pointee(upstreams),
            forward: AtomicBool::new(forward),
            upstream_timeout: UPSTREAM_TIMEOUT,
            tcp_idle_timeout: TCP_IDLE_TIMEOUT,
            rotation: AtomicUsize::new(0),
        }
    }

    /// Sets how long to wait for each upstream (UDP, and again for the TCP
    /// retry of a truncated answer).
    #[must_use]
    pub fn with_upstream_timeout(mut self, timeout: Duration) -> Self {
        self.upstream_timeout = timeout;
        self
    }

    /// Sets the idle timeout of TCP client connections.
    #[must_use]
    pub fn with_tcp_idle_timeout(mut self, timeout: Duration) -> Self {
        self.tcp_idle_timeout = timeout;
        self
    }
}

/// A running server: dropping it (or [`ServerHandle::abort`]) stops the UDP
/// and TCP tasks, the forwards in flight and the TCP connections, and closes
/// the sockets.
#[derive(Debug)]
pub struct ServerHandle {
    tasks: Vec<JoinHandle<()>>,
}

impl ServerHandle {
    /// Stops serving (as dropping the handle does).
    pub fn abort(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }

    /// True when the server is no longer serving (aborted, or it could not
    /// start: see [`spawn`]).
    pub fn is_finished(&self) -> bool {
        self.tasks.iter().all(JoinHandle::is_finished)
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.abort();
    }
}

/// Serves DNS on the given sockets until the returned handle is dropped/aborted (both tasks stop).
///
/// Must be called within a tokio runtime; the sockets are std sockets already
/// bound (netd binds them inside the sandbox) and are made non-blocking here.
/// Should that fail (it does not in practice), the error is logged and the
/// handle reports [`ServerHandle::is_finished`]; [`try_spawn`] returns it.
///
/// The forwarding sockets are created later by the server's tasks, on the
/// runtime's threads: in netd's (host) network namespace.
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn spawn(
    udp: std::net::UdpSocket,
    tcp: std::net::TcpListener,
    state: Arc<ListenerState>,
) -> ServerHandle {
    match try_spawn(udp, tcp, state) {
        Ok(handle) => handle,
        Err(e) => {
            tracing::error!(error = %e, "cannot serve DNS on the sandbox's sockets");
            ServerHandle { tasks: Vec::new() }
        }
    }
}

/// [`spawn`], with the error when the sockets cannot be handed to tokio.
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn try_spawn(
    udp: std::net::UdpSocket,
    tcp: std::net::TcpListener,
    state: Arc<ListenerState>,
) -> io::Result<ServerHandle> {
    udp.set_nonblocking(true)?;
    tcp.set_nonblocking(true)?;
    let udp = Arc::new(UdpSocket::from_std(udp)?);
    let tcp = TcpListener::from_std(tcp)?;
    let tasks = vec![
        tokio::spawn(serve_udp(udp, Arc::clone(&state))),
        tokio::spawn(serve_tcp(tcp, state)),
    ];
    Ok(ServerHandle { tasks })
}

/// What to do with one message.
enum Action {
    /// Send what is in the output buffer.
    Reply,
    /// Ask the upstreams.
    Forward(ForwardJob),
    /// Say nothing.
    Drop,
}

/// Handles one message synchronously: a local answer or error into `out`,
/// or the forward to start. `tcp`: the client came over TCP (no size limit).
fn handle(state: &ListenerState, msg: &[u8], tcp: bool, out: &mut Vec<u8>) -> Action {
    let req = match wire::parse(msg) {
        Ok(req) => req,
        Err(Reject::Drop) => return Action::Drop,
        Err(Reject::Error(e)) => {
            wire::error_reply(&e, out);
            return Action::Reply;
        }
    };
    let limit = if tcp {
        usize::from(u16::MAX)
    } else {
        req.udp_limit
    };
    if wire::answer_local(&state.zone.load(), &req, msg, limit, &state.rotation, out) {
        return Action::Reply;
    }
    let rcode = if !state.forward.load(Ordering::Relaxed) {
        ResponseCode::NXDomain
    } else if state.upstreams.load().is_empty() {
        ResponseCode::ServFail
    } else {
        return Action::Forward(ForwardJob::new(req, msg, limit));
    };
    wire::error_reply(&req.error(rcode), out);
    Action::Reply
}

/// Answers one raw request the way a listener would, for the fuzz targets:
/// the reply's bytes, or `None` when the listener would stay silent or
/// forward the question.
#[cfg(feature = "fuzzing")]
pub fn answer_for_fuzzing(state: &ListenerState, msg: &[u8], tcp: bool) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match handle(state, msg, tcp, &mut out) {
        Action::Reply => Some(out),
        Action::Forward(_) | Action::Drop => None,
    }
}

/// Receive and answer buffers for one batch. They live per thread, not per
/// listener: a listener only uses them between a readiness event and the
/// end of the batch, without awaiting, so a thousand idle listeners cost no
/// buffers at all (a per-listener set was ~90 KB each).
struct Scratch {
    batch: crate::batch::Batch,
    outs: Vec<Vec<u8>>,
}

impl Scratch {
    fn new() -> Self {
        Self {
            batch: crate::batch::Batch::new(),
            outs: (0..crate::batch::BATCH)
                .map(|_| Vec::with_capacity(usize::from(wire::MAX_UDP)))
                .collect(),
        }
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::new());
}

/// The UDP loop: local answers inline, forwards in tasks. Queries are read
/// and answered in batches (`recvmmsg`/`sendmmsg`), so a busy listener pays
/// two system calls per batch rather than per query.
async fn serve_udp(sock: Arc<UdpSocket>, state: Arc<ListenerState>) {
    // Dropped with this task, which aborts the forwards still running.
    let mut forwards = JoinSet::new();
    loop {
        if let Err(e) = sock.readable().await {
            tracing::debug!(error = %e, "DNS UDP socket failed");
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        let outcome = SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            udp_batch(&sock, &state, &mut scratch, &mut forwards)
        });
        match outcome {
            Ok(unsent) => {
                // What the kernel did not take at once goes one by one, waiting.
                for (peer, data) in unsent {
                    if let Err(e) = sock.send_to(&data, peer).await {
                        tracing::debug!(error = %e, %peer, "DNS UDP send failed");
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                tracing::debug!(error = %e, "DNS UDP receive failed");
                // Do not spin on an error that persists.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

/// Receives one batch, answers it and sends the answers, without awaiting.
/// Returns the answers the kernel did not take (copied out of the scratch
/// buffers, for the caller to send while waiting).
fn udp_batch(
    sock: &Arc<UdpSocket>,
    state: &Arc<ListenerState>,
    scratch: &mut Scratch,
    forwards: &mut JoinSet<()>,
) -> io::Result<Vec<(SocketAddr, Vec<u8>)>> {
    use std::os::fd::AsRawFd;
    let fd = sock.as_raw_fd();
    let Scratch { batch, outs } = scratch;
    let n = sock.try_io(tokio::io::Interest::READABLE, || batch.recv(fd))?;
    let mut ready: Vec<usize> = Vec::with_capacity(n);
    for (i, out) in outs.iter_mut().enumerate().take(n) {
        match handle(state, batch.data(i), false, out) {
            Action::Reply => ready.push(i),
            Action::Forward(job) => {
                let Some(peer) = batch.peer(i) else { continue };
                spawn_forward(sock, state, job, peer, forwards);
            }
            Action::Drop => {}
        }
    }
    let replies: Vec<(usize, &[u8])> = ready.iter().map(|i| (*i, outs[*i].as_slice())).collect();
    let sent = sock
        .try_io(tokio::io::Interest::WRITABLE, || batch.send(fd, &replies))
        .unwrap_or(0);
    Ok(replies
        .iter()
        .skip(sent)
        .filter_map(|(i, data)| Some((batch.peer(*i)?, data.to_vec())))
        .collect())
}

/// Forwards one UDP query in a task of its own, within the in-flight bound.
fn spawn_forward(
    sock: &Arc<UdpSocket>,
    state: &Arc<ListenerState>,
    job: ForwardJob,
    peer: SocketAddr,
    forwards: &mut JoinSet<()>,
) {
    while forwards.try_join_next().is_some() {}
    if forwards.len() >= MAX_IN_FLIGHT_FORWARDS {
        tracing::debug!(%peer, "too many DNS queries in flight, dropping one");
        return;
    }
    let (sock, state) = (Arc::clone(sock), Arc::clone(state));
    forwards.spawn(async move {
        let upstreams = state.upstreams.load_full();
        let reply = job.run(&upstreams, state.upstream_timeout, false).await;
        if let Err(e) = sock.send_to(&reply, peer).await {
            tracing::debug!(error = %e, %peer, "DNS UDP send failed");
        }
    });
}

/// The TCP accept loop.
async fn serve_tcp(listener: TcpListener, state: Arc<ListenerState>) {
    // Dropped with this task, which closes the connections.
    let mut connections = JoinSet::new();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(got) => got,
            Err(e) => {
                // Out of file descriptors, most likely: let some close.
                tracing::debug!(error = %e, "DNS TCP accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        if connections.len() >= MAX_TCP_CONNECTIONS {
            tracing::debug!("too many DNS TCP connections, closing one");
            drop(stream);
            continue;
        }
        connections.spawn(serve_connection(stream, Arc::clone(&state)));
    }
}

/// One TCP client: length-prefixed queries, answered in order, until it
/// closes, idles, or sends something that is not a query.
async fn serve_connection(mut stream: TcpStream, state: Arc<ListenerState>) {
    let idle = state.tcp_idle_timeout;
    if stream.set_nodelay(true).is_err() {
        return;
    }
    let mut buf = vec![0u8; MAX_TCP_QUERY];
    let mut out = Vec::new();
    let mut framed = Vec::new();
    loop {
        let len = match timeout(idle, stream.read_u16()).await {
            Ok(Ok(len)) => usize::from(len),
            _ => return,
        };
        if !(wire::HEADER_LEN..=MAX_TCP_QUERY).contains(&len) {
            return;
        }
        let Some(msg) = buf.get_mut(..len) else {
            return;
        };
        if !matches!(timeout(idle, stream.read_exact(msg)).await, Ok(Ok(_))) {
            return;
        }
        let reply = match handle(&state, msg, true, &mut out) {
            Action::Reply => &out,
            Action::Forward(job) => {
                let upstreams = state.upstreams.load_full();
                out = job.run(&upstreams, state.upstream_timeout, true).await;
                &out
            }
            Action::Drop => return,
        };
        let Ok(reply_len) = u16::try_from(reply.len()) else {
            return;
        };
        framed.clear();
        framed.extend_from_slice(&reply_len.to_be_bytes());
        framed.extend_from_slice(reply);
        if !matches!(timeout(idle, stream.write_all(&framed)).await, Ok(Ok(()))) {
            return;
        }
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;

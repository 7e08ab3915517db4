//! Forwarding the queries the zone cannot answer to the upstream servers.
//!
//! One query at a time per upstream, in order, at most [`MAX_UPSTREAMS`]:
//! UDP with a timeout per upstream, failing over on timeout, network error,
//! SERVFAIL or REFUSED; a truncated UDP answer is asked again over TCP from
//! the same upstream. Every attempt uses a fresh socket (random source port)
//! and a fresh random message id, and an answer is accepted only from the
//! upstream's address, with that id and the same question, so a spoofed
//! answer has to guess both. The client's id and question case are put back
//! before the answer is relayed.
//!
//! The sockets are created by the task that runs the forward, that is on a
//! runtime thread of netd, in the host's network namespace: a host resolver
//! on 127.0.0.53 is reachable, as in Docker 28.

use std::hash::{BuildHasher, RandomState};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

use crate::wire::{self, HEADER_LEN, MAX_UDP, Request, TC};

/// At most this many upstreams are tried for one query, as Docker.
pub(crate) const MAX_UPSTREAMS: usize = 3;

/// A query on its way upstream.
#[derive(Debug)]
pub(crate) struct ForwardJob {
    /// The client's message; its id is replaced for each attempt.
    query: Vec<u8>,
    req: Request,
    /// The largest reply the client takes.
    limit: usize,
}

impl ForwardJob {
    pub(crate) fn new(req: Request, msg: &[u8], limit: usize) -> Self {
        Self {
            query: msg.to_vec(),
            req,
            limit,
        }
    }

    /// Forwards the query and returns the reply for the client: the first
    /// good upstream answer, else SERVFAIL. `tcp`: the client came over TCP,
    /// so the upstreams are asked over TCP too (as Docker does).
    pub(crate) async fn run(
        mut self,
        upstreams: &[SocketAddr],
        wait: Duration,
        tcp: bool,
    ) -> Vec<u8> {
        // Ask upstreams for no more than we can receive.
        if let Some(at) = self.req.opt_size_at
            && let Some(size) = self.query.get_mut(at..at + 2)
        {
            let asked = u16::from_be_bytes([size[0], size[1]]);
            size.copy_from_slice(&asked.min(MAX_UDP).to_be_bytes());
        }
        let question_end = self.req.question_end;
        let mut fallback = None;
        for &upstream in upstreams.iter().take(MAX_UPSTREAMS) {
            let id = random_id();
            if let Some(slot) = self.query.get_mut(..2) {
                slot.copy_from_slice(&id.to_be_bytes());
            }
            let result = if tcp {
                tcp_exchange(upstream, &self.query, question_end, wait).await
            } else {
                match udp_exchange(upstream, &self.query, question_end, wait).await {
                    Ok(resp) if resp.get(2).is_some_and(|f| f & TC != 0) => {
                        match tcp_exchange(upstream, &self.query, question_end, wait).await {
                            Ok(full) => Ok(full),
                            Err(e) => {
                                // Better than nothing if no other upstream answers:
                                // the client will retry over TCP itself.
                                fallback = Some(resp);
                                Err(e)
                            }
                        }
                    }
                    other => other,
                }
            };
            match result {
                Ok(resp) => {
                    let rcode = resp.get(3).map_or(0, |b| b & 0x0F);
                    if rcode == ResponseCode::ServFail.low() || rcode == ResponseCode::Refused.low()
                    {
                        tracing::debug!(%upstream, rcode, "upstream failed the query, trying the next");
                        continue;
                    }
                    return self.finish(resp);
                }
                Err(e) => {
                    tracing::debug!(%upstream, error = %e, "upstream did not answer, trying the next")
                }
            }
        }
        match fallback {
            Some(resp) => self.finish(resp),
            None => {
                let mut out = Vec::new();
                wire::error_reply(&self.req.error(ResponseCode::ServFail), &mut out);
                out
            }
        }
    }

    /// The upstream answer as the client must see it: its id, its question
    /// (case included), and no bigger than it takes (else header, question and
    /// TC, so that it retries over TCP).
    fn finish(&self, mut resp: Vec<u8>) -> Vec<u8> {
        if let Some(id) = resp.get_mut(..2) {
            id.copy_from_slice(&self.req.id.to_be_bytes());
        }
        let question_end = self.req.question_end;
        if resp.get(4..6) == Some(&[0, 1])
            && let (Some(dst), Some(src)) = (
                resp.get_mut(HEADER_LEN..question_end),
                self.query.get(HEADER_LEN..question_end),
            )
        {
            dst.copy_from_slice(src);
        }
        if resp.len() > self.limit {
            truncate_reply(&mut resp, question_end, self.req.edns());
        }
        resp
    }
}

/// Cuts an accepted answer (one question, ending at `question_end`) down to
/// header and question with TC set, plus our OPT record when the client
/// used EDNS.
fn truncate_reply(resp: &mut Vec<u8>, question_end: usize, edns: bool) {
    resp.truncate(question_end);
    if let Some(flags) = resp.get_mut(2) {
        *flags |= TC;
    }
    if let Some(counts) = resp.get_mut(4..HEADER_LEN) {
        counts.copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, u8::from(edns)]);
    }
    if edns {
        wire::push_opt(resp);
    }
}

/// A random message id (the OS's randomness; a hash of a fresh
/// `RandomState` should that ever fail).
fn random_id() -> u16 {
    let mut b = [0u8; 2];
    if getrandom::fill(&mut b).is_err() {
        let h = RandomState::new()
            .hash_one(std::time::Instant::now())
            .to_ne_bytes();
        b = [h[0], h[1]];
    }
    u16::from_ne_bytes(b)
}

/// True when `resp` answers `query` (same id and question; a response).
/// Answers without a question (some error replies) are taken on the id.
fn answers(resp: &[u8], query: &[u8], question_end: usize) -> bool {
    let (Some(rh), Some(qh)) = (resp.get(..HEADER_LEN), query.get(..HEADER_LEN)) else {
        return false;
    };
    if rh[..2] != qh[..2] || rh[2] & 0x80 == 0 {
        return false;
    }
    match [rh[4], rh[5]] {
        [0, 0] => true,
        [0, 1] => match (
            resp.get(HEADER_LEN..question_end),
            query.get(HEADER_LEN..question_end),
        ) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        },
        _ => false,
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "no answer in time")
}

/// One UDP query to `upstream`, within `wait`.
async fn udp_exchange(
    upstream: SocketAddr,
    query: &[u8],
    question_end: usize,
    wait: Duration,
) -> io::Result<Vec<u8>> {
    let local: SocketAddr = if upstream.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let exchange = async {
        let sock = UdpSocket::bind(local).await?;
        sock.connect(upstream).await?;
        sock.send(query).await?;
        // One byte more than we ask for tells an oversized answer.
        let mut buf = vec![0u8; usize::from(MAX_UDP) + 1];
        loop {
            let n = sock.recv(&mut buf).await?;
            let Some(resp) = buf.get(..n) else { continue };
            if !answers(resp, query, question_end) {
                continue;
            }
            buf.truncate(n);
            if n > usize::from(MAX_UDP) && buf.get(4..6) == Some(&[0, 1]) {
                // Cut by our buffer: keep the question, ask again over TCP.
                truncate_reply(&mut buf, question_end, false);
            }
            return Ok(buf);
        }
    };
    timeout(wait, exchange).await.map_err(|_| timed_out())?
}

/// One TCP query to `upstream`, within `wait`.
async fn tcp_exchange(
    upstream: SocketAddr,
    query: &[u8],
    question_end: usize,
    wait: Duration,
) -> io::Result<Vec<u8>> {
    let len =
        u16::try_from(query.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let exchange = async {
        let mut stream = TcpStream::connect(upstream).await?;
        stream.set_nodelay(true)?;
        let mut framed = Vec::with_capacity(query.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(query);
        stream.write_all(&framed).await?;
        let n = usize::from(stream.read_u16().await?);
        let mut resp = vec![0u8; n];
        stream.read_exact(&mut resp).await?;
        if answers(&resp, query, question_end) {
            Ok(resp)
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "answer does not match the query",
            ))
        }
    };
    timeout(wait, exchange).await.map_err(|_| timed_out())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_matching() {
        let mut query = vec![0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        query.extend_from_slice(b"\x03Web\x00\x00\x01\x00\x01");
        let end = query.len();
        let mut resp = query.clone();
        resp[2] |= 0x80;
        resp[12..end].copy_from_slice(b"\x03wEB\x00\x00\x01\x00\x01");
        assert!(answers(&resp, &query, end));
        resp[1] ^= 1;
        assert!(!answers(&resp, &query, end));
        resp[1] ^= 1;
        resp[15] = b'x';
        assert!(!answers(&resp, &query, end));
        assert!(answers(
            &[0x12, 0x34, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0],
            &query,
            end
        ));
        assert!(!answers(&query, &query, end));
        assert!(!answers(&[0x12, 0x34], &query, end));
    }

    #[test]
    fn truncation_keeps_header_and_question() {
        let mut resp = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 1];
        resp.extend_from_slice(b"\x03web\x00\x00\x01\x00\x01");
        let end = resp.len();
        resp.extend_from_slice(&[0xAB; 100]);
        truncate_reply(&mut resp, end, true);
        assert_eq!(resp.len(), end + 11);
        assert_eq!(resp[2] & TC, TC);
        assert_eq!(&resp[4..12], &[0, 1, 0, 0, 0, 0, 0, 1]);
    }
}

//! Server tests on 127.0.0.1 with ephemeral ports, against fake upstreams.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::AtomicUsize;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::*;

const WAIT: Duration = Duration::from_secs(5);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn query_with(name: &str, t: RecordType, id: u16, edns: Option<u16>) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
    if let Some(size) = edns {
        let mut e = Edns::new();
        e.set_max_payload(size);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

fn query(name: &str, t: RecordType) -> Vec<u8> {
    query_with(name, t, 0x4242, None)
}

fn zone() -> Zone {
    let mut z = Zone::new();
    z.add("web.mynet", ip("10.0.0.2"));
    z.add("web", ip("10.0.0.2"));
    z.add_reverse(ip("10.0.0.2"), "web.mynet");
    z.add("db", ip("fd00::3"));
    z.add_reverse(ip("fd00::3"), "db.mynet.");
    for i in 1..=3 {
        z.add("pool", IpAddr::V4(Ipv4Addr::new(10, 0, 1, i)));
    }
    for i in 1..=40 {
        z.add("many", IpAddr::V4(Ipv4Addr::new(10, 0, 2, i)));
    }
    z
}

struct Server {
    handle: ServerHandle,
    udp: SocketAddr,
    tcp: SocketAddr,
    state: Arc<ListenerState>,
}

fn start(state: ListenerState) -> Server {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (udp_addr, tcp_addr) = (udp.local_addr().unwrap(), tcp.local_addr().unwrap());
    let state = Arc::new(state);
    let handle = spawn(udp, tcp, Arc::clone(&state));
    assert!(!handle.is_finished());
    Server {
        handle,
        udp: udp_addr,
        tcp: tcp_addr,
        state,
    }
}

/// A server with the test zone, forwarding to `upstreams` with a short timeout.
fn start_with(upstreams: Vec<SocketAddr>, forward: bool) -> Server {
    start(
        ListenerState::new(zone(), upstreams, forward)
            .with_upstream_timeout(Duration::from_millis(200)),
    )
}

async fn ask_udp_raw(server: SocketAddr, msg: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(msg, server).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, _) = timeout(wait, sock.recv_from(&mut buf)).await.ok()?.unwrap();
    buf.truncate(n);
    Some(buf)
}

async fn ask_udp(server: SocketAddr, msg: &[u8]) -> Message {
    let raw = ask_udp_raw(server, msg, WAIT).await.expect("an answer");
    Message::from_vec(&raw).unwrap()
}

async fn ask_tcp(stream: &mut TcpStream, msg: &[u8]) -> Message {
    let mut framed = (u16::try_from(msg.len()).unwrap()).to_be_bytes().to_vec();
    framed.extend_from_slice(msg);
    stream.write_all(&framed).await.unwrap();
    read_tcp(stream).await
}

async fn read_tcp(stream: &mut TcpStream) -> Message {
    let len = timeout(WAIT, stream.read_u16()).await.unwrap().unwrap();
    let mut buf = vec![0u8; usize::from(len)];
    timeout(WAIT, stream.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    Message::from_vec(&buf).unwrap()
}

/// True when the server closes `stream` (EOF or reset) within `wait`.
async fn closed(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        timeout(wait, stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

fn addrs(m: &Message) -> Vec<IpAddr> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Behaviour {
    Answer(Ipv4Addr),
    ServFail,
    Silent,
    /// TC over UDP, the answer over TCP.
    TruncateUdp(Ipv4Addr),
}

/// A fake upstream on 127.0.0.1, UDP and TCP on the same port, counting
/// the queries it gets.
struct Upstream {
    addr: SocketAddr,
    udp_hits: Arc<AtomicUsize>,
    tcp_hits: Arc<AtomicUsize>,
}

fn upstream_reply(query: &[u8], behaviour: Behaviour, tcp: bool) -> Option<Vec<u8>> {
    let req = Message::from_vec(query).ok()?;
    let mut resp = Message::response(req.metadata.id, OpCode::Query);
    resp.metadata.recursion_desired = req.metadata.recursion_desired;
    resp.metadata.recursion_available = true;
    // Answer with a lowercased question, as some servers do: the client's
    // case must come back anyway.
    let q = req.queries.first()?.clone();
    let name = q.name().to_lowercase();
    resp.add_query(Query::query(name.clone(), q.query_type()));
    let answer = |resp: &mut Message, a: Ipv4Addr| {
        resp.add_answer(Record::from_rdata(name.clone(), 60, RData::A(A(a))));
    };
    match behaviour {
        Behaviour::Answer(a) => answer(&mut resp, a),
        Behaviour::ServFail => resp.metadata.response_code = ResponseCode::ServFail,
        Behaviour::Silent => return None,
        Behaviour::TruncateUdp(_) if !tcp => resp.metadata.truncation = true,
        Behaviour::TruncateUdp(a) => answer(&mut resp, a),
    }
    resp.to_vec().ok()
}

async fn upstream(behaviour: Behaviour) -> Upstream {
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
            break (udp, tcp);
        }
    };
    let addr = udp.local_addr().unwrap();
    let (udp_hits, tcp_hits) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let hits = Arc::clone(&udp_hits);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let (n, peer) = udp.recv_from(&mut buf).await.unwrap();
            hits.fetch_add(1, Ordering::SeqCst);
            if let Some(reply) = upstream_reply(&buf[..n], behaviour, false) {
                udp.send_to(&reply, peer).await.unwrap();
            }
        }
    });
    let hits = Arc::clone(&tcp_hits);
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = tcp.accept().await.unwrap();
            let hits = Arc::clone(&hits);
            tokio::spawn(async move {
                while let Ok(len) = stream.read_u16().await {
                    let mut buf = vec![0u8; usize::from(len)];
                    if stream.read_exact(&mut buf).await.is_err() {
                        return;
                    }
                    hits.fetch_add(1, Ordering::SeqCst);
                    if let Some(reply) = upstream_reply(&buf, behaviour, true) {
                        let mut framed = u16::try_from(reply.len()).unwrap().to_be_bytes().to_vec();
                        framed.extend_from_slice(&reply);
                        if stream.write_all(&framed).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    Upstream {
        addr,
        udp_hits,
        tcp_hits,
    }
}

impl Upstream {
    fn udp(&self) -> usize {
        self.udp_hits.load(Ordering::SeqCst)
    }
    fn tcp(&self) -> usize {
        self.tcp_hits.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn answers_a_aaaa_ptr_for_zone_names() {
    let up = upstream(Behaviour::Answer(Ipv4Addr::new(9, 9, 9, 9))).await;
    let s = start_with(vec![up.addr], true);

    for name in ["web.mynet.", "WEB.MyNet.", "web.mynet", "Web"] {
        let r = ask_udp(s.udp, &query(name, RecordType::A)).await;
        assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{name}");
        assert_eq!(r.metadata.id, 0x4242);
        assert!(r.metadata.authoritative);
        assert_eq!(addrs(&r), vec![ip("10.0.0.2")], "{name}");
        assert_eq!(r.answers[0].ttl, 600);
        // The question comes back as asked.
        assert_eq!(
            r.queries[0].name().to_ascii().trim_end_matches('.'),
            name.trim_end_matches('.')
        );
    }
    let r = ask_udp(s.udp, &query("DB", RecordType::AAAA)).await;
    assert_eq!(addrs(&r), vec![ip("fd00::3")]);

    let r = ask_udp(s.udp, &query("2.0.0.10.in-addr.arpa.", RecordType::PTR)).await;
    assert_eq!(r.answers.len(), 1);
    assert_eq!(r.answers[0].data.to_string(), "web.mynet.");
    let v6_arpa = "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.D.F.IP6.ARPA.";
    let r = ask_udp(s.udp, &query(v6_arpa, RecordType::PTR)).await;
    assert_eq!(r.answers[0].data.to_string(), "db.mynet.");

    // With EDNS the answer carries an OPT record.
    let r = ask_udp(s.udp, &query_with("web", RecordType::A, 7, Some(1232))).await;
    assert!(r.edns.is_some());
    assert_eq!(addrs(&r), vec![ip("10.0.0.2")]);

    assert_eq!(up.udp(), 0, "local names never go upstream");
}

#[tokio::test]
async fn other_family_and_other_types_are_noerror_empty() {
    let up = upstream(Behaviour::Answer(Ipv4Addr::new(9, 9, 9, 9))).await;
    let s = start_with(vec![up.addr], true);
    for (name, t) in [
        ("web", RecordType::AAAA),
        ("db", RecordType::A),
        ("web", RecordType::MX),
        ("db", RecordType::TXT),
    ] {
        let r = ask_udp(s.udp, &query(name, t)).await;
        assert_eq!(
            r.metadata.response_code,
            ResponseCode::NoError,
            "{name} {t}"
        );
        assert!(r.answers.is_empty(), "{name} {t}");
    }
    assert_eq!(up.udp(), 0);
}

#[tokio::test]
async fn round_robin_rotates() {
    let s = start_with(vec![], false);
    let mut orders = Vec::new();
    for _ in 0..3 {
        let r = ask_udp(s.udp, &query("pool", RecordType::A)).await;
        let got = addrs(&r);
        assert_eq!(got.len(), 3);
        orders.push(got);
    }
    assert_ne!(orders[0][0], orders[1][0]);
    assert_ne!(orders[1][0], orders[2][0]);
    assert_ne!(orders[0][0], orders[2][0]);
    // Each order is a rotation of the zone's.
    let base = zone().lookup("pool").unwrap().to_vec();
    for order in orders {
        let k = base.iter().position(|a| *a == order[0]).unwrap();
        let mut rotated = base.clone();
        rotated.rotate_left(k);
        assert_eq!(order, rotated);
    }
}

#[tokio::test]
async fn zone_swap_is_visible_to_the_next_query() {
    let s = start_with(vec![], false);
    let r = ask_udp(s.udp, &query("newbie", RecordType::A)).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    let mut z = zone();
    z.add("newbie", ip("10.0.0.9"));
    s.state.zone.store(Arc::new(z));
    let r = ask_udp(s.udp, &query("newbie", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("10.0.0.9")]);
    s.state.zone.store(Arc::new(Zone::new()));
    let r = ask_udp(s.udp, &query("web", RecordType::A)).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
}

#[tokio::test]
async fn forwards_unknown_names_keeping_id_and_case() {
    let up = upstream(Behaviour::Answer(Ipv4Addr::new(1, 2, 3, 4))).await;
    let s = start_with(vec![up.addr], true);
    let r = ask_udp(
        s.udp,
        &query_with("ExAmple.COM.", RecordType::A, 0xBEEF, None),
    )
    .await;
    assert_eq!(r.metadata.id, 0xBEEF);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(r.queries[0].name().to_ascii(), "ExAmple.COM.");
    assert_eq!(addrs(&r), vec![ip("1.2.3.4")]);
    // Single-label names are forwarded too (the sandbox has ndots:0).
    let r = ask_udp(s.udp, &query("intranet", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("1.2.3.4")]);
    // So are PTRs of unknown addresses.
    let r = ask_udp(s.udp, &query("9.9.9.10.in-addr.arpa.", RecordType::PTR)).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(up.udp(), 3);
    assert_eq!(up.tcp(), 0);
}

#[tokio::test]
async fn fails_over_from_a_dead_upstream() {
    let dead = upstream(Behaviour::Silent).await;
    let good = upstream(Behaviour::Answer(Ipv4Addr::new(1, 2, 3, 4))).await;
    let s = start_with(vec![dead.addr, good.addr], true);
    let r = ask_udp(s.udp, &query("example.com", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("1.2.3.4")]);
    assert_eq!((dead.udp(), good.udp()), (1, 1));
}

#[tokio::test]
async fn fails_over_from_a_servfail_upstream() {
    let bad = upstream(Behaviour::ServFail).await;
    let good = upstream(Behaviour::Answer(Ipv4Addr::new(1, 2, 3, 4))).await;
    let s = start_with(vec![bad.addr, good.addr], true);
    let r = ask_udp(s.udp, &query("example.com", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("1.2.3.4")]);
    assert_eq!((bad.udp(), good.udp()), (1, 1));
}

#[tokio::test]
async fn servfail_when_every_upstream_fails_and_only_three_are_tried() {
    let bad = upstream(Behaviour::ServFail).await;
    let dead = upstream(Behaviour::Silent).await;
    let dead2 = upstream(Behaviour::Silent).await;
    let good = upstream(Behaviour::Answer(Ipv4Addr::new(1, 2, 3, 4))).await;
    let s = start_with(vec![bad.addr, dead.addr, dead2.addr, good.addr], true);
    let r = ask_udp(
        s.udp,
        &query_with("example.com", RecordType::A, 77, Some(1232)),
    )
    .await;
    assert_eq!(r.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(r.metadata.id, 77);
    assert_eq!(r.queries.len(), 1);
    assert!(r.edns.is_some());
    assert_eq!(
        (bad.udp(), dead.udp(), dead2.udp(), good.udp()),
        (1, 1, 1, 0)
    );

    // No upstream at all: SERVFAIL too.
    s.state.upstreams.store(Arc::new(Vec::new()));
    let r = ask_udp(s.udp, &query("example.com", RecordType::A)).await;
    assert_eq!(r.metadata.response_code, ResponseCode::ServFail);
}

#[tokio::test]
async fn truncated_upstream_answer_is_retried_over_tcp() {
    let up = upstream(Behaviour::TruncateUdp(Ipv4Addr::new(5, 6, 7, 8))).await;
    let s = start_with(vec![up.addr], true);
    let r = ask_udp(s.udp, &query("big.example.com", RecordType::A)).await;
    assert!(!r.metadata.truncation);
    assert_eq!(addrs(&r), vec![ip("5.6.7.8")]);
    assert_eq!((up.udp(), up.tcp()), (1, 1));
}

#[tokio::test]
async fn tcp_clients_are_forwarded_over_tcp() {
    let up = upstream(Behaviour::Answer(Ipv4Addr::new(1, 2, 3, 4))).await;
    let s = start_with(vec![up.addr], true);
    let mut stream = TcpStream::connect(s.tcp).await.unwrap();
    let r = ask_tcp(
        &mut stream,
        &query_with("example.com", RecordType::A, 9, None),
    )
    .await;
    assert_eq!(r.metadata.id, 9);
    assert_eq!(addrs(&r), vec![ip("1.2.3.4")]);
    assert_eq!((up.udp(), up.tcp()), (0, 1));
}

#[tokio::test]
async fn no_forwarding_never_contacts_upstreams() {
    let up = upstream(Behaviour::Answer(Ipv4Addr::new(1, 2, 3, 4))).await;
    let s = start_with(vec![up.addr], false);
    let r = ask_udp(s.udp, &query("example.com", RecordType::A)).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    let mut stream = TcpStream::connect(s.tcp).await.unwrap();
    let r = ask_tcp(&mut stream, &query("example.com", RecordType::AAAA)).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    let r = ask_udp(s.udp, &query("web", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("10.0.0.2")]);
    // Switching forwarding on takes effect at once.
    s.state.forward.store(true, Ordering::Relaxed);
    let r = ask_udp(s.udp, &query("example.com", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("1.2.3.4")]);
    assert_eq!(up.udp(), 1);
}

#[tokio::test]
async fn big_udp_answers_are_truncated_and_complete_over_tcp() {
    let s = start_with(vec![], false);
    let raw = ask_udp_raw(s.udp, &query("many", RecordType::A), WAIT)
        .await
        .unwrap();
    assert!(raw.len() <= 512);
    let r = Message::from_vec(&raw).unwrap();
    assert!(r.metadata.truncation);
    assert!(addrs(&r).len() < 40);

    // A bigger EDNS size takes them all.
    let r = ask_udp(s.udp, &query_with("many", RecordType::A, 1, Some(4096))).await;
    assert!(!r.metadata.truncation);
    assert_eq!(addrs(&r).len(), 40);

    let mut stream = TcpStream::connect(s.tcp).await.unwrap();
    let r = ask_tcp(&mut stream, &query("many", RecordType::A)).await;
    assert!(!r.metadata.truncation);
    assert_eq!(addrs(&r).len(), 40);
}

#[tokio::test]
async fn tcp_serves_several_queries_per_connection() {
    let s = start_with(vec![], false);
    let mut stream = TcpStream::connect(s.tcp).await.unwrap();
    // Two queries in one write: answered in order.
    let mut both = Vec::new();
    for (id, name, t) in [(1u16, "web", RecordType::A), (2, "db", RecordType::AAAA)] {
        let q = query_with(name, t, id, None);
        both.extend_from_slice(&u16::try_from(q.len()).unwrap().to_be_bytes());
        both.extend_from_slice(&q);
    }
    stream.write_all(&both).await.unwrap();
    let first = read_tcp(&mut stream).await;
    let second = read_tcp(&mut stream).await;
    assert_eq!(
        (first.metadata.id, addrs(&first)),
        (1, vec![ip("10.0.0.2")])
    );
    assert_eq!(
        (second.metadata.id, addrs(&second)),
        (
            2,
            vec![IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 3))]
        )
    );
    // And a third one later on the same connection.
    let third = ask_tcp(&mut stream, &query_with("web", RecordType::A, 3, None)).await;
    assert_eq!(third.metadata.id, 3);
}

#[tokio::test]
async fn oversized_tcp_length_closes_the_connection() {
    let s = start_with(vec![], false);
    let mut stream = TcpStream::connect(s.tcp).await.unwrap();
    stream.write_all(&[0xFF, 0xFF, 1, 2, 3]).await.unwrap();
    assert!(closed(&mut stream, Duration::from_secs(1)).await);
    // A length too short for a header too.
    let mut stream = TcpStream::connect(s.tcp).await.unwrap();
    stream.write_all(&[0, 3, 1, 2, 3]).await.unwrap();
    assert!(closed(&mut stream, Duration::from_secs(1)).await);
    // A stalled client that announced a big (but allowed) query does not
    // hold up anyone else.
    let mut stalled = TcpStream::connect(s.tcp).await.unwrap();
    stalled.write_all(&[0x10, 0x00, 0, 0]).await.unwrap();
    let r = ask_udp(s.udp, &query("web", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("10.0.0.2")]);
    let mut stream = TcpStream::connect(s.tcp).await.unwrap();
    let r = ask_tcp(&mut stream, &query("web", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("10.0.0.2")]);
}

#[tokio::test]
async fn tcp_idle_connections_are_closed() {
    let s = start(
        ListenerState::new(zone(), vec![], false).with_tcp_idle_timeout(Duration::from_millis(200)),
    );
    let mut stream = TcpStream::connect(s.tcp).await.unwrap();
    let r = ask_tcp(&mut stream, &query("web", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("10.0.0.2")]);
    assert!(closed(&mut stream, Duration::from_secs(2)).await);
    // Half a query, then silence: closed as well.
    let mut stream = TcpStream::connect(s.tcp).await.unwrap();
    stream.write_all(&[0, 40, 1, 2]).await.unwrap();
    assert!(closed(&mut stream, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn tcp_connections_are_limited() {
    let s = start(
        ListenerState::new(zone(), vec![], false).with_tcp_idle_timeout(Duration::from_secs(30)),
    );
    let mut conns = Vec::new();
    for _ in 0..MAX_TCP_CONNECTIONS {
        let mut c = TcpStream::connect(s.tcp).await.unwrap();
        // One round trip makes sure the server has accepted it.
        ask_tcp(&mut c, &query("web", RecordType::A)).await;
        conns.push(c);
    }
    let mut extra = TcpStream::connect(s.tcp).await.unwrap();
    assert!(closed(&mut extra, Duration::from_secs(2)).await);
    // The others still work.
    let r = ask_tcp(&mut conns[0], &query("web", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("10.0.0.2")]);
    // Once one goes, a new one is served.
    drop(conns.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = TcpStream::connect(s.tcp).await.unwrap();
    let r = ask_tcp(&mut again, &query("web", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("10.0.0.2")]);
}

#[tokio::test]
async fn malformed_queries_get_formerr_notimp_or_nothing() {
    let s = start_with(vec![], false);
    let mut two_questions = query("web", RecordType::A);
    two_questions[5] = 2;
    let r = ask_udp(s.udp, &two_questions).await;
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
    assert_eq!(r.metadata.id, 0x4242);

    let mut notify = query("web", RecordType::A);
    notify[2] = (4 << 3) | 1;
    let r = ask_udp(s.udp, &notify).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NotImp);

    assert!(
        ask_udp_raw(s.udp, &[1, 2, 3, 4, 5], Duration::from_millis(300))
            .await
            .is_none()
    );
    let mut response = query("web", RecordType::A);
    response[2] |= 0x80;
    assert!(
        ask_udp_raw(s.udp, &response, Duration::from_millis(300))
            .await
            .is_none()
    );
    // Still serving.
    let r = ask_udp(s.udp, &query("web", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("10.0.0.2")]);
}

/// xorshift64*: a fixed-seed generator for the fuzz tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

/// A random packet: garbage, a valid query with flipped bytes, or a valid
/// header with a garbage body.
fn hostile_packet(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    match rng.below(3) {
        0 => (0..rng.below(600)).map(|_| rng.byte()).collect(),
        1 => {
            let mut p = seeds[rng.below(seeds.len())].clone();
            for _ in 0..=rng.below(4) {
                let i = rng.below(p.len());
                p[i] = rng.byte();
            }
            if rng.below(4) == 0 {
                p.truncate(rng.below(p.len() + 1));
            }
            p
        }
        _ => {
            let mut p = seeds[rng.below(seeds.len())][..12].to_vec();
            p.extend((0..rng.below(300)).map(|_| rng.byte()));
            p
        }
    }
}

fn seed_queries() -> Vec<Vec<u8>> {
    vec![
        query("web", RecordType::A),
        query_with("many", RecordType::A, 5, Some(1232)),
        query("2.0.0.10.in-addr.arpa.", RecordType::PTR),
        query("example.com", RecordType::AAAA),
        query_with("db.mynet", RecordType::ANY, 6, Some(4096)),
    ]
}

#[test]
fn handle_never_panics_on_hostile_input() {
    let state = ListenerState::new(zone(), vec!["127.0.0.1:9".parse().unwrap()], true);
    let seeds = seed_queries();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::new();
    for i in 0..50_000 {
        let p = hostile_packet(&mut rng, &seeds);
        let tcp = i % 2 == 0;
        if let Action::Reply = handle(&state, &p, tcp, &mut out) {
            // Every reply is a message a client can decode, within the
            // UDP limit when over UDP.
            assert!(out.len() >= 12);
            assert!(tcp || out.len() <= 4096);
            assert!(Message::from_vec(&out).is_ok(), "reply to {p:?}");
        }
    }
}

#[tokio::test]
async fn survives_thousands_of_garbage_packets() {
    let dead = upstream(Behaviour::Silent).await;
    let s = start_with(vec![dead.addr], true);
    let seeds = seed_queries();
    let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for i in 0..3000 {
        let p = hostile_packet(&mut rng, &seeds);
        sock.send_to(&p, s.udp).await.unwrap();
        if i % 100 == 0 {
            tokio::task::yield_now().await;
        }
    }
    // A garbage TCP stream too.
    let mut stream = TcpStream::connect(s.tcp).await.unwrap();
    let garbage: Vec<u8> = (0..2000).map(|_| rng.byte()).collect();
    let _ = stream.write_all(&garbage).await;

    let r = ask_udp(s.udp, &query("web", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("10.0.0.2")]);
    let mut stream = TcpStream::connect(s.tcp).await.unwrap();
    let r = ask_tcp(&mut stream, &query("web", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("10.0.0.2")]);
    assert!(!s.handle.is_finished());
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let s = start_with(vec![], false);
    let r = ask_udp(s.udp, &query("web", RecordType::A)).await;
    assert_eq!(addrs(&r), vec![ip("10.0.0.2")]);
    let (udp, tcp) = (s.udp, s.tcp);
    drop(s.handle);
    let mut stopped = false;
    for _ in 0..50 {
        if TcpStream::connect(tcp).await.is_err() {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stopped, "the TCP listener is closed");
    assert!(
        ask_udp_raw(
            udp,
            &query("web", RecordType::A),
            Duration::from_millis(300)
        )
        .await
        .is_none()
    );
}

#[tokio::test]
async fn abort_finishes_the_handle() {
    let s = start_with(vec![], false);
    assert!(!s.handle.is_finished());
    s.handle.abort();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(s.handle.is_finished());
}

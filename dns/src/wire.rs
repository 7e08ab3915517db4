//! DNS messages on the wire.
//!
//! Requests are decoded with hickory-proto (header, question, additional
//! records), after a few cheap checks on the raw header that turn away
//! hostile shapes before any decoding. Error replies are built and encoded
//! with hickory-proto too. The answers for local names, the hot path, are
//! written by hand into a reused buffer: the question is copied as the client
//! sent it (case included, for resolvers that randomise it) and every answer
//! points back to it with a compression pointer, so answering allocates
//! nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};

use hickory_proto::op::{Edns, Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use crate::zone::Zone;

/// Length of the DNS header.
pub(crate) const HEADER_LEN: usize = 12;
/// The largest UDP reply to a client without EDNS (RFC 1035).
pub(crate) const MIN_UDP: u16 = 512;
/// The largest UDP message the server sends, advertises in its OPT record,
/// and asks upstreams for.
pub(crate) const MAX_UDP: u16 = 4096;
/// More additional records than this in a query is not a real client.
const MAX_ADDITIONALS: u16 = 8;
/// TTL of the local answers, as Docker's.
pub(crate) const TTL: u32 = 600;

/// Header flag bits, first flags byte.
const QR: u8 = 0x80;
const AA: u8 = 0x04;
pub(crate) const TC: u8 = 0x02;
const RD: u8 = 0x01;
/// Header flag bits, second flags byte.
const RA: u8 = 0x80;
const CD: u8 = 0x10;

/// A decoded query.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) id: u16,
    rd: bool,
    cd: bool,
    pub(crate) query: Query,
    /// `msg[HEADER_LEN..question_end]` is the question as the client sent it.
    pub(crate) question_end: usize,
    /// Offset of the OPT record's CLASS field (the requestor's UDP payload
    /// size) when the query has EDNS.
    pub(crate) opt_size_at: Option<usize>,
    /// The largest UDP reply the client accepts.
    pub(crate) udp_limit: usize,
}

impl Request {
    /// True when the query carried an OPT record.
    pub(crate) fn edns(&self) -> bool {
        self.opt_size_at.is_some()
    }

    /// An error reply to this request.
    pub(crate) fn error(&self, rcode: ResponseCode) -> ErrorReply {
        ErrorReply {
            id: self.id,
            op_code: OpCode::Query,
            rd: self.rd,
            cd: self.cd,
            query: Some(self.query.clone()),
            edns: self.edns(),
            rcode,
        }
    }
}

/// Why a message is not a query the server can work with.
#[derive(Debug)]
pub(crate) enum Reject {
    /// Not worth an answer: too short to carry an id, or a response.
    Drop,
    /// Answer with this error.
    Error(ErrorReply),
}

/// The pieces of an error reply.
#[derive(Debug)]
pub(crate) struct ErrorReply {
    id: u16,
    op_code: OpCode,
    rd: bool,
    cd: bool,
    query: Option<Query>,
    edns: bool,
    rcode: ResponseCode,
}

fn be16(msg: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.get(at)?, *msg.get(at + 1)?]))
}

/// True when the question name (the first name of the message) has no
/// compression pointer. A first name cannot point backwards to anything but
/// the header, which a reply rewrites, so such questions are refused.
fn question_name_uncompressed(msg: &[u8]) -> bool {
    let mut pos = HEADER_LEN;
    loop {
        match msg.get(pos) {
            None => return false,
            Some(0) => return true,
            Some(&len) if len & 0xC0 != 0 => return false,
            Some(&len) => pos += 1 + usize::from(len),
        }
    }
}

/// Decodes a query. Never panics, whatever the bytes.
pub(crate) fn parse(msg: &[u8]) -> Result<Request, Reject> {
    let Some(header) = msg.get(..HEADER_LEN) else {
        return Err(Reject::Drop);
    };
    let (id, flags, flags2) = (
        u16::from_be_bytes([header[0], header[1]]),
        header[2],
        header[3],
    );
    if flags & QR != 0 {
        return Err(Reject::Drop);
    }
    let op = (flags >> 3) & 0x0F;
    let rd = flags & RD != 0;
    let cd = flags2 & CD != 0;
    let mut err = ErrorReply {
        id,
        op_code: OpCode::from_u8(op),
        rd,
        cd,
        query: None,
        edns: false,
        rcode: ResponseCode::FormErr,
    };
    if op != 0 {
        err.rcode = ResponseCode::NotImp;
        return Err(Reject::Error(err));
    }
    let count = |at| u16::from_be_bytes([header[at], header[at + 1]]);
    let additionals = count(10);
    if count(4) != 1 || count(6) != 0 || count(8) != 0 || additionals > MAX_ADDITIONALS {
        return Err(Reject::Error(err));
    }
    if !question_name_uncompressed(msg) {
        return Err(Reject::Error(err));
    }
    let mut decoder = BinDecoder::new(msg);
    if decoder.read_slice(HEADER_LEN).is_err() {
        return Err(Reject::Drop);
    }
    let Ok(query) = Query::read(&mut decoder) else {
        return Err(Reject::Error(err));
    };
    let question_end = decoder.index();
    err.query = Some(query);

    let mut opt_size_at = None;
    for _ in 0..additionals {
        let start = decoder.index();
        let Ok(record) = Record::read(&mut decoder) else {
            return Err(Reject::Error(err));
        };
        if record.record_type() == RecordType::OPT {
            // One OPT, owned by the root name (a single zero byte).
            if opt_size_at.is_some() || msg.get(start) != Some(&0) {
                return Err(Reject::Error(err));
            }
            opt_size_at = Some(start + 3);
            err.edns = true;
        }
    }
    let udp_limit = match opt_size_at {
        Some(at) => {
            // Right after the class come the extended rcode and the version.
            if msg.get(at + 3).copied().unwrap_or(0) != 0 {
                err.rcode = ResponseCode::BADVERS;
                return Err(Reject::Error(err));
            }
            be16(msg, at).unwrap_or(MIN_UDP).clamp(MIN_UDP, MAX_UDP)
        }
        None => MIN_UDP,
    };
    let Some(query) = err.query else {
        return Err(Reject::Drop);
    };
    Ok(Request {
        id,
        rd,
        cd,
        query,
        question_end,
        opt_size_at,
        udp_limit: usize::from(udp_limit),
    })
}

/// Writes an error reply into `out` (hickory-proto encodes it).
pub(crate) fn error_reply(e: &ErrorReply, out: &mut Vec<u8>) {
    let mut m = Message::error_msg(e.id, e.op_code, e.rcode);
    m.metadata.recursion_desired = e.rd;
    m.metadata.recursion_available = true;
    m.metadata.checking_disabled = e.cd;
    if let Some(q) = &e.query {
        m.add_query(q.clone());
    }
    if e.edns || e.rcode.high() > 0 {
        let mut edns = Edns::new();
        edns.set_max_payload(MAX_UDP);
        m.set_edns(edns);
    }
    out.clear();
    match m.to_vec() {
        Ok(bytes) => out.extend_from_slice(&bytes),
        Err(_) => {
            // Cannot happen for a header and one parsed question; a bare
            // header still tells the client.
            out.extend_from_slice(&e.id.to_be_bytes());
            out.extend_from_slice(&[
                QR | u8::from(e.rd),
                RA | e.rcode.low(),
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ]);
        }
    }
}

/// The OPT record of our replies: root owner, our payload size, no flags.
pub(crate) fn push_opt(out: &mut Vec<u8>) {
    let size = MAX_UDP.to_be_bytes();
    out.extend_from_slice(&[0, 0, 41, size[0], size[1], 0, 0, 0, 0, 0, 0]);
}

/// Writes a reply of hand-made records: header, the client's question, the
/// answers that fit in `limit` bytes (TC set when some did not), and an OPT
/// record when the query had one.
struct ReplyWriter<'a> {
    out: &'a mut Vec<u8>,
    limit: usize,
    /// Bytes kept free for the OPT record.
    reserve: usize,
    answers: u16,
    truncated: bool,
    edns: bool,
}

impl<'a> ReplyWriter<'a> {
    fn begin(out: &'a mut Vec<u8>, req: &Request, msg: &[u8], limit: usize) -> Self {
        out.clear();
        out.extend_from_slice(&req.id.to_be_bytes());
        out.push(QR | AA | if req.rd { RD } else { 0 });
        out.push(RA | if req.cd { CD } else { 0 });
        out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, u8::from(req.edns())]);
        out.extend_from_slice(msg.get(HEADER_LEN..req.question_end).unwrap_or_default());
        let reserve = if req.edns() { 11 } else { 0 };
        Self {
            out,
            limit,
            reserve,
            answers: 0,
            truncated: false,
            edns: req.edns(),
        }
    }

    /// Appends one answer owned by the question's name; false when it does
    /// not fit (and then no later one is written either).
    fn push(&mut self, rtype: RecordType, rdata: &[u8]) -> bool {
        let Ok(rdlen) = u16::try_from(rdata.len()) else {
            return false;
        };
        if self.truncated || self.out.len() + 12 + rdata.len() + self.reserve > self.limit {
            self.truncated = true;
            return false;
        }
        self.out.extend_from_slice(&[0xC0, 0x0C]);
        self.out.extend_from_slice(&u16::from(rtype).to_be_bytes());
        self.out
            .extend_from_slice(&u16::from(DNSClass::IN).to_be_bytes());
        self.out.extend_from_slice(&TTL.to_be_bytes());
        self.out.extend_from_slice(&rdlen.to_be_bytes());
        self.out.extend_from_slice(rdata);
        self.answers += 1;
        true
    }

    fn push_addrs(&mut self, addrs: &[IpAddr], start: usize) {
        if addrs.is_empty() {
            return;
        }
        let (tail, head) = addrs.split_at(start % addrs.len());
        for ip in head.iter().chain(tail) {
            let fits = match ip {
                IpAddr::V4(a) => self.push(RecordType::A, &a.octets()),
                IpAddr::V6(a) => self.push(RecordType::AAAA, &a.octets()),
            };
            if !fits {
                return;
            }
        }
    }

    fn finish(self) {
        let [hi, lo] = self.answers.to_be_bytes();
        if let Some(count) = self.out.get_mut(6..8) {
            count.copy_from_slice(&[hi, lo]);
        }
        if self.truncated
            && let Some(flags) = self.out.get_mut(2)
        {
            *flags |= TC;
        }
        if self.edns {
            push_opt(self.out);
        }
    }
}

/// Answers `req` from the zone into `out` when the name is the zone's;
/// returns false (and leaves `out` alone) when the query must go upstream.
///
/// - A / AAAA / ANY for a known name: its addresses of that family, rotated
///   by `rotation` (round robin); none of that family → NOERROR, empty.
/// - Any other type for a known name: NOERROR, empty (the name is ours; an
///   upstream would wrongly say NXDOMAIN).
/// - PTR for the `in-addr.arpa` / `ip6.arpa` name of a known address.
pub(crate) fn answer_local(
    zone: &Zone,
    req: &Request,
    msg: &[u8],
    limit: usize,
    rotation: &AtomicUsize,
    out: &mut Vec<u8>,
) -> bool {
    let class = req.query.query_class();
    if class != DNSClass::IN && class != DNSClass::ANY {
        return false;
    }
    let qtype = req.query.query_type();
    let name = req.query.name();
    if qtype == RecordType::PTR
        && let Some(target) = arpa_to_ip(name).and_then(|ip| zone.reverse(ip))
    {
        let mut rdata = [0u8; 256];
        if let Some(len) = encode_name(target, &mut rdata) {
            let mut w = ReplyWriter::begin(out, req, msg, limit);
            w.push(RecordType::PTR, rdata.get(..len).unwrap_or_default());
            w.finish();
            return true;
        }
    }
    let mut buf = [0u8; 256];
    let Some(key) = lookup_key(name, &mut buf) else {
        return false;
    };
    let Some((v4, v6)) = zone.lookup_split(key) else {
        return false;
    };
    let (v4, v6): (&[IpAddr], &[IpAddr]) = match qtype {
        RecordType::A => (v4, &[]),
        RecordType::AAAA => (&[], v6),
        RecordType::ANY => (v4, v6),
        _ => (&[], &[]),
    };
    let start = if v4.len() + v6.len() > 1 {
        rotation.fetch_add(1, Ordering::Relaxed)
    } else {
        0
    };
    let mut w = ReplyWriter::begin(out, req, msg, limit);
    w.push_addrs(v4, start);
    w.push_addrs(v6, start);
    w.finish();
    true
}

/// The zone key of a query name: lowercase labels joined by dots, no
/// trailing dot, written into `buf`. `None` for names no zone holds (a label
/// with a dot in it, or bytes that are not UTF-8).
fn lookup_key<'b>(name: &Name, buf: &'b mut [u8; 256]) -> Option<&'b str> {
    let mut len = 0;
    for (i, label) in name.iter().enumerate() {
        if label.contains(&b'.') {
            return None;
        }
        if i > 0 {
            *buf.get_mut(len)? = b'.';
            len += 1;
        }
        let dst = buf.get_mut(len..len + label.len())?;
        dst.copy_from_slice(label);
        dst.make_ascii_lowercase();
        len += label.len();
    }
    std::str::from_utf8(buf.get(..len)?).ok()
}

/// Wire form of a dotted name (no trailing dot) into `buf`; its length, or
/// `None` when the name cannot be a DNS name (empty or long label, too long).
fn encode_name(name: &str, buf: &mut [u8; 256]) -> Option<usize> {
    let mut len = 0;
    for label in name.split('.') {
        let l = u8::try_from(label.len())
            .ok()
            .filter(|l| (1..=63).contains(l))?;
        *buf.get_mut(len)? = l;
        buf.get_mut(len + 1..len + 1 + label.len())?
            .copy_from_slice(label.as_bytes());
        len += 1 + label.len();
    }
    *buf.get_mut(len)? = 0;
    len += 1;
    (len <= 255).then_some(len)
}

/// The address of a reverse-lookup name (`4.3.2.1.in-addr.arpa`, or the 32
/// nibbles of an `ip6.arpa` name), `None` for any other name.
pub(crate) fn arpa_to_ip(name: &Name) -> Option<IpAddr> {
    let mut labels = name.iter();
    match labels.len() {
        6 => {
            let mut octets = [0u8; 4];
            for slot in octets.iter_mut().rev() {
                let label = labels.next()?;
                if label.is_empty() || label.len() > 3 || !label.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                *slot = std::str::from_utf8(label).ok()?.parse().ok()?;
            }
            let tail_ok = labels.next()?.eq_ignore_ascii_case(b"in-addr")
                && labels.next()?.eq_ignore_ascii_case(b"arpa");
            tail_ok.then(|| IpAddr::V4(Ipv4Addr::from(octets)))
        }
        34 => {
            let mut bytes = [0u8; 16];
            for i in 0..32 {
                let &[digit] = labels.next()? else {
                    return None;
                };
                let nibble = char::from(digit).to_digit(16)?;
                let nibble = u8::try_from(nibble).ok()?;
                let byte = bytes.get_mut(15 - i / 2)?;
                *byte |= if i % 2 == 0 { nibble } else { nibble << 4 };
            }
            let tail_ok = labels.next()?.eq_ignore_ascii_case(b"ip6")
                && labels.next()?.eq_ignore_ascii_case(b"arpa");
            tail_ok.then(|| IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::MessageType;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn query_msg(n: &str, t: RecordType, edns: Option<u16>) -> Vec<u8> {
        let mut m = Message::new(0x1234, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(name(n), t));
        if let Some(size) = edns {
            let mut e = Edns::new();
            e.set_max_payload(size);
            m.set_edns(e);
        }
        m.to_vec().unwrap()
    }

    #[test]
    fn arpa_names() {
        assert_eq!(
            arpa_to_ip(&name("4.3.2.10.in-addr.arpa.")),
            Some("10.2.3.4".parse().unwrap())
        );
        assert_eq!(
            arpa_to_ip(&name("4.3.2.10.IN-ADDR.ARPA")),
            Some("10.2.3.4".parse().unwrap())
        );
        assert_eq!(arpa_to_ip(&name("4.3.2.256.in-addr.arpa.")), None);
        let plus =
            Name::from_labels(["4", "3", "2", "+1", "in-addr", "arpa"].map(str::as_bytes)).unwrap();
        assert_eq!(arpa_to_ip(&plus), None);
        assert_eq!(arpa_to_ip(&name("3.2.10.in-addr.arpa.")), None);
        assert_eq!(arpa_to_ip(&name("4.3.2.10.in-addr.example.")), None);
        let v6: Ipv6Addr = "fd00::1:abcd".parse().unwrap();
        let mut labels: Vec<String> = v6
            .octets()
            .iter()
            .flat_map(|b| [format!("{:x}", b >> 4), format!("{:x}", b & 0xF)])
            .collect();
        labels.reverse();
        let arpa = format!("{}.ip6.arpa.", labels.join("."));
        assert_eq!(arpa_to_ip(&name(&arpa)), Some(IpAddr::V6(v6)));
        assert_eq!(arpa_to_ip(&name(&arpa.replace("ip6", "ip7"))), None);
        assert_eq!(arpa_to_ip(&name("web.mynet.")), None);
    }

    #[test]
    fn keys_and_encoded_names() {
        let mut buf = [0u8; 256];
        assert_eq!(lookup_key(&name("Web.MyNet."), &mut buf), Some("web.mynet"));
        assert_eq!(lookup_key(&name("web"), &mut buf), Some("web"));
        assert_eq!(lookup_key(&Name::root(), &mut buf), Some(""));
        let dotted = Name::from_labels(vec![&b"a.b"[..], &b"c"[..]]).unwrap();
        assert_eq!(lookup_key(&dotted, &mut buf), None);
        let long = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61),
        ]
        .join(".");
        assert_eq!(lookup_key(&name(&long), &mut buf), Some(long.as_str()));

        let mut wire = [0u8; 256];
        let len = encode_name("web.mynet", &mut wire).unwrap();
        assert_eq!(&wire[..len], b"\x03web\x05mynet\x00");
        assert_eq!(encode_name("a..b", &mut wire), None);
        assert_eq!(encode_name(&"x".repeat(64), &mut wire), None);
        assert_eq!(encode_name(&long, &mut wire), Some(255));
        assert_eq!(encode_name(&format!("{long}.e"), &mut wire), None);
    }

    #[test]
    fn parse_reads_question_and_edns() {
        let msg = query_msg("Web.", RecordType::A, None);
        let req = parse(&msg).unwrap();
        assert_eq!(req.id, 0x1234);
        assert_eq!(req.question_end, msg.len());
        assert_eq!(req.udp_limit, 512);
        assert!(!req.edns());

        let msg = query_msg("web.", RecordType::AAAA, Some(1232));
        let req = parse(&msg).unwrap();
        assert_eq!(req.udp_limit, 1232);
        assert_eq!(be16(&msg, req.opt_size_at.unwrap()), Some(1232));
        let req = parse(&query_msg("web.", RecordType::A, Some(100))).unwrap();
        assert_eq!(req.udp_limit, 512);
        let req = parse(&query_msg("web.", RecordType::A, Some(65000))).unwrap();
        assert_eq!(req.udp_limit, 4096);
    }

    #[test]
    fn parse_rejects_bad_shapes() {
        assert!(matches!(parse(&[0; 11]), Err(Reject::Drop)));
        let mut msg = query_msg("web.", RecordType::A, None);
        msg[2] |= QR;
        assert!(matches!(parse(&msg), Err(Reject::Drop)));
        msg[2] = 0x01 | (4 << 3); // NOTIFY
        let Err(Reject::Error(e)) = parse(&msg) else {
            panic!()
        };
        assert_eq!(e.rcode, ResponseCode::NotImp);
        let mut msg = query_msg("web.", RecordType::A, None);
        msg[5] = 2; // two questions
        let Err(Reject::Error(e)) = parse(&msg) else {
            panic!()
        };
        assert_eq!(e.rcode, ResponseCode::FormErr);
        let mut msg = query_msg("web.", RecordType::A, None);
        msg.truncate(msg.len() - 1);
        let Err(Reject::Error(e)) = parse(&msg) else {
            panic!()
        };
        assert_eq!(e.rcode, ResponseCode::FormErr);
        // A compression pointer in the question.
        let mut msg = query_msg("web.", RecordType::A, None);
        msg[12] = 0xC0;
        assert!(matches!(parse(&msg), Err(Reject::Error(_))));
        // EDNS version 1.
        let mut msg = query_msg("web.", RecordType::A, Some(1232));
        let at = parse(&msg).unwrap().opt_size_at.unwrap();
        msg[at + 3] = 1;
        let Err(Reject::Error(e)) = parse(&msg) else {
            panic!()
        };
        assert_eq!(e.rcode, ResponseCode::BADVERS);
        let mut out = Vec::new();
        error_reply(&e, &mut out);
        let reply = Message::from_vec(&out).unwrap();
        // BADVERS and BADSIG share the value 16; hickory decodes it as the latter.
        assert_eq!(u16::from(reply.metadata.response_code), 16);
        assert_eq!(reply.metadata.id, 0x1234);
    }

    #[test]
    fn local_answers_are_valid_messages() {
        let mut zone = Zone::new();
        let ips: Vec<IpAddr> = (1..=40)
            .map(|i| IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)))
            .collect();
        for ip in &ips {
            zone.add("many", *ip);
        }
        zone.add("web", "fd00::2".parse().unwrap());
        zone.add_reverse("fd00::2".parse().unwrap(), "web.mynet");
        let rot = AtomicUsize::new(0);
        let mut out = Vec::new();

        // 40 A records do not fit in 512 bytes: TC, and what fits.
        let msg = query_msg("MANY.", RecordType::A, None);
        let req = parse(&msg).unwrap();
        assert!(answer_local(
            &zone,
            &req,
            &msg,
            req.udp_limit,
            &rot,
            &mut out
        ));
        assert!(out.len() <= 512);
        let reply = Message::from_vec(&out).unwrap();
        assert!(reply.metadata.truncation);
        assert!(reply.metadata.authoritative);
        assert_eq!(reply.queries[0].name().to_ascii(), "MANY.");
        assert!(!reply.answers.is_empty() && reply.answers.len() < 40);

        // With EDNS 4096 they all fit.
        let msg = query_msg("many.", RecordType::A, Some(4096));
        let req = parse(&msg).unwrap();
        assert!(answer_local(
            &zone,
            &req,
            &msg,
            req.udp_limit,
            &rot,
            &mut out
        ));
        let reply = Message::from_vec(&out).unwrap();
        assert!(!reply.metadata.truncation);
        assert_eq!(reply.answers.len(), 40);
        assert!(reply.edns.is_some());
        assert!(reply.answers.iter().all(|r| r.ttl == TTL));

        // PTR for an IPv6 address.
        let msg = query_msg(
            "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
            RecordType::PTR,
            None,
        );
        let req = parse(&msg).unwrap();
        assert!(answer_local(&zone, &req, &msg, 512, &rot, &mut out));
        let reply = Message::from_vec(&out).unwrap();
        assert_eq!(reply.answers.len(), 1);
        assert_eq!(reply.answers[0].data.to_string(), "web.mynet.");

        // Unknown names go upstream.
        let msg = query_msg("other.", RecordType::A, None);
        let req = parse(&msg).unwrap();
        assert!(!answer_local(&zone, &req, &msg, 512, &rot, &mut out));
    }
}

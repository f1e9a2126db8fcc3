//! `cargo run -p check -- dns ADDR`: lesson 6's DNS stages: what an authoritative server for `plants.test` must do (RFC 1035).
//!
//! What to notice: the checker is a stub resolver of its own
//! (`dns_message.rs` writes its queries and reads the answers, strictly),
//! asking over UDP and, for an answer too big for a datagram, over TCP on
//! the same port. The server must be authoritative for `plants.test` and
//! serve at least the names every step of the lesson serves (see
//! [`ZONE_NAMES`]); which names it answers, which it says do not exist, and
//! which are none of its business are the stages. Every answer is checked
//! for what any client checks: the query's ID, the QR bit, RD copied, the
//! question copied byte for byte. The stages follow the build-along
//! (`docs/src/dns-build.md`): answers from a zone (1-6), a parser that
//! survives anything and TCP (7-8), then the lesson's record types (9-10).
//!
//! Like lesson 2's checker, the UDP socket is *connected* to ADDR, so an
//! ICMP "port unreachable" says nothing listens there (exit 2 before the
//! first stage), and only datagrams from ADDR are read.

// A stage's `Failure` is its report, four strings: it is made at most once
// per stage, so its size costs nothing, and the helpers that check a part of
// a stage return it as the stages do.
#![allow(clippy::result_large_err)]

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpStream, UdpSocket};

use crate::dns_message::{
    self, CLASS_IN, Data, FORMERR, HEADER_BYTES, Header, Malformed, Message, NOERROR, NXDOMAIN,
    REFUSED, TYPE_A, TYPE_AAAA, TYPE_CNAME, TYPE_NS, TYPE_SOA, TYPE_TXT, flag_names, rcode_name,
    type_name,
};
use crate::escape::show;
use crate::runner::{Failure, Stage};
use crate::target::Target;
use crate::tcp::{self, ReplyEnd};

/// The stages, in order.
pub const STAGES: &[Stage<DnsClient>] = &[
    Stage {
        name: "A: www.plants.test",
        check: |client| Box::pin(a_record(client)),
    },
    Stage {
        name: "AAAA: www.plants.test",
        check: |client| Box::pin(aaaa_record(client)),
    },
    Stage {
        name: "TXT: plants.test",
        check: |client| Box::pin(txt_record(client)),
    },
    Stage {
        name: "names in any case",
        check: |client| Box::pin(any_case(client)),
    },
    Stage {
        name: "NXDOMAIN and NODATA",
        check: |client| Box::pin(nxdomain_and_nodata(client)),
    },
    Stage {
        name: "REFUSED outside the zone",
        check: |client| Box::pin(refused(client)),
    },
    Stage {
        name: "malformed queries: FORMERR or nothing",
        check: |client| Box::pin(malformed_queries(client)),
    },
    Stage {
        name: "TC over UDP, the whole answer over TCP",
        check: |client| Box::pin(truncated_then_tcp(client)),
    },
    Stage {
        name: "CNAME: shop.plants.test",
        check: |client| Box::pin(cname(client)),
    },
    Stage {
        name: "NS and SOA: plants.test",
        check: |client| Box::pin(ns_and_soa(client)),
    },
];

/// The zone the server must be authoritative for.
pub const ZONE: &str = "plants.test";

/// What the server must serve in it, and what the stages ask (the lesson's
/// `protocols/zones/plants.test.zone` has all of it, and more).
pub const ZONE_NAMES: &str = "www.plants.test A 127.0.0.1 and AAAA ::1; a TXT record at plants.test; \
     big.plants.test, TXT records of more than 512 bytes together; no nope.plants.test; \
     shop.plants.test CNAME www.plants.test; plants.test NS ns1.plants.test, and its SOA naming \
     ns1.plants.test and hostmaster.plants.test";

/// The largest answer over UDP to a client that did not say it takes more
/// (RFC 1035 section 4.2.1; EDNS, RFC 6891, is how a client says so).
pub const MAX_UDP_ANSWER: usize = 512;

/// Datagrams are received into a buffer this large, so an answer that is
/// too long shows as too long.
const RECEIVE_BUFFER: usize = 65_535;

/// After a well-formed query's answer, the checker waits this long for a
/// late answer to the malformed query sent before it (a server answering
/// from several threads may send them in either order).
const LATE_ANSWER_WAIT: Duration = Duration::from_millis(200);

/// The checker's side: the target, the UDP socket the stages share, and
/// the next query ID.
pub struct DnsClient {
    target: Target,
    socket: Option<UdpSocket>,
    next_id: u16,
}

impl DnsClient {
    /// A client for `target`; its socket is bound when stage 1 needs it.
    pub fn new(target: Target) -> DnsClient {
        DnsClient {
            target,
            socket: None,
            // "NL": the IDs run on from here, one per query, so a report
            // names the same IDs on every run.
            next_id: 0x4e4c,
        }
    }

    fn id(&mut self) -> u16 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    /// The shared socket, connected to the target, with nothing left
    /// waiting in it from a stage that failed.
    async fn socket(&mut self) -> Result<&UdpSocket, Failure> {
        if self.socket.is_none() {
            let addr = self.target.addr();
            let any: SocketAddr = if addr.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                ([0u16; 8], 0).into()
            };
            let socket = UdpSocket::bind(any)
                .await
                .map_err(|error| local_failure("cannot bind a client socket", error))?;
            socket
                .connect(addr)
                .await
                .map_err(|error| local_failure("cannot set the client's peer", error))?;
            self.socket = Some(socket);
        }
        let socket = self
            .socket
            .as_ref()
            .ok_or_else(|| local_failure("no client socket", io::ErrorKind::NotFound.into()))?;
        let mut leftover = vec![0u8; RECEIVE_BUFFER];
        while socket.try_recv(&mut leftover).is_ok() {}
        Ok(socket)
    }

    /// Sends `datagram` over UDP; a "connection refused" means nothing
    /// listens at ADDR.
    async fn send(&mut self, datagram: &[u8], sent: &str) -> Result<(), Failure> {
        let (addr, limit) = (self.target.addr(), self.target.timeout);
        let socket = self.socket().await?;
        match tokio::time::timeout(limit, socket.send(datagram)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(refused_or(addr, error, sent)),
            Err(_) => Err(Failure::new(
                sent,
                "the datagram to go out",
                "it could not be sent in time",
                "this is the checker's machine, not your server: try again",
            )),
        }
    }

    /// Waits up to `limit` for one datagram.
    async fn receive(&mut self, limit: Duration) -> Received {
        let Some(socket) = self.socket.as_ref() else {
            return Received::Nothing(limit);
        };
        let mut buf = vec![0u8; RECEIVE_BUFFER];
        match tokio::time::timeout(limit, socket.recv(&mut buf)).await {
            Err(_) => Received::Nothing(limit),
            Ok(Ok(len)) => Received::Datagram(buf[..len].to_vec()),
            Ok(Err(error)) => Received::Failed(error),
        }
    }

    /// Asks `name` `qtype` over UDP and returns the answer, checked for
    /// what every answer must be (see [`check_answer`]).
    async fn ask(&mut self, name: &str, qtype: u16) -> Result<Asked, Failure> {
        let id = self.id();
        let query = dns_message::query(id, name, qtype);
        let sent = describe_query("UDP", name, qtype, id, &query);
        self.send(&query, &sent).await?;
        let limit = self.target.timeout;
        let bytes = match self.receive(limit).await {
            Received::Datagram(bytes) => bytes,
            Received::Failed(error) => return Err(refused_or(self.target.addr(), error, &sent)),
            nothing => {
                return Err(Failure::new(
                    sent,
                    format!("an answer to the {} question for {name}", type_name(qtype)),
                    nothing.describe(),
                    "answer each query with one datagram, sent to the address it came from, \
                     from the socket that received it",
                ));
            }
        };
        if bytes == query {
            return Err(Failure::new(
                sent,
                "an answer: the query's ID and question, QR set, and records",
                format!("the query itself, byte for byte: {}", show(&bytes)),
                format!(
                    "this server sends back what it receives, as lesson 2's echo server does, and \
                     does not speak DNS: check it with `cargo run -p check -- udp-echo {}`",
                    self.target.addr()
                ),
            ));
        }
        let message = check_answer(&query, &bytes, false)
            .map_err(|(expected, got, hint)| Failure::new(sent.clone(), expected, got, hint))?;
        Ok(Asked { sent, message })
    }
}

/// A question asked and its answer, well-formed.
struct Asked {
    /// The `sent:` line for a failure.
    sent: String,
    /// The answer.
    message: Message,
}

impl Asked {
    fn fail(&self, expected: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure::new(self.sent.clone(), expected, self.message.describe(), hint)
    }
}

/// What a receive brought.
enum Received {
    Datagram(Vec<u8>),
    Nothing(Duration),
    Failed(io::Error),
}

impl Received {
    fn describe(&self) -> String {
        match self {
            Received::Datagram(bytes) => show(bytes),
            Received::Nothing(waited) => format!("nothing within {} s", waited.as_secs_f32()),
            Received::Failed(error) => format!("an error: {error}"),
        }
    }
}

/// A failure on our side of the wire (rare: out of ports or descriptors).
fn local_failure(what: &str, error: io::Error) -> Failure {
    Failure::new(
        "nothing yet",
        "a client socket",
        format!("{what}: {error}"),
        "this is the checker's machine, not your server: try again",
    )
}

/// A "connection refused" on UDP is the ICMP port-unreachable for a query:
/// nothing listens at ADDR (before any stage passed: exit 2).
fn refused_or(addr: SocketAddr, error: io::Error, sent: &str) -> Failure {
    if error.kind() == io::ErrorKind::ConnectionRefused {
        return Failure::nothing_answering(
            addr,
            format!("{error}: no UDP socket is bound to that port"),
            sent,
            "the server was answering a moment ago: did it exit or crash? Its terminal says why",
        );
    }
    Failure::new(
        sent,
        "an answer",
        format!("an error: {error}"),
        "check the server's terminal",
    )
}

/// `a query over UDP for www.plants.test A (id 0x4e4d, RD set, no EDNS): "..." (33 bytes)`.
fn describe_query(transport: &str, name: &str, qtype: u16, id: u16, bytes: &[u8]) -> String {
    format!(
        "a query over {transport} for {name} {} (id {id:#06x}, RD set, no EDNS): {}",
        type_name(qtype),
        show(bytes)
    )
}

/// What a failed check says: expected, got, hint.
type Mismatch = (String, String, String);

/// Checks what every answer to `query` must be: a well-formed message with
/// the query's ID, QR set, opcode 0, RD copied, the question copied byte
/// for byte, and TC set only when `truncated_allowed`.
fn check_answer(query: &[u8], bytes: &[u8], truncated_allowed: bool) -> Result<Message, Mismatch> {
    let mismatch = |expected: &str, got: String, hint: &str| {
        Err((expected.to_string(), got, hint.to_string()))
    };
    let query_header = Header::read(query).unwrap_or(Header { id: 0, flags: 0 });
    let Some(header) = Header::read(bytes) else {
        return mismatch(
            "an answer: a 12-byte header, the question, the records",
            show(bytes),
            "an answer starts with the 12-byte header: ID, flags, four counts (RFC 1035 section 4.1.1)",
        );
    };
    if header.id != query_header.id {
        return mismatch(
            &format!("an answer with the query's ID, {:#06x}", query_header.id),
            format!("ID {:#06x}: {}", header.id, show(bytes)),
            "copy the query's ID (its first two bytes) into the answer: the client matches answers to questions by it",
        );
    }
    if !header.qr() {
        return mismatch(
            "the QR bit set: a response",
            format!("flags {}: {}", flag_names(header.flags), show(bytes)),
            "set QR, the first bit of byte 2 (0x80): it says this message is a response",
        );
    }
    if header.tc() && !truncated_allowed {
        return mismatch(
            "TC clear: the whole answer",
            format!("flags {}: {}", flag_names(header.flags), show(bytes)),
            "set TC (0x02 in byte 2) only when the answer was cut to fit in 512 bytes",
        );
    }
    let question = &query[HEADER_BYTES..];
    let copied = bytes.get(4..6) == Some(&[0, 1][..])
        && bytes.get(HEADER_BYTES..HEADER_BYTES + question.len()) == Some(question);
    if !copied {
        return mismatch(
            &format!(
                "the question copied as it came: one question, {}",
                show(question)
            ),
            show(bytes),
            "copy the question (QDCOUNT 1, and the question's bytes, name, type and class, exactly \
             as they came, case included) into the answer: the client checks it is the answer to its question",
        );
    }
    if truncated_allowed && header.tc() {
        // A truncated answer may end anywhere after the question (RFC 2181
        // section 9): its records are not read.
        return Ok(Message {
            id: header.id,
            flags: header.flags,
            questions: Vec::new(),
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            size: bytes.len(),
        });
    }
    let message = match dns_message::parse(bytes) {
        Ok(message) => message,
        Err(Malformed { at, problem }) => {
            return mismatch(
                "a well-formed answer",
                format!("{}: at byte {at}, {problem}", show(bytes)),
                &malformed_hint(&problem),
            );
        }
    };
    if message.opcode() != 0 {
        return mismatch(
            "opcode 0, as in the query",
            message.describe(),
            "keep the opcode (bits 1-4 of byte 2) at 0, a standard query, as the query had it",
        );
    }
    if message.rd() != (query_header.flags & 0x0100 != 0) {
        return mismatch(
            "RD copied from the query",
            message.describe(),
            "copy the RD bit (0x01 in byte 2) from the query into the answer (RFC 1035 section 4.1.1)",
        );
    }
    Ok(message)
}

/// The hint for an answer the checker could not read.
fn malformed_hint(problem: &str) -> String {
    if problem.contains("pointer") {
        "a compression pointer (0xc0 0x0c) is two bytes that point to an earlier copy of the rest \
         of a name: 0x0c, byte 12, is where the question's name starts"
            .into()
    } else if problem.contains("data length") || problem.contains("record's data") {
        "each record's data length (RDLENGTH) counts every byte of its data, and nothing else: \
         for TXT, each string's length byte and its bytes; for SOA, both names and the five \
         32-bit numbers after them"
            .into()
    } else if problem.contains("after the last record") || problem.contains("past the end") {
        "the header's counts must match the records written, and each record's data length \
         (RDLENGTH) the bytes of its data"
            .into()
    } else {
        "write each record as RFC 1035 section 4.1.3 says: name, type, class, TTL, data length, data".into()
    }
}

/// The answer records of type `rtype` for `name`, and whether any other
/// record is in the answer section.
fn answers_of<'a>(message: &'a Message, name: &str, rtype: u16) -> (Vec<&'a Data>, bool) {
    let wanted: Vec<&Data> = message
        .answers
        .iter()
        .filter(|record| record.is_for(name) && record.rtype == rtype && record.class == CLASS_IN)
        .map(|record| &record.data)
        .collect();
    let others = message.answers.len() > wanted.len();
    (wanted, others)
}

/// Checks `asked` is an authoritative `NOERROR` whose answer section holds
/// records of `rtype` for `name` only, one of which `fits`.
fn expect_records(
    asked: &Asked,
    name: &str,
    rtype: u16,
    expected: &str,
    fits: impl Fn(&Data) -> bool,
    hint: &str,
) -> Result<(), Failure> {
    let message = &asked.message;
    if message.rcode() != NOERROR {
        return Err(asked.fail(
            format!("NOERROR and {expected}"),
            format!(
                "{name} is in your zone: answer NOERROR (RCODE 0) with its {} records",
                type_name(rtype)
            ),
        ));
    }
    let (records, others) = answers_of(message, name, rtype);
    if others || !records.iter().any(|data| fits(data)) {
        return Err(asked.fail(expected.to_string(), hint.to_string()));
    }
    if !message.aa() {
        return Err(asked.fail(
            format!("{expected}, with the AA flag set"),
            "set AA (0x04 in byte 2): your server is the authority for plants.test",
        ));
    }
    Ok(())
}

/// Stage 1: `www.plants.test A` is `127.0.0.1`.
async fn a_record(client: &mut DnsClient) -> Result<(), Failure> {
    let asked = client.ask("www.plants.test", TYPE_A).await?;
    expect_records(
        &asked,
        "www.plants.test",
        TYPE_A,
        "an answer section with www.plants.test. IN A 127.0.0.1",
        |data| *data == Data::A(Ipv4Addr::LOCALHOST),
        "answer with one record: the question's name (a pointer to it, 0xc0 0x0c, will do), type A \
         (1), class IN (1), a TTL, data length 4, and the address's four bytes",
    )
}

/// Stage 2: `www.plants.test AAAA` is `::1`, and only AAAA records answer.
async fn aaaa_record(client: &mut DnsClient) -> Result<(), Failure> {
    let asked = client.ask("www.plants.test", TYPE_AAAA).await?;
    expect_records(
        &asked,
        "www.plants.test",
        TYPE_AAAA,
        "an answer section with www.plants.test. IN AAAA ::1, and no other type",
        |data| *data == Data::Aaaa(Ipv6Addr::LOCALHOST),
        "answer the type asked: an AAAA question (type 28) gets AAAA records, 16 bytes of IPv6 \
         address each, never an A record",
    )
}

/// Stage 3: `plants.test TXT` is one or more strings.
async fn txt_record(client: &mut DnsClient) -> Result<(), Failure> {
    let asked = client.ask(ZONE, TYPE_TXT).await?;
    expect_records(
        &asked,
        ZONE,
        TYPE_TXT,
        "an answer section with a TXT record for plants.test (any text)",
        |data| matches!(data, Data::Txt(_)),
        "a TXT record's data is one or more strings, each a length byte then that many bytes; \
         plants.test needs one",
    )
}

/// Stage 4: `WwW.PlAnTs.TeSt` is `www.plants.test`, and the question comes
/// back as it was asked.
async fn any_case(client: &mut DnsClient) -> Result<(), Failure> {
    const HINT: &str = "compare names without case (RFC 4343), in the zone check and in the \
         lookup: WwW.PlAnTs.TeSt is www.plants.test";
    let asked = client.ask("WwW.PlAnTs.TeSt", TYPE_A).await?;
    // Stage 1 passed, so any other RCODE here comes from the case alone.
    expect_records(
        &asked,
        "www.plants.test",
        TYPE_A,
        "the A record for www.plants.test: names compare without case",
        |data| *data == Data::A(Ipv4Addr::LOCALHOST),
        HINT,
    )
    .map_err(|mut failure| {
        failure.hint = HINT.into();
        failure
    })
}

/// Stage 5: a name not in the zone is NXDOMAIN; a name without records of
/// the type asked is NOERROR with no answers (NODATA).
async fn nxdomain_and_nodata(client: &mut DnsClient) -> Result<(), Failure> {
    let asked = client.ask("nope.plants.test", TYPE_A).await?;
    let message = &asked.message;
    if message.rcode() != NXDOMAIN || !message.answers.is_empty() || !message.aa() {
        return Err(asked.fail(
            "NXDOMAIN (RCODE 3), authoritative (AA), no answer records",
            "a name in your zone that does not exist gets RCODE 3, NXDOMAIN, with AA set: you are \
             the authority that says it does not exist",
        ));
    }
    let asked = client.ask("www.plants.test", TYPE_TXT).await?;
    let message = &asked.message;
    if message.rcode() != NOERROR || !message.answers.is_empty() || !message.aa() {
        return Err(asked.fail(
            "NOERROR (RCODE 0), authoritative (AA), no answer records: the name exists, without TXT records",
            "www.plants.test exists, but has no TXT record: answer NOERROR with an empty answer \
             section (\"NODATA\"); NXDOMAIN would say the name itself does not exist",
        ));
    }
    Ok(())
}

/// Stage 6: names outside `plants.test` are REFUSED, without AA.
async fn refused(client: &mut DnsClient) -> Result<(), Failure> {
    for (name, hint) in [
        (
            "example.com",
            "a name outside your zone is not yours to answer: RCODE 5, REFUSED, without AA (an \
             authoritative server does not look names up elsewhere)",
        ),
        (
            "notplants.test",
            "notplants.test ends with \"plants.test\" but is not in the zone: a name is in it when it \
             is plants.test or ends with \".plants.test\", with the dot",
        ),
    ] {
        let asked = client.ask(name, TYPE_A).await?;
        let message = &asked.message;
        if message.rcode() != REFUSED || !message.answers.is_empty() || message.aa() {
            return Err(asked.fail("REFUSED (RCODE 5), no answer records, AA clear", hint));
        }
    }
    Ok(())
}

/// A malformed message for stage 7: what it is, its bytes after the
/// 12-byte header (or the whole message), whether any answer is allowed,
/// and the hint when the server stops answering after it.
struct BadQuery {
    what: &'static str,
    body: &'static [u8],
    whole: bool,
    may_answer: bool,
    hint: &'static str,
}

const LOOP_HINT: &str = "follow a compression pointer only when it points before the name it \
     ends (so every jump goes back, and reading ends); otherwise answer FORMERR";

const BOUNDS_HINT: &str = "check every length against the bytes received before reading them: \
     a label or a field past the end of the message gets FORMERR (or nothing), never a crash";

/// Stage 7's malformed messages, in order.
const BAD_QUERIES: &[BadQuery] = &[
    BadQuery {
        what: "a question whose name is a pointer to itself",
        body: b"\xc0\x0c\x00\x01\x00\x01",
        whole: false,
        may_answer: true,
        hint: LOOP_HINT,
    },
    BadQuery {
        what: "a question whose name is two pointers to each other",
        body: b"\xc0\x0e\xc0\x0c\x00\x01\x00\x01",
        whole: false,
        may_answer: true,
        hint: LOOP_HINT,
    },
    BadQuery {
        what: "a question with a 63-byte label and 3 bytes after it",
        body: b"\x3fwww",
        whole: false,
        may_answer: true,
        hint: BOUNDS_HINT,
    },
    BadQuery {
        what: "a question without its type and class",
        body: b"\x03www\x06plants\x04test\x00",
        whole: false,
        may_answer: true,
        hint: BOUNDS_HINT,
    },
    BadQuery {
        what: "11 bytes, a header cut short",
        body: b"\x4e\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00",
        whole: true,
        may_answer: true,
        hint: BOUNDS_HINT,
    },
    BadQuery {
        what: "a response (QR set), not a query",
        body: b"\x03www\x06plants\x04test\x00\x00\x01\x00\x01",
        whole: false,
        may_answer: false,
        hint: "never answer a message that is itself a response (QR set): two servers answering \
               each other's answers would bounce one packet for ever",
    },
];

/// Stage 7: each malformed message gets FORMERR (with its ID) or no
/// answer, a response gets no answer, and a good query right after each is
/// answered.
async fn malformed_queries(client: &mut DnsClient) -> Result<(), Failure> {
    for bad in BAD_QUERIES {
        let id = client.id();
        let mut message = Vec::new();
        if !bad.whole {
            let flags: u8 = if bad.may_answer { 0x01 } else { 0x81 };
            message.extend_from_slice(&id.to_be_bytes());
            message.extend_from_slice(&[flags, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        }
        message.extend_from_slice(bad.body);
        let bad_id = Header::read(&message).map(|header| header.id);
        let sent = format!("{}: {}", bad.what, show(&message));
        client.send(&message, &sent).await?;

        let good_id = client.id();
        let good = dns_message::query(good_id, "www.plants.test", TYPE_A);
        let sent = format!(
            "{sent}, then at once {}",
            describe_query("UDP", "www.plants.test", TYPE_A, good_id, &good)
        );
        client.send(&good, &sent).await?;
        let expected_bad = if bad.may_answer {
            "FORMERR (RCODE 1) with the same ID, or no answer"
        } else {
            "no answer at all"
        };
        let limit = client.target.timeout;
        let mut answered = false;
        loop {
            let wait = if answered { LATE_ANSWER_WAIT } else { limit };
            let bytes = match client.receive(wait).await {
                Received::Datagram(bytes) => bytes,
                Received::Nothing(_) if answered => break,
                Received::Failed(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                    return Err(Failure::new(
                        sent,
                        format!("{expected_bad}, then the A record for www.plants.test"),
                        format!(
                            "{error}: nothing listens at ADDR any more (did the server crash?)"
                        ),
                        bad.hint,
                    ));
                }
                nothing => {
                    return Err(Failure::new(
                        sent,
                        format!("{expected_bad}, then the A record for www.plants.test"),
                        format!(
                            "{} for the second, well-formed query (did the server crash?)",
                            nothing.describe()
                        ),
                        bad.hint,
                    ));
                }
            };
            let header = Header::read(&bytes);
            match header {
                Some(header) if header.id == good_id && !answered => {
                    check_answer(&good, &bytes, false).map_err(|(expected, got, hint)| {
                        Failure::new(sent.clone(), expected, got, hint)
                    })?;
                    answered = true;
                }
                Some(header)
                    if bad.may_answer
                        && Some(header.id) == bad_id
                        && header.qr()
                        && header.rcode() == FORMERR => {}
                _ => {
                    let got = match header {
                        Some(header) => format!(
                            "{} (ID {:#06x}, {}, flags {})",
                            show(&bytes),
                            header.id,
                            rcode_name(header.rcode()),
                            flag_names(header.flags)
                        ),
                        None => show(&bytes),
                    };
                    let hint = if bad.may_answer {
                        "a query you cannot read gets FORMERR (RCODE 1, QR set, its ID copied), or \
                         no answer at all; never an answer made from a guess"
                    } else {
                        bad.hint
                    };
                    return Err(Failure::new(sent, expected_bad, got, hint));
                }
            }
        }
    }
    Ok(())
}

/// Stage 8: the TXT records of `big.plants.test` do not fit in 512 bytes:
/// over UDP, TC is set; over TCP the whole answer comes. (A second query
/// on the same connection is not asked: keeping it open is a SHOULD of RFC
/// 7766 section 6.2.1, and dnsmasq closes it after a large answer.)
async fn truncated_then_tcp(client: &mut DnsClient) -> Result<(), Failure> {
    let name = "big.plants.test";
    let id = client.id();
    let query = dns_message::query(id, name, TYPE_TXT);
    let sent = describe_query("UDP", name, TYPE_TXT, id, &query);
    client.send(&query, &sent).await?;
    let limit = client.target.timeout;
    let bytes = match client.receive(limit).await {
        Received::Datagram(bytes) => bytes,
        Received::Failed(error) => return Err(refused_or(client.target.addr(), error, &sent)),
        nothing => {
            return Err(Failure::new(
                sent,
                "an answer with TC set, at most 512 bytes",
                nothing.describe(),
                "answer every query, also one whose answer is too large: cut it and set TC",
            ));
        }
    };
    let truncated = check_answer(&query, &bytes, true)
        .map_err(|(expected, got, hint)| Failure::new(sent.clone(), expected, got, hint))?;
    if !truncated.tc() || bytes.len() > MAX_UDP_ANSWER || truncated.rcode() != NOERROR {
        let got = match dns_message::parse(&bytes) {
            Ok(message) => message.describe(),
            Err(_) => format!("{} (flags {})", show(&bytes), flag_names(truncated.flags)),
        };
        return Err(Failure::new(
            sent,
            "NOERROR with TC set, in at most 512 bytes: the TXT records of big.plants.test are too many for one datagram",
            got,
            "a client that did not say, with EDNS, that it takes more gets at most 512 bytes over \
             UDP (RFC 1035 section 4.2.1): when the answer is larger, send the question alone with \
             TC set, and the client asks again over TCP. big.plants.test needs TXT records of more \
             than 512 bytes together",
        ));
    }

    let mut stream = match tcp::connect(&client.target).await {
        Ok(stream) => stream,
        Err(mut failure) => {
            failure.sent = "a TCP connection to ADDR, after the truncated UDP answer".into();
            failure.hint =
                "listen on TCP as well, on the same port number as UDP: a client asks there \
                            when an answer comes with TC (RFC 7766)"
                    .into();
            return Err(failure);
        }
    };
    let message = ask_tcp(client, &mut stream, name, TYPE_TXT).await?;
    let (records, others) = answers_of(&message.message, name, TYPE_TXT);
    if message.message.rcode() != NOERROR
        || others
        || records.is_empty()
        || message.message.size <= MAX_UDP_ANSWER
    {
        return Err(message.fail(
            "NOERROR, TC clear, and the TXT records of big.plants.test: more than 512 bytes in all",
            "over TCP there is no 512-byte limit: send the whole answer, with its two-byte length in front",
        ));
    }
    Ok(())
}

/// Asks over TCP: the query with its length in two bytes in front, then
/// the answer's length and the answer.
async fn ask_tcp(
    client: &mut DnsClient,
    stream: &mut TcpStream,
    name: &str,
    qtype: u16,
) -> Result<Asked, Failure> {
    let id = client.id();
    let query = dns_message::query(id, name, qtype);
    let sent = describe_query("TCP", name, qtype, id, &query);
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    let limit = client.target.timeout;
    let sent_line = format!("{sent}, with its length in front: {}", show(&framed));
    if let Err(mut failure) = tcp::send(stream, &framed, limit).await {
        failure.sent = sent_line;
        failure.hint = "keep reading a TCP connection after answering a query".into();
        return Err(failure);
    }
    let length = tcp::read_exactly(stream, 2, limit).await;
    if length.bytes.len() < 2 {
        return Err(Failure::new(
            sent_line,
            "two bytes of length, then the answer",
            length.describe(),
            "over TCP, each message (the answer too) has its length in two bytes in front (RFC 1035 section 4.2.2)",
        ));
    }
    let expected_length = usize::from(u16::from_be_bytes([length.bytes[0], length.bytes[1]]));
    let answer = tcp::read_exactly(stream, expected_length, limit).await;
    if answer.bytes.len() < expected_length || !matches!(answer.end, ReplyEnd::Complete) {
        return Err(Failure::new(
            sent_line,
            format!("the {expected_length} bytes of the answer its length announced"),
            answer.describe(),
            "write the answer's length, then exactly that many bytes",
        ));
    }
    let message = check_answer(&query, &answer.bytes, false)
        .map_err(|(expected, got, hint)| Failure::new(sent_line.clone(), expected, got, hint))?;
    Ok(Asked {
        sent: sent_line,
        message,
    })
}

/// Stage 9: `shop.plants.test` is a CNAME for `www.plants.test`; an A
/// record for `www` may follow it.
async fn cname(client: &mut DnsClient) -> Result<(), Failure> {
    let asked = client.ask("shop.plants.test", TYPE_A).await?;
    let message = &asked.message;
    let expected = "NOERROR, AA, and shop.plants.test. IN CNAME www.plants.test. (and, after it, \
                    www.plants.test. IN A 127.0.0.1, or nothing more)";
    let is_alias = |data: &Data| matches!(data, Data::Name(target) if target.eq_ignore_ascii_case("www.plants.test"));
    let fits = message.answers.iter().all(|record| {
        (record.is_for("shop.plants.test") && record.rtype == TYPE_CNAME && is_alias(&record.data))
            || (record.is_for("www.plants.test")
                && record.rtype == TYPE_A
                && record.data == Data::A(Ipv4Addr::LOCALHOST))
    });
    let has_alias = message
        .answers
        .iter()
        .any(|record| record.rtype == TYPE_CNAME && record.is_for("shop.plants.test"));
    if message.rcode() != NOERROR || !message.aa() || !fits || !has_alias {
        return Err(asked.fail(
            expected,
            "shop.plants.test is another name for www.plants.test: answer any question for it with \
             the CNAME record (type 5, its data the name www.plants.test), then, since www is in \
             your zone, www's records of the type asked",
        ));
    }
    Ok(())
}

/// Stage 10: `plants.test NS` names `ns1.plants.test`; its SOA names
/// `ns1.plants.test` and `hostmaster.plants.test`.
async fn ns_and_soa(client: &mut DnsClient) -> Result<(), Failure> {
    let asked = client.ask(ZONE, TYPE_NS).await?;
    expect_records(
        &asked,
        ZONE,
        TYPE_NS,
        "an answer section with plants.test. IN NS ns1.plants.test.",
        |data| matches!(data, Data::Name(name) if name.eq_ignore_ascii_case("ns1.plants.test")),
        "the NS records name the zone's servers: plants.test. NS ns1.plants.test. (its data a name, \
         which may be compressed)",
    )?;
    let asked = client.ask(ZONE, TYPE_SOA).await?;
    expect_records(
        &asked,
        ZONE,
        TYPE_SOA,
        "an answer section with plants.test's SOA: ns1.plants.test. hostmaster.plants.test. and five numbers",
        |data| {
            matches!(data, Data::Soa { mname, rname, .. }
                if mname.eq_ignore_ascii_case("ns1.plants.test")
                    && rname.eq_ignore_ascii_case("hostmaster.plants.test"))
        },
        "the SOA record's data is two names (the primary server, ns1.plants.test, and the \
         administrator's mailbox, hostmaster.plants.test) and five 32-bit numbers: serial, \
         refresh, retry, expire, minimum",
    )
}

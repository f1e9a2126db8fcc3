//! The authority's answer: what the zone says to a query, written as a message.
//!
//! What to notice, in the order RFC 1034 section 4.3.2 gives:
//! - **Not our zone: `REFUSED`.** This server is *authoritative* for one
//!   zone and nothing else; it does not look names up elsewhere (that is a
//!   *resolver*'s job: the one your OS asks, which asks servers like this).
//!   So `RA` (recursion available) is never set, and `AA` (authoritative
//!   answer) is set on every answer from the zone.
//! - **A CNAME is followed inside the zone**: `shop.plants.test CNAME www`
//!   answers with the CNAME *and* www's addresses, so the resolver need not
//!   ask twice. A CNAME out of the zone is given alone: the resolver follows
//!   it.
//! - **"No such name" and "no such type" differ.** A name that does not
//!   exist gets `NXDOMAIN`; a name that exists without records of the type
//!   asked gets `NOERROR` with no answers ("NODATA"). Both carry the zone's
//!   SOA in the authority section, whose last number tells resolvers how
//!   long they may remember the nothing (RFC 2308).
//! - **Too large for UDP: the TC bit.** If the answer does not fit the
//!   client's UDP size (512 bytes, or what its EDNS record says), it is cut
//!   back to the question, with TC set; the client asks again over TCP,
//!   where the same code writes the same answer whole.

use std::net::SocketAddr;

use tracing::{debug, info};

use crate::dns::compress::MessageWriter;
use crate::dns::limits::{EDNS_UDP_ANSWER, MAX_CNAME_CHAIN, MAX_TCP_MESSAGE, PLAIN_UDP_ANSWER};
use crate::dns::message::{HEADER_LEN, Header, Malformed, Query, Rcode, flags, parse_query};
use crate::dns::name::Name;
use crate::dns::record::{CLASS_IN, Record, RecordData, RecordType};
use crate::dns::zone::Zone;

/// Which transport a query came on: it decides the answer's size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One datagram each way.
    Udp,
    /// Length-prefixed messages on a connection.
    Tcp,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// The counts of the three record sections, as we write them.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    answer: u16,
    authority: u16,
    additional: u16,
}

// ANCHOR: respond
/// Answers one message from `peer` into `out`, and logs it. `false`: the
/// message gets no answer at all (`out` is empty).
pub fn respond(
    zone: &Zone,
    message: &[u8],
    transport: Transport,
    peer: SocketAddr,
    out: &mut MessageWriter,
) -> bool {
    out.clear();
    match parse_query(message) {
        Ok(query) => {
            let limit = match transport {
                Transport::Tcp => MAX_TCP_MESSAGE,
                Transport::Udp => udp_limit(&query),
            };
            let (rcode, answers, truncated) = answer(zone, &query, limit, out);
            let question = &query.question;
            info!(
                %peer,
                transport = transport.name(),
                name = %question.name,
                qtype = %question.qtype,
                %rcode,
                answers,
                truncated,
                bytes = out.len(),
                "query"
            );
            true
        }
        Err(Malformed::Answer(header, rcode)) => {
            info!(%peer, transport = transport.name(), %rcode, "malformed query");
            write_header(out, &header, rcode, 0, Counts::default(), 0);
            true
        }
        Err(Malformed::Drop) => {
            // Debug, not info: these cost a flood nothing to send, and the log
            // must not be what a flood fills.
            debug!(%peer, transport = transport.name(), bytes = message.len(), "not a query: no answer");
            false
        }
    }
}
// ANCHOR_END: respond

/// How large a UDP answer this client takes: 512 bytes, or its EDNS size
/// (but never less than 512, nor more than [`EDNS_UDP_ANSWER`]).
pub fn udp_limit(query: &Query) -> usize {
    match query.edns {
        None => PLAIN_UDP_ANSWER,
        Some(edns) => usize::from(
            edns.udp_size
                .clamp(PLAIN_UDP_ANSWER as u16, EDNS_UDP_ANSWER),
        ),
    }
}

/// Writes the answer to `query` into `out`, at most `limit` bytes; returns
/// its code, its number of answers, and whether it was truncated.
fn answer(zone: &Zone, query: &Query, limit: usize, out: &mut MessageWriter) -> (Rcode, u16, bool) {
    let question = &query.question;
    out.put_slice(&[0; HEADER_LEN]);
    // The question as it came, case and all; answers' names point into it.
    out.put_name(&question.name);
    out.put_u16(question.qtype.0);
    out.put_u16(question.qclass);
    let question_end = out.len();

    let name = question.name.to_lowercase();
    let ours = (question.qclass == CLASS_IN || question.qclass == RecordType::ANY.0)
        && name.is_within(zone.origin());
    let mut counts = Counts::default();
    let mut rcode = if ours {
        resolve(zone, name, question.qtype, out, &mut counts)
    } else {
        Rcode::Refused
    };
    if query.edns.is_some_and(|edns| edns.version > 0) {
        // RFC 6891 section 6.1.3: only version 0 exists.
        rcode = Rcode::BadVers;
        out.truncate(question_end);
        counts = Counts::default();
    }
    if query.edns.is_some() {
        write_opt(out, rcode, &mut counts);
    }
    let mut truncated = false;
    if out.len() > limit {
        truncated = true;
        out.truncate(question_end);
        counts = Counts::default();
        if query.edns.is_some() {
            write_opt(out, rcode, &mut counts);
        }
    }
    let aa = if ours { flags::AA } else { 0 };
    let tc = if truncated { flags::TC } else { 0 };
    write_header(out, &query.header, rcode, 1, counts, aa | tc);
    (rcode, counts.answer, truncated)
}

// ANCHOR: resolve
/// Looks `name` (lower case, inside the zone) up for `qtype`, writing the
/// answer and authority records.
fn resolve(
    zone: &Zone,
    mut name: Name,
    qtype: RecordType,
    out: &mut MessageWriter,
    counts: &mut Counts,
) -> Rcode {
    for _ in 0..=MAX_CNAME_CHAIN {
        let Some(records) = zone.records_at(&name) else {
            negative(zone, out, counts);
            return if zone.name_exists(&name) {
                Rcode::NoError // an empty non-terminal: it exists, with nothing
            } else {
                Rcode::NxDomain
            };
        };
        if qtype != RecordType::CNAME && qtype != RecordType::ANY {
            let cname = records
                .iter()
                .find(|record| record.record_type() == RecordType::CNAME);
            if let Some(
                cname @ Record {
                    data: RecordData::Cname(target),
                    ..
                },
            ) = cname
            {
                cname.write_to(out, cname.ttl);
                counts.answer += 1;
                if !target.is_within(zone.origin()) {
                    return Rcode::NoError;
                }
                name = target.clone();
                continue;
            }
        }
        let wanted = |record: &&Record| qtype == RecordType::ANY || record.record_type() == qtype;
        let before = counts.answer;
        for record in records.iter().filter(wanted) {
            record.write_to(out, record.ttl);
            counts.answer += 1;
        }
        if counts.answer == before {
            negative(zone, out, counts);
        }
        // The addresses of the name servers and mail servers named, to save
        // the resolver a question.
        for record in records.iter().filter(wanted) {
            if let RecordData::Ns(target) | RecordData::Mx(_, target) = &record.data {
                for glue in zone.records_at(target).unwrap_or_default() {
                    if matches!(glue.record_type(), RecordType::A | RecordType::AAAA) {
                        glue.write_to(out, glue.ttl);
                        counts.additional += 1;
                    }
                }
            }
        }
        return Rcode::NoError;
    }
    // A chain longer than that is a loop in the zone.
    Rcode::ServFail
}
// ANCHOR_END: resolve

/// The SOA in the authority section of a negative answer, with the TTL
/// RFC 2308 section 3 gives it: the smaller of its own and its minimum.
fn negative(zone: &Zone, out: &mut MessageWriter, counts: &mut Counts) {
    let soa = zone.soa();
    let ttl = match &soa.data {
        RecordData::Soa(fields) => soa.ttl.min(fields.minimum),
        _ => soa.ttl,
    };
    soa.write_to(out, ttl);
    counts.authority += 1;
}

/// Our OPT record (RFC 6891 section 6.1.2): the UDP size we take, and the
/// top 8 bits of a 12-bit response code.
fn write_opt(out: &mut MessageWriter, rcode: Rcode, counts: &mut Counts) {
    out.put_u8(0); // the root
    out.put_u16(RecordType::OPT.0);
    out.put_u16(EDNS_UDP_ANSWER);
    out.put_u8(((rcode as u16) >> 4) as u8);
    out.put_slice(&[0, 0, 0]); // version 0, no flags
    out.put_u16(0); // no options
    counts.additional += 1;
}

/// Writes a response header at the start of `out` (which may be empty),
/// with `extra` flags (AA, TC) besides QR and those copied from the query.
fn write_header(
    out: &mut MessageWriter,
    query: &Header,
    rcode: Rcode,
    questions: u16,
    counts: Counts,
    extra: u16,
) {
    let copied = query.flags & (flags::OPCODE_MASK | flags::RD);
    let bits = flags::QR | copied | extra | ((rcode as u16) & 0xf);
    let fields = [
        query.id,
        bits,
        questions,
        counts.answer,
        counts.authority,
        counts.additional,
    ];
    if out.is_empty() {
        out.put_slice(&[0; HEADER_LEN]);
    }
    for (index, value) in fields.into_iter().enumerate() {
        out.patch_u16(index * 2, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for `name` of `qtype` (no EDNS).
    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut message = vec![0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.').filter(|label| !label.is_empty()) {
            message.push(label.len() as u8);
            message.extend_from_slice(label.as_bytes());
        }
        message.push(0);
        message.extend_from_slice(&qtype.to_be_bytes());
        message.extend_from_slice(&1u16.to_be_bytes());
        message
    }

    fn ask(zone: &Zone, name: &str, qtype: u16) -> Vec<u8> {
        let mut out = MessageWriter::new();
        let peer = SocketAddr::from(([127, 0, 0, 1], 9));
        assert!(respond(
            zone,
            &query(name, qtype),
            Transport::Udp,
            peer,
            &mut out
        ));
        out.bytes().to_vec()
    }

    const HEAD: &str = "$ORIGIN x.\n$TTL 1\n@ SOA a b 1 2 3 4 5\n@ NS a\n";

    #[test]
    fn a_udp_answer_of_512_bytes_is_sent_whole_513_is_truncated() {
        // Header 12, question `t.x.` 5 + 4, the record: a pointer 2, then
        // 10 bytes of type, class, TTL and length, then the data: 33 + data.
        for (total, truncated) in [(511, false), (512, false), (513, true)] {
            let second = total - 33 - 256 - 1;
            let zone = format!(
                "{HEAD}t TXT \"{}\" \"{}\"\n",
                "a".repeat(255),
                "b".repeat(second)
            );
            let zone = Zone::parse(&zone).expect("a valid zone");
            let answer = ask(&zone, "t.x.", RecordType::TXT.0);
            let tc = answer[2] & 0x02 != 0;
            assert_eq!(tc, truncated, "{total} bytes");
            if !truncated {
                assert_eq!(answer.len(), total);
            }
        }
    }

    #[test]
    fn a_chain_of_8_cnames_is_followed_9_is_servfail() {
        for (links, rcode) in [(7, 0), (8, 0), (9, 2)] {
            let mut zone = HEAD.to_string();
            for n in 0..links {
                zone.push_str(&format!("c{n} CNAME c{}\n", n + 1));
            }
            zone.push_str(&format!("c{links} A 127.0.0.1\n"));
            let zone = Zone::parse(&zone).expect("a valid zone");
            let answer = ask(&zone, "c0.x.", RecordType::A.0);
            assert_eq!(answer[3] & 0x0f, rcode, "{links} CNAMEs");
        }
    }
}

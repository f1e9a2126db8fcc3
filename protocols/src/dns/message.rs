//! The DNS message parser: a query's header, its question, and EDNS.
//!
//! What to notice:
//! - **A DNS message is binary, with fixed fields first** (RFC 1035 section
//!   4.1): a 12-byte header (an id, flag bits, four counts), then the
//!   question (a name, a type, a class), then three sections of records. A
//!   query is a message with one question and no records, except maybe an
//!   `OPT` record (EDNS, RFC 6891) saying how large an answer the client's
//!   UDP buffer takes.
//! - **Every field is bounds-checked; every count is distrusted.** A query
//!   saying it holds 65,535 records, or whose name runs past its end, is
//!   parsed as far as its bytes go and then refused with `FORMERR`.
//! - **Three outcomes**, as for every parser here: a [`Query`]; an error
//!   worth answering (the header was readable, so the client can match our
//!   `FORMERR` or `NOTIMP` to its question by id); or silence
//!   ([`Malformed::Drop`]): too short to have an id, or itself a response.
//!   Answering a response would let two servers bounce one packet between
//!   them for ever, lesson 2's echo loop again; the `QR` bit is DNS's guard.

use crate::dns::name::Name;
use crate::dns::record::RecordType;

/// The header's size.
pub const HEADER_LEN: usize = 12;

/// A response code (RFC 1035 section 4.1.1; `BADVERS` from RFC 6891).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    /// No error.
    NoError = 0,
    /// The query was malformed.
    FormErr = 1,
    /// The server failed.
    ServFail = 2,
    /// The name does not exist.
    NxDomain = 3,
    /// Not implemented (an opcode other than QUERY).
    NotImp = 4,
    /// The server will not answer (a name outside its zone).
    Refused = 5,
    /// An EDNS version we do not speak (12 bits: needs the OPT record).
    BadVers = 16,
}

impl std::fmt::Display for Rcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Rcode::NoError => "NOERROR",
            Rcode::FormErr => "FORMERR",
            Rcode::ServFail => "SERVFAIL",
            Rcode::NxDomain => "NXDOMAIN",
            Rcode::NotImp => "NOTIMP",
            Rcode::Refused => "REFUSED",
            Rcode::BadVers => "BADVERS",
        })
    }
}

/// The header's flag bits (RFC 1035 section 4.1.1).
pub mod flags {
    /// This message is a response.
    pub const QR: u16 = 1 << 15;
    /// The kind of query: 0 is QUERY.
    pub const OPCODE_MASK: u16 = 0b1111 << 11;
    /// Authoritative answer: from the zone's own server.
    pub const AA: u16 = 1 << 10;
    /// Truncated: the whole answer did not fit; ask again over TCP.
    pub const TC: u16 = 1 << 9;
    /// Recursion desired (copied into the response).
    pub const RD: u16 = 1 << 8;
}

/// The 12-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Chosen by the client; the response carries it back.
    pub id: u16,
    /// QR, opcode, AA, TC, RD, RA, Z, RCODE.
    pub flags: u16,
    /// Questions.
    pub qdcount: u16,
    /// Answer records.
    pub ancount: u16,
    /// Authority records.
    pub nscount: u16,
    /// Additional records.
    pub arcount: u16,
}

impl Header {
    /// Reads the header, if there are 12 bytes.
    pub fn read(message: &[u8]) -> Option<Header> {
        let field = |at: usize| {
            Some(u16::from_be_bytes([
                *message.get(at)?,
                *message.get(at + 1)?,
            ]))
        };
        Some(Header {
            id: field(0)?,
            flags: field(2)?,
            qdcount: field(4)?,
            ancount: field(6)?,
            nscount: field(8)?,
            arcount: field(10)?,
        })
    }
}

/// The question: which name, which type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The name, in the case it was sent.
    pub name: Name,
    /// The type asked for.
    pub qtype: RecordType,
    /// The class (1, IN).
    pub qclass: u16,
}

/// EDNS, from the query's OPT record (RFC 6891 section 6.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    /// The largest UDP answer the client can take.
    pub udp_size: u16,
    /// The EDNS version (0 is the only one).
    pub version: u8,
}

/// A query, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Its header.
    pub header: Header,
    /// Its one question.
    pub question: Question,
    /// Its OPT record, if it has one.
    pub edns: Option<Edns>,
}

/// Why a message is not a query we answer normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// No answer at all: shorter than a header, or a response.
    Drop,
    /// Answer with this code and the header's id.
    Answer(Header, Rcode),
}

// ANCHOR: parse_query
/// Parses a query.
pub fn parse_query(message: &[u8]) -> Result<Query, Malformed> {
    let header = Header::read(message).ok_or(Malformed::Drop)?;
    if header.flags & flags::QR != 0 {
        return Err(Malformed::Drop);
    }
    if header.flags & flags::OPCODE_MASK != 0 {
        return Err(Malformed::Answer(header, Rcode::NotImp));
    }
    let formerr = Malformed::Answer(header, Rcode::FormErr);
    // RFC 9619: a query has exactly one question; and a QUERY carries no
    // answer or authority records.
    if header.qdcount != 1 || header.ancount != 0 || header.nscount != 0 {
        return Err(formerr);
    }
    let (name, at) = Name::read(message, HEADER_LEN).map_err(|_| formerr)?;
    let qtype = read_u16(message, at).ok_or(formerr)?;
    let qclass = read_u16(message, at + 2).ok_or(formerr)?;
    let question = Question {
        name,
        qtype: RecordType(qtype),
        qclass,
    };
    let edns = read_additional(message, at + 4, header.arcount).ok_or(formerr)?;
    Ok(Query {
        header,
        question,
        edns,
    })
}
// ANCHOR_END: parse_query

/// Reads the additional section's `count` records from `at`, keeping the
/// OPT record; `None` if any record is malformed, or there are two OPTs.
fn read_additional(message: &[u8], mut at: usize, count: u16) -> Option<Option<Edns>> {
    let mut edns = None;
    // The count is the client's word; the bytes run out first if it lies.
    for _ in 0..count {
        let (owner, after_name) = Name::read(message, at).ok()?;
        let record_type = read_u16(message, after_name)?;
        let class = read_u16(message, after_name + 2)?;
        let ttl = message.get(after_name + 4..after_name + 8)?;
        let data_length = usize::from(read_u16(message, after_name + 8)?);
        let data_end = after_name + 10 + data_length;
        message.get(after_name + 10..data_end)?;
        if RecordType(record_type) == RecordType::OPT {
            // One OPT, owned by the root (RFC 6891 section 6.1.1).
            if edns.is_some() || !owner.is_root() {
                return None;
            }
            edns = Some(Edns {
                udp_size: class,
                version: ttl[1],
            });
        }
        at = data_end;
    }
    Some(edns)
}

/// The 16-bit number at `at`, if the message is long enough.
fn read_u16(message: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([
        *message.get(at)?,
        *message.get(at + 1)?,
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for `name`/`qtype`, as dig sends it, with an OPT record if
    /// `udp_size` is given.
    fn query(name: &[u8], qtype: u16, udp_size: Option<u16>) -> Vec<u8> {
        let mut message = vec![
            0x12,
            0x34,
            0x01,
            0x00,
            0,
            1,
            0,
            0,
            0,
            0,
            0,
            u8::from(udp_size.is_some()),
        ];
        message.extend_from_slice(name);
        message.extend_from_slice(&qtype.to_be_bytes());
        message.extend_from_slice(&1u16.to_be_bytes());
        if let Some(size) = udp_size {
            message.push(0);
            message.extend_from_slice(&41u16.to_be_bytes());
            message.extend_from_slice(&size.to_be_bytes());
            message.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        }
        message
    }

    #[test]
    fn a_query_parses_with_its_edns_size() {
        let parsed =
            parse_query(&query(b"\x03www\x06plants\x04test\x00", 1, Some(1232))).expect("valid");
        assert_eq!(parsed.header.id, 0x1234);
        assert_eq!(parsed.question.name.to_string(), "www.plants.test.");
        assert_eq!(parsed.question.qtype, RecordType::A);
        assert_eq!(
            parsed.edns,
            Some(Edns {
                udp_size: 1232,
                version: 0
            })
        );
        let plain = parse_query(&query(b"\x00", 2, None)).expect("valid");
        assert_eq!(plain.edns, None);
    }

    #[test]
    fn too_short_or_a_response_is_dropped() {
        assert_eq!(parse_query(&[0; 11]), Err(Malformed::Drop));
        let mut response = query(b"\x00", 1, None);
        response[2] |= 0x80;
        assert_eq!(parse_query(&response), Err(Malformed::Drop));
    }

    #[test]
    fn malformed_queries_get_formerr_with_their_id() {
        let valid = query(b"\x03www\x00", 1, Some(1232));
        let mut cases: Vec<Vec<u8>> = Vec::new();
        // Cut short everywhere after the header.
        for len in HEADER_LEN..valid.len() {
            cases.push(valid[..len].to_vec());
        }
        // Two questions; an answer record; a pointer loop in the name.
        let mut two = valid.clone();
        two[5] = 2;
        cases.push(two);
        let mut answer = valid.clone();
        answer[7] = 1;
        cases.push(answer);
        cases.push(query(b"\xc0\x0c", 1, None));
        // Two OPT records.
        let mut two_opts = valid.clone();
        two_opts[11] = 2;
        two_opts.extend_from_slice(&valid[valid.len() - 11..]);
        cases.push(two_opts);
        for case in cases {
            match parse_query(&case) {
                Err(Malformed::Answer(header, Rcode::FormErr)) => assert_eq!(header.id, 0x1234),
                other => panic!("{case:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn another_opcode_gets_notimp() {
        let mut notify = query(b"\x00", 6, None);
        notify[2] |= 4 << 3;
        assert!(matches!(
            parse_query(&notify),
            Err(Malformed::Answer(_, Rcode::NotImp))
        ));
    }
}

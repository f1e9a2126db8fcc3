//! The checker's DNS messages: queries written, answers read (RFC 1035 section 4), no I/O.
//!
//! What to notice: this is the checker's own code, written apart from the
//! lesson's parser, so a server passes because its bytes are right, not
//! because both sides share a mistake. A query is 12 bytes of header and
//! one question. An answer is read strictly: every length is checked
//! against the bytes that came, every compression pointer must point to an
//! earlier place (where the rest of the name was already written), a name
//! has at most 255 bytes, each record's data must fill exactly the length it
//! declares, and nothing may follow the last record the header counts. A
//! server's mistake becomes a [`Malformed`] that names the byte.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::escape::push_escaped;

/// Type A: an IPv4 address (RFC 1035 section 3.2.2).
pub const TYPE_A: u16 = 1;
/// Type NS: a name server of the zone.
pub const TYPE_NS: u16 = 2;
/// Type CNAME: this name is another name for the one in the data.
pub const TYPE_CNAME: u16 = 5;
/// Type SOA: the start of a zone of authority.
pub const TYPE_SOA: u16 = 6;
/// Type MX: where mail for the name goes.
pub const TYPE_MX: u16 = 15;
/// Type TXT: strings.
pub const TYPE_TXT: u16 = 16;
/// Type AAAA: an IPv6 address (RFC 3596).
pub const TYPE_AAAA: u16 = 28;
/// Type OPT: EDNS's pseudo-record (RFC 6891).
pub const TYPE_OPT: u16 = 41;

/// Class IN, the internet.
pub const CLASS_IN: u16 = 1;

/// RCODE 0: no error (RFC 1035 section 4.1.1).
pub const NOERROR: u8 = 0;
/// RCODE 1: the query was malformed.
pub const FORMERR: u8 = 1;
/// RCODE 3: the name does not exist.
pub const NXDOMAIN: u8 = 3;
/// RCODE 5: the server will not answer this (not its zone).
pub const REFUSED: u8 = 5;

/// The header's size.
pub const HEADER_BYTES: usize = 12;

/// The longest name on the wire, its length bytes and final zero included
/// (RFC 1035 section 2.3.4).
const MAX_NAME_BYTES: usize = 255;

/// A query for `name` (dots between labels, case kept), type `qtype`,
/// class IN, with RD set, as dig sends it without EDNS.
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_BYTES + name.len() + 6);
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(&[0x01, 0x00]); // RD: recursion desired
    bytes.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question
    for label in name.split('.').filter(|label| !label.is_empty()) {
        bytes.push(label.len() as u8);
        bytes.extend_from_slice(label.as_bytes());
    }
    bytes.push(0);
    bytes.extend_from_slice(&qtype.to_be_bytes());
    bytes.extend_from_slice(&CLASS_IN.to_be_bytes());
    bytes
}

/// A message read from the wire.
#[derive(Debug, Clone)]
pub struct Message {
    /// The ID, which a response copies from its query.
    pub id: u16,
    /// The 16 flag bits: QR, opcode, AA, TC, RD, RA, Z, RCODE.
    pub flags: u16,
    /// The questions, usually one.
    pub questions: Vec<Question>,
    /// The answer section: the records asked for.
    pub answers: Vec<Record>,
    /// The authority section: the zone's SOA with NXDOMAIN, say.
    pub authority: Vec<Record>,
    /// The additional section: records that save a question (and OPT).
    pub additional: Vec<Record>,
    /// The message's size in bytes.
    pub size: usize,
}

/// The header alone: what can be read of any message of 12 bytes or more.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    /// The ID.
    pub id: u16,
    /// The 16 flag bits.
    pub flags: u16,
}

impl Header {
    /// The first 12 bytes, if there are 12.
    pub fn read(bytes: &[u8]) -> Option<Header> {
        let header = bytes.get(..HEADER_BYTES)?;
        Some(Header {
            id: u16::from_be_bytes([header[0], header[1]]),
            flags: u16::from_be_bytes([header[2], header[3]]),
        })
    }

    /// QR: a response.
    pub fn qr(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    /// The response code, the flags' last four bits.
    pub fn rcode(&self) -> u8 {
        (self.flags & 0x000f) as u8
    }

    /// TC: truncated.
    pub fn tc(&self) -> bool {
        self.flags & 0x0200 != 0
    }
}

impl Message {
    fn header(&self) -> Header {
        Header {
            id: self.id,
            flags: self.flags,
        }
    }

    /// QR: a response.
    pub fn qr(&self) -> bool {
        self.header().qr()
    }

    /// The opcode (0: a standard query).
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }

    /// AA: an authoritative answer.
    pub fn aa(&self) -> bool {
        self.flags & 0x0400 != 0
    }

    /// TC: truncated.
    pub fn tc(&self) -> bool {
        self.header().tc()
    }

    /// RD: recursion desired, copied from the query.
    pub fn rd(&self) -> bool {
        self.flags & 0x0100 != 0
    }

    /// The response code.
    pub fn rcode(&self) -> u8 {
        self.header().rcode()
    }

    /// The message as the report shows it, in dig's words:
    /// `NOERROR, flags qr aa rd, answer: www.plants.test. 300 IN A 127.0.0.1`.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "id {:#06x}, {}, flags {}",
            self.id,
            rcode_name(self.rcode()),
            flag_names(self.flags)
        );
        for (section, records) in [
            ("answer", &self.answers),
            ("authority", &self.authority),
            ("additional", &self.additional),
        ] {
            if records.is_empty() {
                continue;
            }
            let shown: Vec<String> = records.iter().map(Record::describe).collect();
            let _ = write!(text, "; {section}: {}", shown.join(", "));
        }
        if self.answers.is_empty() {
            text.push_str("; no answer records");
        }
        let _ = write!(text, " ({} bytes)", self.size);
        text
    }
}

/// `qr aa rd`: the flags that are set, as dig names them.
pub fn flag_names(flags: u16) -> String {
    let names: Vec<&str> = [
        (0x8000, "qr"),
        (0x0400, "aa"),
        (0x0200, "tc"),
        (0x0100, "rd"),
        (0x0080, "ra"),
    ]
    .iter()
    .filter(|(bit, _)| flags & bit != 0)
    .map(|(_, name)| *name)
    .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(" ")
    }
}

/// `NOERROR`, `NXDOMAIN`, ...
pub fn rcode_name(rcode: u8) -> String {
    match rcode {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        other => format!("RCODE {other}"),
    }
}

/// `A`, `AAAA`, `TYPE99`.
pub fn type_name(rtype: u16) -> String {
    match rtype {
        TYPE_A => "A".into(),
        TYPE_NS => "NS".into(),
        TYPE_CNAME => "CNAME".into(),
        TYPE_SOA => "SOA".into(),
        TYPE_MX => "MX".into(),
        TYPE_TXT => "TXT".into(),
        TYPE_AAAA => "AAAA".into(),
        TYPE_OPT => "OPT".into(),
        other => format!("TYPE{other}"),
    }
}

/// One question.
#[derive(Debug, Clone)]
pub struct Question {
    /// The name, labels joined with dots, as it came (case kept).
    pub name: String,
    /// The type asked for.
    pub qtype: u16,
    /// The class, IN.
    pub qclass: u16,
}

/// One resource record.
#[derive(Debug, Clone)]
pub struct Record {
    /// The owner name, as it came (case kept).
    pub name: String,
    /// Its type.
    pub rtype: u16,
    /// Its class, IN.
    pub class: u16,
    /// How long a resolver may keep it, in seconds.
    pub ttl: u32,
    /// Its data, read by type.
    pub data: Data,
}

impl Record {
    /// `www.plants.test. 300 IN A 127.0.0.1`.
    pub fn describe(&self) -> String {
        let class = if self.class == CLASS_IN {
            "IN".to_string()
        } else {
            format!("CLASS{}", self.class)
        };
        format!(
            "{}. {} {class} {} {}",
            self.name,
            self.ttl,
            type_name(self.rtype),
            self.data.describe()
        )
    }

    /// Whether the owner is `name`, compared without case (RFC 4343).
    pub fn is_for(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// A record's data, by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// A: an IPv4 address.
    A(Ipv4Addr),
    /// AAAA: an IPv6 address.
    Aaaa(Ipv6Addr),
    /// CNAME and NS: a name.
    Name(String),
    /// MX: a preference and the mail server's name.
    Mx(u16, String),
    /// TXT: one or more strings.
    Txt(Vec<Vec<u8>>),
    /// SOA: the primary server, the administrator's mailbox, and two of
    /// its five numbers.
    Soa {
        /// The primary server's name.
        mname: String,
        /// The administrator's mailbox, as a name.
        rname: String,
        /// The zone's version.
        serial: u32,
        /// How long "no such name" may be remembered (RFC 2308).
        minimum: u32,
    },
    /// Any other type: its bytes.
    Other(Vec<u8>),
}

/// A TXT string is shown up to this many bytes.
const SHOWN_TXT_BYTES: usize = 40;

impl Data {
    fn describe(&self) -> String {
        match self {
            Data::A(ip) => ip.to_string(),
            Data::Aaaa(ip) => ip.to_string(),
            Data::Name(name) => format!("{name}."),
            Data::Mx(preference, name) => format!("{preference} {name}."),
            Data::Txt(strings) => {
                let shown: Vec<String> = strings
                    .iter()
                    .map(|string| {
                        let mut text = String::from("\"");
                        for &byte in string.iter().take(SHOWN_TXT_BYTES) {
                            push_escaped(&mut text, byte);
                        }
                        text.push('"');
                        if string.len() > SHOWN_TXT_BYTES {
                            let _ = write!(text, "...({} bytes)", string.len());
                        }
                        text
                    })
                    .collect();
                shown.join(" ")
            }
            Data::Soa {
                mname,
                rname,
                serial,
                minimum,
            } => format!("{mname}. {rname}. {serial} ... {minimum}"),
            Data::Other(bytes) => format!("({} bytes)", bytes.len()),
        }
    }
}

/// Why a message could not be read: what is wrong, and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// The offset where reading went wrong.
    pub at: usize,
    /// What is wrong, in the learner's words.
    pub problem: String,
}

impl Malformed {
    fn new(at: usize, problem: impl Into<String>) -> Malformed {
        Malformed {
            at,
            problem: problem.into(),
        }
    }
}

/// Reads a whole message, strictly.
pub fn parse(bytes: &[u8]) -> Result<Message, Malformed> {
    let header = Header::read(bytes).ok_or_else(|| {
        Malformed::new(
            bytes.len(),
            format!("{} bytes, shorter than the 12-byte header", bytes.len()),
        )
    })?;
    let count = |at: usize| usize::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]));
    let (qdcount, ancount, nscount, arcount) = (count(4), count(6), count(8), count(10));
    let mut at = HEADER_BYTES;
    let mut questions = Vec::new();
    for _ in 0..qdcount {
        let (name, end) = read_name(bytes, at)?;
        let fixed = bytes
            .get(end..end + 4)
            .ok_or_else(|| Malformed::new(end, "the question's type and class run past the end"))?;
        questions.push(Question {
            name,
            qtype: u16::from_be_bytes([fixed[0], fixed[1]]),
            qclass: u16::from_be_bytes([fixed[2], fixed[3]]),
        });
        at = end + 4;
    }
    let mut sections = [Vec::new(), Vec::new(), Vec::new()];
    for (section, wanted) in sections.iter_mut().zip([ancount, nscount, arcount]) {
        for _ in 0..wanted {
            let (record, end) = read_record(bytes, at)?;
            section.push(record);
            at = end;
        }
    }
    if at != bytes.len() {
        return Err(Malformed::new(
            at,
            format!(
                "{} bytes after the last record the header counts ({qdcount} question, {ancount} \
                 answer, {nscount} authority, {arcount} additional)",
                bytes.len() - at
            ),
        ));
    }
    let [answers, authority, additional] = sections;
    Ok(Message {
        id: header.id,
        flags: header.flags,
        questions,
        answers,
        authority,
        additional,
        size: bytes.len(),
    })
}

/// Reads the name at `at`: its labels joined with dots (the root is ""),
/// and where the name ends in the message (after its zero, or after the
/// first pointer).
pub fn read_name(bytes: &[u8], at: usize) -> Result<(String, usize), Malformed> {
    let mut name = String::new();
    let mut position = at;
    // Where the labels being read began: a pointer must point before it,
    // so each jump lands earlier than the last, and reading ends.
    let mut run_start = at;
    let mut end = None;
    let mut wire_bytes = 0;
    // The last pointer followed (from, to): a mistake found after a jump
    // is most often the pointer's own, and the report says so.
    let mut jumped: Option<(usize, usize)> = None;
    let malformed = |at: usize, problem: &str, jumped: Option<(usize, usize)>| match jumped {
        Some((from, to)) => Malformed::new(
            at,
            format!(
                "{problem}, reached through the compression pointer at byte {from} to byte {to}"
            ),
        ),
        None => Malformed::new(at, problem),
    };
    loop {
        let length = *bytes.get(position).ok_or_else(|| {
            malformed(position, "a name runs past the end of the message", jumped)
        })?;
        match length & 0xc0 {
            0xc0 => {
                let low = *bytes.get(position + 1).ok_or_else(|| {
                    Malformed::new(
                        position,
                        "a compression pointer is cut off by the end of the message",
                    )
                })?;
                let target = usize::from(length & 0x3f) << 8 | usize::from(low);
                if target >= run_start {
                    return Err(Malformed::new(
                        position,
                        format!(
                            "a compression pointer to byte {target}, which is not before the name \
                             it ends (byte {run_start}): a pointer points back to an earlier copy"
                        ),
                    ));
                }
                end.get_or_insert(position + 2);
                jumped = Some((position, target));
                run_start = target;
                position = target;
            }
            0x00 if length == 0 => {
                wire_bytes += 1;
                if wire_bytes > MAX_NAME_BYTES {
                    return Err(Malformed::new(at, "a name longer than 255 bytes"));
                }
                return Ok((name, end.unwrap_or(position + 1)));
            }
            0x00 => {
                let label = bytes
                    .get(position + 1..position + 1 + usize::from(length))
                    .ok_or_else(|| {
                        malformed(position, "a label runs past the end of the message", jumped)
                    })?;
                wire_bytes += 1 + label.len();
                if wire_bytes > MAX_NAME_BYTES {
                    return Err(Malformed::new(at, "a name longer than 255 bytes"));
                }
                if !name.is_empty() {
                    name.push('.');
                }
                push_label(&mut name, label);
                position += 1 + label.len();
            }
            _ => {
                return Err(malformed(
                    position,
                    &format!(
                        "a length byte {length:#04x}: its two high bits 01 or 10 mean nothing"
                    ),
                    jumped,
                ));
            }
        }
    }
}

/// A label as text: letters, digits, `-` and `_` as they are, anything
/// else escaped (`\.` for a dot inside a label, `\x00` for a zero byte).
fn push_label(name: &mut String, label: &[u8]) {
    for &byte in label {
        match byte {
            b'.' => name.push_str("\\."),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'*' => {
                name.push(char::from(byte))
            }
            _ => push_escaped(name, byte),
        }
    }
}

/// Reads the record at `at`, and where it ends.
fn read_record(bytes: &[u8], at: usize) -> Result<(Record, usize), Malformed> {
    let (name, after_name) = read_name(bytes, at)?;
    let fixed = bytes.get(after_name..after_name + 10).ok_or_else(|| {
        Malformed::new(
            after_name,
            "a record's type, class, TTL and length run past the end",
        )
    })?;
    let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let class = u16::from_be_bytes([fixed[2], fixed[3]]);
    let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let length = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    let start = after_name + 10;
    let end = start + length;
    let data = bytes.get(start..end).ok_or_else(|| {
        Malformed::new(
            after_name + 8,
            format!(
                "a {} record's data length is {length}, past the end of the message",
                type_name(rtype)
            ),
        )
    })?;
    let wrong_length = |expected: &str| {
        Malformed::new(
            after_name + 8,
            format!(
                "a {} record's data length is {length}; its data takes {expected}",
                type_name(rtype)
            ),
        )
    };
    // A name inside the data must end exactly where the data does.
    let name_in_data = |from: usize| -> Result<(String, usize), Malformed> {
        let (name, name_end) = read_name(bytes, from)?;
        if name_end > end {
            return Err(wrong_length(&format!("{} bytes", name_end - start)));
        }
        Ok((name, name_end))
    };
    let whole = |name_end: usize| {
        if name_end == end {
            Ok(())
        } else {
            Err(wrong_length(&format!("{} bytes", name_end - start)))
        }
    };
    let data = match rtype {
        TYPE_A => Data::A(Ipv4Addr::from(
            <[u8; 4]>::try_from(data).map_err(|_| wrong_length("4 bytes"))?,
        )),
        TYPE_AAAA => Data::Aaaa(Ipv6Addr::from(
            <[u8; 16]>::try_from(data).map_err(|_| wrong_length("16 bytes"))?,
        )),
        TYPE_CNAME | TYPE_NS => {
            let (target, name_end) = name_in_data(start)?;
            whole(name_end)?;
            Data::Name(target)
        }
        TYPE_MX => {
            if length < 3 {
                return Err(wrong_length("2 bytes and a name"));
            }
            let preference = u16::from_be_bytes([data[0], data[1]]);
            let (exchange, name_end) = name_in_data(start + 2)?;
            whole(name_end)?;
            Data::Mx(preference, exchange)
        }
        TYPE_SOA => {
            let (mname, after_mname) = name_in_data(start)?;
            let (rname, after_rname) = name_in_data(after_mname)?;
            let numbers = bytes
                .get(after_rname..after_rname + 20)
                .filter(|_| after_rname + 20 == end)
                .ok_or_else(|| wrong_length(&format!("{} bytes", after_rname + 20 - start)))?;
            let number = |i: usize| {
                u32::from_be_bytes([numbers[i], numbers[i + 1], numbers[i + 2], numbers[i + 3]])
            };
            Data::Soa {
                mname,
                rname,
                serial: number(0),
                minimum: number(16),
            }
        }
        TYPE_TXT => {
            let mut strings = Vec::new();
            let mut rest = data;
            while let Some((&string_length, tail)) = rest.split_first() {
                let string = tail.get(..usize::from(string_length)).ok_or_else(|| {
                    Malformed::new(
                        end - rest.len(),
                        "a TXT string's length runs past the record's data",
                    )
                })?;
                strings.push(string.to_vec());
                rest = &tail[string.len()..];
            }
            if strings.is_empty() {
                return Err(wrong_length(
                    "at least one string (a length byte, then the bytes)",
                ));
            }
            Data::Txt(strings)
        }
        _ => Data::Other(data.to_vec()),
    };
    Ok((
        Record {
            name,
            rtype,
            class,
            ttl,
            data,
        },
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lesson's chapter's answer to `www.plants.test A`, byte for byte.
    const ANSWER: &[u8] = b"\x12\x34\x85\x00\x00\x01\x00\x01\x00\x00\x00\x00\
\x03www\x06plants\x04test\x00\x00\x01\x00\x01\
\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x7f\x00\x00\x01";

    #[test]
    fn a_query_is_the_chapters_33_bytes() {
        assert_eq!(
            query(0x1234, "www.plants.test", TYPE_A),
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x06plants\x04test\x00\x00\x01\x00\x01"
        );
    }

    #[test]
    fn an_answer_with_a_pointer_is_read() {
        let message = parse(ANSWER).expect("well-formed");
        assert_eq!(message.id, 0x1234);
        assert!(message.qr() && message.aa() && message.rd() && !message.tc());
        assert_eq!(message.questions[0].name, "www.plants.test");
        assert_eq!(message.answers.len(), 1);
        assert_eq!(message.answers[0].data, Data::A(Ipv4Addr::LOCALHOST));
        assert_eq!(
            message.describe(),
            "id 0x1234, NOERROR, flags qr aa rd; answer: www.plants.test. 300 IN A 127.0.0.1 (49 bytes)"
        );
    }

    #[test]
    fn pointers_to_pointers_and_into_data_are_followed() {
        // shop.plants.test CNAME www.(plants.test), then www.plants.test A.
        let mut bytes = query(1, "shop.plants.test", TYPE_A);
        bytes[2] = 0x85;
        bytes[7] = 2;
        bytes.extend_from_slice(b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x01\x2c\x00\x06\x03www\xc0\x11");
        let www = bytes.len() - 6; // where `\x03www` begins
        bytes.extend_from_slice(&[0xc0, www as u8]);
        bytes.extend_from_slice(b"\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x7f\x00\x00\x01");
        let message = parse(&bytes).expect("well-formed");
        assert_eq!(
            message.answers[0].data,
            Data::Name("www.plants.test".into())
        );
        assert_eq!(message.answers[1].name, "www.plants.test");
    }

    #[test]
    fn loops_forward_pointers_and_overruns_are_malformed() {
        let mut looping = ANSWER.to_vec();
        looping[34] = 0x21; // the answer's pointer points at itself, byte 33
        assert!(parse(&looping).unwrap_err().problem.contains("not before"));
        let mut long_data = ANSWER.to_vec();
        long_data[43] = 5; // an A record claiming 5 bytes
        assert!(parse(&long_data).is_err());
        let mut extra = ANSWER.to_vec();
        extra.push(0);
        assert!(
            parse(&extra)
                .unwrap_err()
                .problem
                .contains("after the last record")
        );
        for end in 0..ANSWER.len() {
            assert!(parse(&ANSWER[..end]).is_err(), "a prefix of {end} bytes");
        }
    }

    #[test]
    fn names_of_254_and_255_bytes_are_read_and_of_256_are_not() {
        // Labels of 63 + 63 + 63 + 61 bytes: 4 length bytes and a zero: 255.
        let name = |last: usize| {
            let mut bytes = Vec::new();
            for length in [63, 63, 63, last] {
                bytes.push(length as u8);
                bytes.extend(std::iter::repeat_n(b'a', length));
            }
            bytes.push(0);
            bytes
        };
        assert_eq!(name(61).len(), 255);
        assert!(read_name(&name(60), 0).is_ok());
        assert!(read_name(&name(61), 0).is_ok());
        assert!(read_name(&name(62), 0).is_err());
    }
}

//! Resource records: what a zone holds and an answer carries.
//!
//! What to notice: every record has the same frame, an owner name, a type,
//! a class (always `IN`, the internet, today), a TTL (how many seconds a
//! resolver may keep it) and its data, preceded by the data's length (RFC
//! 1035 section 3.2.1). Only the data differs by type: four bytes for `A`,
//! sixteen for `AAAA`, a name for `CNAME` and `NS`, strings for `TXT`, seven
//! fields for `SOA`. Names inside the data of these well-known types may be
//! compressed too (RFC 3597 section 4 lists which).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::dns::compress::MessageWriter;
use crate::dns::name::Name;

/// A record type's number, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordType(pub u16);

impl RecordType {
    /// An IPv4 address.
    pub const A: RecordType = RecordType(1);
    /// The name servers of a zone.
    pub const NS: RecordType = RecordType(2);
    /// "This name is another name for that one."
    pub const CNAME: RecordType = RecordType(5);
    /// The start of a zone's authority: its serial and timers.
    pub const SOA: RecordType = RecordType(6);
    /// Where mail for this name goes (RFC 5321 section 5: an SMTP client
    /// looks it up).
    pub const MX: RecordType = RecordType(15);
    /// Text strings.
    pub const TXT: RecordType = RecordType(16);
    /// An IPv6 address (RFC 3596).
    pub const AAAA: RecordType = RecordType(28);
    /// EDNS's pseudo-record in the additional section (RFC 6891).
    pub const OPT: RecordType = RecordType(41);
    /// In a question: every type (RFC 1035 `*`, RFC 8482).
    pub const ANY: RecordType = RecordType(255);

    /// The type's name in a zone file, if it is one this server knows.
    pub fn from_name(name: &str) -> Option<RecordType> {
        let known = [
            ("A", RecordType::A),
            ("NS", RecordType::NS),
            ("CNAME", RecordType::CNAME),
            ("SOA", RecordType::SOA),
            ("MX", RecordType::MX),
            ("TXT", RecordType::TXT),
            ("AAAA", RecordType::AAAA),
        ];
        known
            .iter()
            .find(|(text, _)| text.eq_ignore_ascii_case(name))
            .map(|&(_, record_type)| record_type)
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            RecordType::A => "A",
            RecordType::NS => "NS",
            RecordType::CNAME => "CNAME",
            RecordType::SOA => "SOA",
            RecordType::MX => "MX",
            RecordType::TXT => "TXT",
            RecordType::AAAA => "AAAA",
            RecordType::OPT => "OPT",
            RecordType::ANY => "ANY",
            RecordType(number) => return write!(f, "TYPE{number}"),
        };
        f.write_str(name)
    }
}

/// The class `IN` (internet), the only one in use.
pub const CLASS_IN: u16 = 1;

/// The fields of a zone's SOA record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soa {
    /// The primary name server.
    pub mname: Name,
    /// The administrator's mailbox, its `@` written as a dot.
    pub rname: Name,
    /// The zone's version; secondaries copy the zone when it grows.
    pub serial: u32,
    /// Seconds between a secondary's checks of the serial.
    pub refresh: u32,
    /// Seconds before a failed check is retried.
    pub retry: u32,
    /// Seconds after which a secondary that cannot check stops answering.
    pub expire: u32,
    /// How long a resolver may remember that a name does not exist (RFC 2308).
    pub minimum: u32,
}

/// A record's data, by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    /// `A`.
    A(Ipv4Addr),
    /// `AAAA`.
    Aaaa(Ipv6Addr),
    /// `CNAME`: the canonical name.
    Cname(Name),
    /// `NS`: a name server.
    Ns(Name),
    /// `MX`: a preference (lower first) and a mail server.
    Mx(u16, Name),
    /// `TXT`: one or more strings of at most 255 bytes each.
    Txt(Vec<Vec<u8>>),
    /// `SOA`.
    Soa(Box<Soa>),
}

impl RecordData {
    /// This data's record type.
    pub fn record_type(&self) -> RecordType {
        match self {
            RecordData::A(_) => RecordType::A,
            RecordData::Aaaa(_) => RecordType::AAAA,
            RecordData::Cname(_) => RecordType::CNAME,
            RecordData::Ns(_) => RecordType::NS,
            RecordData::Mx(..) => RecordType::MX,
            RecordData::Txt(_) => RecordType::TXT,
            RecordData::Soa(_) => RecordType::SOA,
        }
    }
}

/// One record of a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its owner name, in lower case.
    pub owner: Name,
    /// Seconds a resolver may keep it.
    pub ttl: u32,
    /// What it says.
    pub data: RecordData,
}

impl Record {
    /// This record's type.
    pub fn record_type(&self) -> RecordType {
        self.data.record_type()
    }

    // ANCHOR: write_to
    /// Appends the record to a message, with `ttl` (an SOA in a negative
    /// answer is sent with a shorter one), names compressed.
    pub fn write_to(&self, out: &mut MessageWriter, ttl: u32) {
        out.put_name(&self.owner);
        out.put_u16(self.record_type().0);
        out.put_u16(CLASS_IN);
        out.put_u32(ttl);
        // The data's length comes first, and is known only once it is
        // written (a compressed name is shorter): write 0, patch it after.
        let length_at = out.len();
        out.put_u16(0);
        match &self.data {
            RecordData::A(ip) => out.put_slice(&ip.octets()),
            RecordData::Aaaa(ip) => out.put_slice(&ip.octets()),
            RecordData::Cname(name) | RecordData::Ns(name) => out.put_name(name),
            RecordData::Mx(preference, exchange) => {
                out.put_u16(*preference);
                out.put_name(exchange);
            }
            RecordData::Txt(strings) => {
                for string in strings {
                    // The zone loader keeps each string under 256 bytes.
                    out.put_u8(string.len() as u8);
                    out.put_slice(string);
                }
            }
            RecordData::Soa(soa) => {
                out.put_name(&soa.mname);
                out.put_name(&soa.rname);
                for number in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
                    out.put_u32(number);
                }
            }
        }
        let data_length = out.len() - (length_at + 2);
        out.patch_u16(length_at, data_length as u16);
    }
    // ANCHOR_END: write_to
}

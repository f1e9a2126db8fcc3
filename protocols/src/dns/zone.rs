//! The zone file: the names this server is the authority for, in RFC 1035's text format.
//!
//! What to notice:
//! - **A zone file is a list of records**, one per line: owner, TTL, class,
//!   type, data (RFC 1035 section 5). `@` is the zone's own name (`$ORIGIN`);
//!   a name without a final dot is relative to it (`www` is
//!   `www.plants.test.`); a line starting with a space has the previous
//!   line's owner; `;` starts a comment; parentheses continue a record over
//!   several lines (the SOA's habit). BIND, NSD, Knot and PowerDNS all read
//!   this format.
//! - **The zone is checked when it is loaded**, so a mistake is one line at
//!   startup, never a wrong answer later: exactly one SOA (its owner is the
//!   zone), every name inside the zone, at least one NS at the top, no other
//!   data beside a CNAME (RFC 1034 section 3.6.2).
//! - Shortcuts, named: no `$INCLUDE`, no wildcards (`*.plants.test`), no
//!   delegations (NS records below the top), no TTL units (`1h`): plain
//!   seconds. Each is refused with a line saying so.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::str::FromStr;

use crate::dns::name::Name;
use crate::dns::record::{Record, RecordData, RecordType, Soa};

/// The largest zone file read: the zone is held in memory, and a zone of
/// this lesson's kind is a few kilobytes.
pub const MAX_ZONE_FILE_BYTES: u64 = 1024 * 1024;

/// The zone this server answers for.
#[derive(Debug)]
pub struct Zone {
    /// Its top name, in lower case (`plants.test.`).
    origin: Name,
    /// Its SOA record, for negative answers.
    soa: Record,
    /// Every record, by owner (in lower case).
    records: HashMap<Name, Vec<Record>>,
    /// Every name that exists: each owner, and every name between an owner
    /// and the origin (an "empty non-terminal" exists with no records).
    names: HashSet<Name>,
}

/// A mistake in a zone file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneError {
    /// The line it is on (1 is the first), 0 for the zone as a whole.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl Zone {
    /// The zone's top name.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The SOA record.
    pub fn soa(&self) -> &Record {
        &self.soa
    }

    /// The records of a name (in lower case).
    pub fn records_at(&self, name: &Name) -> Option<&[Record]> {
        self.records.get(name).map(Vec::as_slice)
    }

    /// Whether a name (in lower case) exists, with records or without.
    pub fn name_exists(&self, name: &Name) -> bool {
        self.names.contains(name)
    }

    /// Reads a zone file from disk.
    pub fn load(path: &Path) -> Result<Zone, ZoneError> {
        let whole = |message: String| ZoneError { line: 0, message };
        let file = std::fs::File::open(path).map_err(|error| whole(error.to_string()))?;
        let mut text = String::new();
        file.take(MAX_ZONE_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|error| whole(error.to_string()))?;
        if text.len() as u64 > MAX_ZONE_FILE_BYTES {
            return Err(whole(format!("larger than {MAX_ZONE_FILE_BYTES} bytes")));
        }
        Zone::parse(&text)
    }

    // ANCHOR: parse
    /// Reads a zone from its text.
    pub fn parse(text: &str) -> Result<Zone, ZoneError> {
        let mut origin: Option<Name> = None;
        let mut default_ttl: Option<u32> = None;
        let mut owner: Option<Name> = None;
        let mut records = Vec::new();
        for entry in entries(text)? {
            let error = |message: String| ZoneError {
                line: entry.line,
                message,
            };
            let words: Vec<&str> = entry
                .tokens
                .iter()
                .map(|token| token.text.as_str())
                .collect();
            let argument = |what: &str| {
                words
                    .get(1)
                    .copied()
                    .ok_or_else(|| error(format!("{} needs {what}", words[0])))
            };
            if words[0].eq_ignore_ascii_case("$ORIGIN") {
                origin = Some(name_in(argument("a name")?, &Name::root(), &error)?.to_lowercase());
                continue;
            }
            if words[0].eq_ignore_ascii_case("$TTL") {
                default_ttl = Some(number(argument("a number")?, &error)?);
                continue;
            }
            if words[0].starts_with('$') {
                return Err(error(format!("{} is not supported", words[0])));
            }
            let relative_to = origin.clone().unwrap_or_else(Name::root);
            // The index of the next token to read.
            let mut next = 0;
            if !entry.owner_omitted {
                if words[0].starts_with('*') {
                    return Err(error("wildcards are not supported".into()));
                }
                owner = Some(name_in(words[0], &relative_to, &error)?.to_lowercase());
                next = 1;
            }
            let owner = owner
                .clone()
                .ok_or_else(|| error("the first record needs an owner".into()))?;
            let mut ttl = default_ttl;
            let mut record_type = None;
            // TTL and class come in either order before the type (section 5.1).
            while let Some(&word) = words.get(next) {
                next += 1;
                if word.bytes().all(|byte| byte.is_ascii_digit()) {
                    ttl = Some(number(word, &error)?);
                } else if !word.eq_ignore_ascii_case("IN") {
                    let known = RecordType::from_name(word);
                    record_type = Some(known.ok_or_else(|| {
                        error(format!("{word}: unknown or unsupported record type"))
                    })?);
                    break;
                }
            }
            let record_type = record_type.ok_or_else(|| error("no record type".into()))?;
            let ttl = ttl.ok_or_else(|| error("no TTL: give one, or a $TTL line first".into()))?;
            let data: Vec<&Token> = entry.tokens[next..].iter().collect();
            let data = record_data(record_type, &data, &relative_to, &error)?;
            records.push((entry.line, Record { owner, ttl, data }));
        }
        Zone::check(records)
    }
    // ANCHOR_END: parse

    /// The zone-wide rules, once every record is read.
    fn check(records: Vec<(usize, Record)>) -> Result<Zone, ZoneError> {
        let soas: Vec<&(usize, Record)> = records
            .iter()
            .filter(|(_, record)| record.record_type() == RecordType::SOA)
            .collect();
        let soa = match soas.as_slice() {
            [(_, soa)] => soa.clone(),
            [] => {
                return Err(ZoneError {
                    line: 0,
                    message: "no SOA record: a zone starts with one".into(),
                });
            }
            [_, (line, _), ..] => {
                return Err(ZoneError {
                    line: *line,
                    message: "a second SOA record: a zone has one".into(),
                });
            }
        };
        let origin = soa.owner.clone();
        let mut by_owner: HashMap<Name, Vec<Record>> = HashMap::new();
        let mut names = HashSet::new();
        for (line, record) in records {
            let error = |message: String| ZoneError { line, message };
            if !record.owner.is_within(&origin) {
                return Err(error(format!(
                    "{} is outside the zone {origin}",
                    record.owner
                )));
            }
            if record.record_type() == RecordType::NS && record.owner != origin {
                return Err(error(
                    "NS records below the zone's top (delegations) are not supported".into(),
                ));
            }
            let existing = by_owner.entry(record.owner.clone()).or_default();
            let has_cname =
                |records: &[Record]| records.iter().any(|r| r.record_type() == RecordType::CNAME);
            let is_cname = record.record_type() == RecordType::CNAME;
            if (is_cname && !existing.is_empty()) || (!is_cname && has_cname(existing)) {
                return Err(error(format!(
                    "{}: a CNAME cannot share its name with any other record",
                    record.owner
                )));
            }
            // The owner, and every name between it and the top, exist.
            let mut name = Some(record.owner.clone());
            while let Some(exists) = name.filter(|name| name.is_within(&origin)) {
                name = exists.parent();
                names.insert(exists);
            }
            existing.push(record);
        }
        let has_ns = by_owner
            .get(&origin)
            .is_some_and(|records| records.iter().any(|r| r.record_type() == RecordType::NS));
        if !has_ns {
            return Err(ZoneError {
                line: 0,
                message: format!("no NS record at {origin}: a zone names its servers"),
            });
        }
        Ok(Zone {
            origin,
            soa,
            records: by_owner,
            names,
        })
    }
}

/// A name in a zone file, relative to `origin` unless it ends in a dot.
fn name_in(
    text: &str,
    origin: &Name,
    error: &impl Fn(String) -> ZoneError,
) -> Result<Name, ZoneError> {
    Name::from_text(text, origin).map_err(|why| error(format!("{text}: {why}")))
}

/// A 32-bit number of seconds (or a serial).
fn number(text: &str, error: &impl Fn(String) -> ZoneError) -> Result<u32, ZoneError> {
    u32::from_str(text).map_err(|_| {
        error(format!(
            "{text}: expected a whole number (plain seconds; no units)"
        ))
    })
}

/// The data of a record of `record_type`, from its tokens.
fn record_data(
    record_type: RecordType,
    tokens: &[&Token],
    origin: &Name,
    error: &impl Fn(String) -> ZoneError,
) -> Result<RecordData, ZoneError> {
    let words: Vec<&str> = tokens.iter().map(|token| token.text.as_str()).collect();
    let expect = |count: usize, what: &str| {
        if words.len() == count {
            Ok(())
        } else {
            Err(error(format!("{record_type} takes {what}")))
        }
    };
    Ok(match record_type {
        RecordType::A => {
            expect(1, "an IPv4 address")?;
            RecordData::A(
                Ipv4Addr::from_str(words[0])
                    .map_err(|_| error(format!("{}: not an IPv4 address", words[0])))?,
            )
        }
        RecordType::AAAA => {
            expect(1, "an IPv6 address")?;
            RecordData::Aaaa(
                Ipv6Addr::from_str(words[0])
                    .map_err(|_| error(format!("{}: not an IPv6 address", words[0])))?,
            )
        }
        RecordType::CNAME => {
            expect(1, "a name")?;
            RecordData::Cname(name_in(words[0], origin, error)?.to_lowercase())
        }
        RecordType::NS => {
            expect(1, "a name")?;
            RecordData::Ns(name_in(words[0], origin, error)?.to_lowercase())
        }
        RecordType::MX => {
            expect(2, "a preference and a name")?;
            let preference = u16::from_str(words[0])
                .map_err(|_| error(format!("{}: not a preference", words[0])))?;
            RecordData::Mx(preference, name_in(words[1], origin, error)?.to_lowercase())
        }
        RecordType::TXT => {
            if tokens.is_empty() {
                return Err(error("TXT takes one or more strings".into()));
            }
            let mut strings = Vec::new();
            for token in tokens {
                if token.bytes.len() > 255 {
                    return Err(error(
                        "a TXT string holds at most 255 bytes; split it in several".into(),
                    ));
                }
                strings.push(token.bytes.clone());
            }
            RecordData::Txt(strings)
        }
        RecordType::SOA => {
            expect(7, "a server, a mailbox and five numbers")?;
            let numbers: Vec<u32> = words[2..]
                .iter()
                .map(|word| number(word, error))
                .collect::<Result<_, _>>()?;
            RecordData::Soa(Box::new(Soa {
                mname: name_in(words[0], origin, error)?.to_lowercase(),
                rname: name_in(words[1], origin, error)?.to_lowercase(),
                serial: numbers[0],
                refresh: numbers[1],
                retry: numbers[2],
                expire: numbers[3],
                minimum: numbers[4],
            }))
        }
        other => return Err(error(format!("{other}: unsupported record type"))),
    })
}

/// One token: a word, or a quoted string (its quotes gone, escapes decoded).
#[derive(Debug, Clone)]
struct Token {
    /// As text, for everything but TXT.
    text: String,
    /// As bytes, escapes decoded, for TXT.
    bytes: Vec<u8>,
}

/// One record or directive: its tokens, over as many lines as its
/// parentheses take.
#[derive(Debug)]
struct Entry {
    line: usize,
    owner_omitted: bool,
    tokens: Vec<Token>,
}

/// Splits a zone file into entries: comments dropped, parentheses joined,
/// quoted strings decoded.
fn entries(text: &str) -> Result<Vec<Entry>, ZoneError> {
    let mut entries = Vec::new();
    let mut current: Option<Entry> = None;
    let mut depth = 0u32;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let error = |message: &str| ZoneError {
            line: number,
            message: message.into(),
        };
        let entry = current.get_or_insert_with(|| Entry {
            line: number,
            owner_omitted: line.starts_with([' ', '\t']),
            tokens: Vec::new(),
        });
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                ';' => break,
                '(' => depth += 1,
                ')' => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| error("a ) without its ("))?
                }
                '"' => {
                    let mut bytes = Vec::new();
                    loop {
                        match chars.next() {
                            None => return Err(error("a quoted string without its closing quote")),
                            Some('"') => break,
                            Some('\\') => match chars.next() {
                                Some(digit) if digit.is_ascii_digit() => {
                                    let mut code = digit.to_digit(10).unwrap_or(0);
                                    for _ in 0..2 {
                                        let next = chars.next().and_then(|c| c.to_digit(10));
                                        code = code * 10
                                            + next
                                                .ok_or_else(|| error("\\DDD needs three digits"))?;
                                    }
                                    bytes.push(
                                        u8::try_from(code).map_err(|_| error("\\DDD above 255"))?,
                                    );
                                }
                                Some(escaped) => bytes.extend(escaped.to_string().bytes()),
                                None => return Err(error("a \\ at the end of a line")),
                            },
                            Some(other) => bytes.extend(other.to_string().bytes()),
                        }
                    }
                    entry.tokens.push(Token {
                        text: String::from_utf8_lossy(&bytes).into_owned(),
                        bytes,
                    });
                }
                c if c.is_whitespace() => {}
                c => {
                    let mut word = c.to_string();
                    while let Some(&next) = chars.peek() {
                        if next.is_whitespace() || matches!(next, ';' | '(' | ')' | '"') {
                            break;
                        }
                        word.push(next);
                        chars.next();
                    }
                    entry.tokens.push(Token {
                        bytes: word.clone().into_bytes(),
                        text: word,
                    });
                }
            }
        }
        if depth == 0 {
            if let Some(entry) = current.take().filter(|entry| !entry.tokens.is_empty()) {
                entries.push(entry);
            }
        }
    }
    if depth != 0 {
        return Err(ZoneError {
            line: current.map_or(0, |entry| entry.line),
            message: "a ( without its )".into(),
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: &str = "\
$ORIGIN plants.test.
$TTL 300
@   IN SOA ns1 hostmaster (
        1 3600 600 86400 60 ) ; the numbers
    IN NS ns1
    MX 10 mail
ns1 A 127.0.0.1
www 600 IN A 127.0.0.1
    IN AAAA ::1
shop CNAME www
note TXT \"two words\" three \"a \\\"quote\\\" and \\065\"
deep.down A 127.0.0.2
";

    fn name(text: &str) -> Name {
        Name::from_text(text, &Name::root()).expect("valid")
    }

    #[test]
    fn a_zone_file_reads_with_relative_names_defaults_and_parentheses() {
        let zone = Zone::parse(ZONE).expect("a valid zone");
        assert_eq!(zone.origin(), &name("plants.test."));
        let www = zone.records_at(&name("www.plants.test.")).expect("www");
        assert_eq!(www.len(), 2, "the AAAA line has www as its owner");
        assert_eq!(www[0].ttl, 600);
        assert_eq!(www[1].ttl, 300, "$TTL");
        let RecordData::Soa(soa) = &zone.soa().data else {
            panic!("the SOA")
        };
        assert_eq!((soa.serial, soa.minimum), (1, 60));
        assert_eq!(soa.rname, name("hostmaster.plants.test."));
        let note = zone.records_at(&name("note.plants.test.")).expect("note");
        assert_eq!(
            note[0].data,
            RecordData::Txt(vec![
                b"two words".to_vec(),
                b"three".to_vec(),
                b"a \"quote\" and A".to_vec()
            ])
        );
        assert!(
            zone.name_exists(&name("down.plants.test.")),
            "an empty non-terminal"
        );
        assert!(!zone.name_exists(&name("up.plants.test.")));
    }

    #[test]
    fn mistakes_are_one_line_naming_the_line() {
        let table = [
            (
                "$ORIGIN x.\n@ 1 SOA a b 1 2 3 4 5\n@ 1 NS a\nwww 1 A 1.2.3\n",
                "line 4: 1.2.3: not an IPv4 address",
            ),
            (
                "$ORIGIN x.\n@ 1 SOA a b 1 2 3 4 5\n@ 1 NS a\nwww 1 SRV 0 0 1 a\n",
                "line 4: SRV: unknown or unsupported record type",
            ),
            (
                "$ORIGIN x.\n@ 1 SOA a b 1 2 3 4 5\n@ 1 NS a\nwww A 1.2.3.4\n",
                "line 4: no TTL: give one, or a $TTL line first",
            ),
            (
                "$ORIGIN x.\n@ 1 NS a\n",
                "no SOA record: a zone starts with one",
            ),
            (
                "$ORIGIN x.\n@ 1 SOA a b 1 2 3 4 5\n",
                "no NS record at x.: a zone names its servers",
            ),
            (
                "$ORIGIN x.\n$TTL 1\n@ SOA a b 1 2 3 4 5\n@ NS a\nwww CNAME a\nwww A 1.2.3.4\n",
                "line 6: www.x.: a CNAME cannot share its name with any other record",
            ),
            (
                "$ORIGIN x.\n$TTL 1\n@ SOA a b 1 2 3 4 5\n@ NS a\nwww.y. A 1.2.3.4\n",
                "line 5: www.y. is outside the zone x.",
            ),
            (
                "$ORIGIN x.\n$TTL 1\n@ SOA a b 1 2 3 4 5\n@ NS a\nsub NS a\n",
                "line 5: NS records below the zone's top (delegations) are not supported",
            ),
            (
                "$ORIGIN x.\n$TTL 1\n@ SOA a b ( 1 2 3 4 5\n",
                "line 3: a ( without its )",
            ),
            ("$INCLUDE other.zone\n", "line 1: $INCLUDE is not supported"),
            (
                "$ORIGIN x.\n$TTL 1h\n",
                "line 2: 1h: expected a whole number (plain seconds; no units)",
            ),
            (
                "$ORIGIN x.\n$TTL 1\n* A 1.2.3.4\n",
                "line 3: wildcards are not supported",
            ),
        ];
        for (text, message) in table {
            let error = Zone::parse(text).expect_err(text);
            assert_eq!(error.to_string(), message, "{text}");
        }
    }

    #[test]
    fn a_zone_file_may_hold_1_mib_not_one_byte_more() {
        let zone = "$ORIGIN x.\n$TTL 1\n@ SOA a b 1 2 3 4 5\n@ NS a\n";
        let limit = MAX_ZONE_FILE_BYTES as usize;
        for (size, fits) in [(limit - 1, true), (limit, true), (limit + 1, false)] {
            // Padded with a comment line to exactly `size` bytes.
            let padding = size - zone.len() - 1;
            let text = format!("{zone};{}", "x".repeat(padding));
            assert_eq!(text.len(), size);
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("zone");
            std::fs::write(&path, text).expect("write");
            let loaded = Zone::load(&path);
            assert_eq!(loaded.is_ok(), fits, "{size} bytes: {:?}", loaded.err());
        }
    }

    #[test]
    fn a_txt_string_may_hold_255_bytes_not_256() {
        for (len, fits) in [(254, true), (255, true), (256, false)] {
            let text = format!(
                "$ORIGIN x.\n$TTL 1\n@ SOA a b 1 2 3 4 5\n@ NS a\nt TXT \"{}\"\n",
                "z".repeat(len)
            );
            assert_eq!(Zone::parse(&text).is_ok(), fits, "{len}");
        }
    }
}

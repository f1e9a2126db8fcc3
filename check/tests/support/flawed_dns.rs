//! A deliberately flawed DNS server, for proving the dns checker fair.
//!
//! One small authoritative server for `plants.test`, over UDP and TCP on one
//! port, that passes every stage, and a [`Flaw`] for each stage that breaks
//! exactly that stage with a mistake people really make (an ID not copied,
//! names compared with their case, `ends_with("plants.test")` without the
//! dot, a slice past the end of a short query, an answer of any size over
//! UDP, a record's data length that forgets part of the data). Its zone is
//! written here, apart from the lesson's.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// One mistake; the comment says which stage catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// None: passes every stage.
    None,
    /// Stage 1: answers with ID 0 instead of the query's.
    IdNotCopied,
    /// Stage 1 too: the answer's name points one byte past the question's
    /// name (0xc0 0x0d).
    PointerOffByOne,
    /// Stage 2: answers an AAAA question with the A record.
    AaaaAnsweredWithA,
    /// Stage 3: writes a TXT record's text without its length byte.
    TxtWithoutLength,
    /// Stage 4: compares names with their case.
    CaseSensitive,
    /// Stage 5: a name that does not exist gets NOERROR.
    NxdomainAsNoerror,
    /// Stage 6: a name is in the zone when it ends with "plants.test", dot or not.
    ZoneWithoutTheDot,
    /// Stage 7: slices a label without checking it is there (and panics).
    TrustsLabelLengths,
    /// Stage 8: sends an answer of any size over UDP, without TC.
    NoTruncation,
    /// Stage 9: answers for an alias with the target's A record, no CNAME.
    CnameFlattened,
    /// Stage 10: an SOA's data length leaves out its five numbers.
    SoaLengthShort,
}

/// Every flaw with the stage that must catch it.
pub const FLAWS: &[(Flaw, usize)] = &[
    (Flaw::IdNotCopied, 1),
    (Flaw::PointerOffByOne, 1),
    (Flaw::AaaaAnsweredWithA, 2),
    (Flaw::TxtWithoutLength, 3),
    (Flaw::CaseSensitive, 4),
    (Flaw::NxdomainAsNoerror, 5),
    (Flaw::ZoneWithoutTheDot, 6),
    (Flaw::TrustsLabelLengths, 7),
    (Flaw::NoTruncation, 8),
    (Flaw::CnameFlattened, 9),
    (Flaw::SoaLengthShort, 10),
];

/// A record's data, by type.
enum Data {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Txt(&'static [u8]),
    Ns(&'static str),
    Cname(&'static str),
    Soa(&'static str, &'static str),
}

impl Data {
    fn rtype(&self) -> u16 {
        match self {
            Data::A(_) => 1,
            Data::Ns(_) => 2,
            Data::Cname(_) => 5,
            Data::Soa(..) => 6,
            Data::Txt(_) => 16,
            Data::Aaaa(_) => 28,
        }
    }
}

/// 200 bytes of text: three of them are more than 512 bytes.
const LONG: &[u8] = &[b'x'; 200];

/// The zone: owner names in lower case.
const ZONE: &[(&str, Data)] = &[
    ("plants.test", Data::Txt(b"a flawed zone")),
    ("plants.test", Data::Ns("ns1.plants.test")),
    (
        "plants.test",
        Data::Soa("ns1.plants.test", "hostmaster.plants.test"),
    ),
    ("ns1.plants.test", Data::A(Ipv4Addr::LOCALHOST)),
    ("www.plants.test", Data::A(Ipv4Addr::LOCALHOST)),
    ("www.plants.test", Data::Aaaa(Ipv6Addr::LOCALHOST)),
    ("shop.plants.test", Data::Cname("www.plants.test")),
    ("big.plants.test", Data::Txt(LONG)),
    ("big.plants.test", Data::Txt(LONG)),
    ("big.plants.test", Data::Txt(LONG)),
];

/// The largest UDP answer without EDNS (RFC 1035 section 4.2.1).
const MAX_UDP: usize = 512;

/// Starts a server with `flaw` on 127.0.0.1, UDP and TCP on one port.
pub async fn start(flaw: Flaw) -> SocketAddr {
    let (udp, tcp) = bind_both().await;
    let addr = udp.local_addr().expect("local_addr");
    tokio::spawn(serve_tcp(tcp, flaw));
    let udp = Arc::new(udp);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        while let Ok((len, peer)) = udp.recv_from(&mut buf).await {
            // A server that slices a label without checking it is there
            // panics on a short query, and its socket is gone with it. This
            // one stops as it would (without a panic message in the test's
            // output): to the client, a crashed server.
            if flaw == Flaw::TrustsLabelLengths && label_past_end(&buf[..len]) {
                break;
            }
            if let Some(answer) = answer(&buf[..len], flaw, MAX_UDP) {
                let _ = udp.send_to(&answer, peer).await;
            }
        }
    });
    addr
}

/// A UDP socket and a TCP listener on the same port of 127.0.0.1.
async fn bind_both() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
        let addr = udp.local_addr().expect("local_addr");
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no port free for both UDP and TCP");
}

async fn serve_tcp(listener: TcpListener, flaw: Flaw) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(serve_connection(stream, flaw));
    }
}

async fn serve_connection(mut stream: TcpStream, flaw: Flaw) -> std::io::Result<()> {
    loop {
        let length = stream.read_u16().await?;
        let mut query = vec![0u8; usize::from(length)];
        stream.read_exact(&mut query).await?;
        if let Some(answer) = answer(&query, flaw, usize::from(u16::MAX)) {
            let mut framed = (answer.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&answer);
            stream.write_all(&framed).await?;
        }
    }
}

/// The name at `at`, in lower case (unless `CaseSensitive`), and where it
/// ends; `None` if malformed. Pointers must point back.
fn read_name(query: &[u8], mut at: usize, flaw: Flaw) -> Option<(String, usize)> {
    let mut labels: Vec<String> = Vec::new();
    let mut end = None;
    let mut run_start = at;
    loop {
        let length = usize::from(*query.get(at)?);
        if length & 0xc0 == 0xc0 {
            let target = (length & 0x3f) << 8 | usize::from(*query.get(at + 1)?);
            if target >= run_start {
                return None;
            }
            end.get_or_insert(at + 2);
            (run_start, at) = (target, target);
            continue;
        }
        if length == 0 {
            return Some((labels.join("."), end.unwrap_or(at + 1)));
        }
        let label = query.get(at + 1..at + 1 + length)?;
        let label = String::from_utf8_lossy(label);
        labels.push(if flaw == Flaw::CaseSensitive {
            label.into_owned()
        } else {
            label.to_ascii_lowercase()
        });
        at += 1 + length;
    }
}

/// Whether the question's first labels run past the end of `query`: where
/// `&query[at + 1..at + 1 + length]` would panic.
fn label_past_end(query: &[u8]) -> bool {
    let mut at = 12;
    while let Some(&length) = query.get(at) {
        if length == 0 || length & 0xc0 != 0 {
            return false;
        }
        at += 1 + usize::from(length);
        if at > query.len() {
            return true;
        }
    }
    false
}

/// The answer to `query`, at most `limit` bytes; `None`: no answer.
fn answer(query: &[u8], flaw: Flaw, limit: usize) -> Option<Vec<u8>> {
    let header = query.get(..12)?;
    if header[2] & 0x80 != 0 {
        return None; // a response: never answered
    }
    let id = if flaw == Flaw::IdNotCopied {
        [0, 0]
    } else {
        [header[0], header[1]]
    };
    let rd = header[2] & 0x01;
    let parsed = read_name(query, 12, flaw).and_then(|(name, end)| {
        let fixed = query.get(end..end + 4)?;
        Some((name, u16::from_be_bytes([fixed[0], fixed[1]]), end + 4))
    });
    let Some((name, qtype, question_end)) = parsed else {
        let mut formerr = id.to_vec();
        formerr.extend_from_slice(&[0x80 | rd, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        return Some(formerr);
    };
    let in_zone = match flaw {
        Flaw::ZoneWithoutTheDot => name.ends_with("plants.test"),
        _ => name == "plants.test" || name.ends_with(".plants.test"),
    };
    let exists = ZONE.iter().any(|(owner, _)| *owner == name);
    let (flags, rcode) = match (in_zone, exists) {
        (false, _) => (0x80, 5),
        (true, false) if flaw == Flaw::NxdomainAsNoerror => (0x84, 0),
        (true, false) => (0x84, 3),
        (true, true) => (0x84, 0),
    };
    // The records to write: (owner, data); an alias first, then its target's.
    let of = |owner: &str, rtype: u16| -> Vec<(&'static str, &'static Data)> {
        ZONE.iter()
            .filter(|(name, data)| *name == owner && data.rtype() == rtype)
            .map(|(name, data)| (*name, data))
            .collect()
    };
    let mut records = Vec::new();
    if in_zone {
        let alias = ZONE.iter().find_map(|(owner, data)| match data {
            Data::Cname(target) if *owner == name && qtype != 5 => Some(*target),
            _ => None,
        });
        match alias {
            Some(target) if flaw == Flaw::CnameFlattened => {
                records.extend(
                    of(target, qtype)
                        .into_iter()
                        .map(|(_, data)| (name.as_str(), data)),
                );
            }
            Some(target) => {
                records.extend(of(&name, 5));
                records.extend(of(target, qtype));
            }
            None if qtype == 28 && flaw == Flaw::AaaaAnsweredWithA => {
                records.extend(
                    of(&name, 1)
                        .into_iter()
                        .map(|(_, data)| (name.as_str(), data)),
                );
            }
            None => {
                records.extend(
                    of(&name, qtype)
                        .into_iter()
                        .map(|(_, data)| (name.as_str(), data)),
                );
            }
        }
    }

    let mut message = id.to_vec();
    message.extend_from_slice(&[flags | rd, rcode, 0, 1, 0, records.len() as u8, 0, 0, 0, 0]);
    message.extend_from_slice(&query[12..question_end]);
    // Where each name written in full begins, to point at it later.
    let mut written: Vec<(&str, usize)> = Vec::new();
    for (owner, data) in records {
        if owner.eq_ignore_ascii_case(&name) {
            let pointer = if flaw == Flaw::PointerOffByOne {
                0x0d
            } else {
                0x0c
            };
            message.extend_from_slice(&[0xc0, pointer]);
        } else {
            put_name(&mut message, owner, &mut written);
        }
        message.extend_from_slice(&data.rtype().to_be_bytes());
        message.extend_from_slice(&[0, 1, 0, 0, 1, 44]); // IN, TTL 300
        let length_at = message.len();
        message.extend_from_slice(&[0, 0]);
        match data {
            Data::A(ip) => message.extend_from_slice(&ip.octets()),
            Data::Aaaa(ip) => message.extend_from_slice(&ip.octets()),
            Data::Txt(text) => {
                if flaw != Flaw::TxtWithoutLength {
                    message.push(text.len() as u8);
                }
                message.extend_from_slice(text);
            }
            Data::Ns(target) | Data::Cname(target) => put_name(&mut message, target, &mut written),
            Data::Soa(mname, rname) => {
                put_name(&mut message, mname, &mut written);
                put_name(&mut message, rname, &mut written);
                for number in [2026010101u32, 3600, 600, 86400, 60] {
                    message.extend_from_slice(&number.to_be_bytes());
                }
            }
        }
        let mut length = message.len() - length_at - 2;
        if matches!(data, Data::Soa(..)) && flaw == Flaw::SoaLengthShort {
            length -= 20;
        }
        message[length_at..length_at + 2].copy_from_slice(&(length as u16).to_be_bytes());
    }
    if message.len() > limit && flaw != Flaw::NoTruncation {
        message.truncate(question_end);
        message[2] |= 0x02;
        message[6..8].copy_from_slice(&[0, 0]);
    }
    Some(message)
}

/// Writes `name`: a pointer if it was written in full before, else its
/// labels (remembered, for the next time).
fn put_name<'a>(message: &mut Vec<u8>, name: &'a str, written: &mut Vec<(&'a str, usize)>) {
    if let Some(&(_, at)) = written.iter().find(|(seen, _)| *seen == name) {
        message.extend_from_slice(&[0xc0 | (at >> 8) as u8, at as u8]);
        return;
    }
    written.push((name, message.len()));
    for label in name.split('.') {
        message.push(label.len() as u8);
        message.extend_from_slice(label.as_bytes());
    }
    message.push(0);
}

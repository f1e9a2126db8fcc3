//! A small DNS client for the tests: queries as bytes, over UDP or TCP, and
//! the answer taken apart.
//!
//! What to notice: queries are built by hand, byte by byte, so a test can
//! also build a broken one; the answer's names are read with the crate's
//! own `Name::read` (the real clients in `real_clients.rs`, dig above all,
//! check the answers with a parser of their own).

use std::net::SocketAddr;

use protocols::dns::name::Name;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::PATIENCE;

/// Types, by number.
pub const A: u16 = 1;
pub const NS: u16 = 2;
pub const CNAME: u16 = 5;
pub const SOA: u16 = 6;
pub const MX: u16 = 15;
pub const TXT: u16 = 16;
pub const AAAA: u16 = 28;
pub const OPT: u16 = 41;

/// A query for `name` (text, `www.plants.test`) of `qtype`, with an OPT
/// record offering `edns` bytes if given; RD set, as dig does.
pub fn query(id: u16, name: &str, qtype: u16, edns: Option<u16>) -> Vec<u8> {
    let mut message = Vec::new();
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns.is_some())]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|label| !label.is_empty())
    {
        message.push(label.len() as u8);
        message.extend_from_slice(label.as_bytes());
    }
    message.push(0);
    message.extend_from_slice(&qtype.to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes());
    if let Some(size) = edns {
        message.push(0);
        message.extend_from_slice(&OPT.to_be_bytes());
        message.extend_from_slice(&size.to_be_bytes());
        message.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    }
    message
}

/// A UDP socket on 127.0.0.1 for asking `server`.
pub async fn udp_client() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind a client socket")
}

/// Sends `message` from `socket` and returns the next datagram received.
pub async fn ask_on(socket: &UdpSocket, server: SocketAddr, message: &[u8]) -> Vec<u8> {
    socket.send_to(message, server).await.expect("send");
    receive(socket).await
}

/// The next datagram `socket` receives, within [`PATIENCE`].
pub async fn receive(socket: &UdpSocket) -> Vec<u8> {
    let mut buf = vec![0u8; 65_536];
    let (len, _) = tokio::time::timeout(PATIENCE, socket.recv_from(&mut buf))
        .await
        .expect("an answer in time")
        .expect("receive");
    buf.truncate(len);
    buf
}

/// Asks `server` over UDP with a fresh socket.
pub async fn ask_udp(server: SocketAddr, message: &[u8]) -> Vec<u8> {
    ask_on(&udp_client().await, server, message).await
}

/// Sends one length-prefixed message on `stream`.
pub async fn send_tcp(stream: &mut TcpStream, message: &[u8]) {
    let mut frame = (message.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(message);
    stream.write_all(&frame).await.expect("send");
}

/// Reads one length-prefixed message from `stream`.
pub async fn receive_tcp(stream: &mut TcpStream) -> Vec<u8> {
    tokio::time::timeout(PATIENCE, async {
        let length = stream.read_u16().await.expect("a length");
        let mut message = vec![0u8; usize::from(length)];
        stream.read_exact(&mut message).await.expect("the message");
        message
    })
    .await
    .expect("an answer in time")
}

/// Asks `server` over a new TCP connection.
pub async fn ask_tcp(server: SocketAddr, message: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(server).await.expect("connect");
    send_tcp(&mut stream, message).await;
    receive_tcp(&mut stream).await
}

/// One record of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rr {
    /// Owner, as text (`www.plants.test.`).
    pub name: String,
    /// Type number.
    pub rtype: u16,
    /// TTL.
    pub ttl: u32,
    /// The data: an address as text, a name as text, `10 mail...` for
    /// MX, the strings for TXT, the raw bytes in hex otherwise.
    pub data: String,
}

/// An answer taken apart.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Its id.
    pub id: u16,
    /// Its flags.
    pub flags: u16,
    /// Its response code (the low 4 bits).
    pub rcode: u16,
    /// The question's name, in the answer's case.
    pub question: Option<String>,
    /// The three sections.
    pub answer: Vec<Rr>,
    /// The authority section.
    pub authority: Vec<Rr>,
    /// The additional section.
    pub additional: Vec<Rr>,
}

impl Answer {
    /// The TC bit.
    pub fn truncated(&self) -> bool {
        self.flags & (1 << 9) != 0
    }

    /// The AA bit.
    pub fn authoritative(&self) -> bool {
        self.flags & (1 << 10) != 0
    }

    /// The answer section's data, in order.
    pub fn data(&self) -> Vec<String> {
        self.answer.iter().map(|rr| rr.data.clone()).collect()
    }
}

fn u16_at(message: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([message[at], message[at + 1]])
}

/// Takes an answer apart; panics (fails the test) if it is malformed.
pub fn parse(message: &[u8]) -> Answer {
    assert!(message.len() >= 12, "an answer has a header: {message:?}");
    let counts: Vec<u16> = (0..4).map(|i| u16_at(message, 4 + 2 * i)).collect();
    let mut at = 12;
    let mut question = None;
    for _ in 0..counts[0] {
        let (name, next) = Name::read(message, at).expect("question name");
        question = Some(name.to_string());
        at = next + 4;
    }
    let mut sections = [Vec::new(), Vec::new(), Vec::new()];
    for (section, &count) in sections.iter_mut().zip(&counts[1..]) {
        for _ in 0..count {
            let (name, next) = Name::read(message, at).expect("owner name");
            let rtype = u16_at(message, next);
            let ttl = u32::from_be_bytes(message[next + 4..next + 8].try_into().expect("4 bytes"));
            let length = usize::from(u16_at(message, next + 8));
            let start = next + 10;
            let rdata = &message[start..start + length];
            let data = match rtype {
                A => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(rdata).expect("4 bytes"))
                    .to_string(),
                AAAA => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(rdata).expect("16 bytes"))
                    .to_string(),
                CNAME | NS => Name::read(message, start).expect("a name").0.to_string(),
                MX => format!(
                    "{} {}",
                    u16_at(message, start),
                    Name::read(message, start + 2).expect("a name").0
                ),
                TXT => {
                    let mut strings = Vec::new();
                    let mut i = 0;
                    while i < rdata.len() {
                        let len = usize::from(rdata[i]);
                        strings
                            .push(String::from_utf8_lossy(&rdata[i + 1..i + 1 + len]).into_owned());
                        i += 1 + len;
                    }
                    strings.join("|")
                }
                SOA => {
                    let (mname, next) = Name::read(message, start).expect("mname");
                    let (rname, next) = Name::read(message, next).expect("rname");
                    let numbers: Vec<String> = (0..5)
                        .map(|i| {
                            u32::from_be_bytes(
                                message[next + 4 * i..next + 4 * i + 4]
                                    .try_into()
                                    .expect("4"),
                            )
                            .to_string()
                        })
                        .collect();
                    format!("{mname} {rname} {}", numbers.join(" "))
                }
                _ => rdata.iter().map(|byte| format!("{byte:02x}")).collect(),
            };
            section.push(Rr {
                name: name.to_string(),
                rtype,
                ttl,
                data,
            });
            at = start + length;
        }
    }
    let [answer, authority, additional] = sections;
    Answer {
        id: u16_at(message, 0),
        flags: u16_at(message, 2),
        rcode: u16_at(message, 2) & 0xf,
        question,
        answer,
        authority,
        additional,
    }
}

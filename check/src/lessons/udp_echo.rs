//! `cargo run -p check -- udp-echo ADDR`: lesson 2's stages: what a UDP echo server must do.
//!
//! What to notice: UDP has no connection, so "is anyone there?" is answered
//! by the network itself. The client socket here is *connected* to ADDR
//! (`UdpSocket::connect` only sets a default peer: no packet is sent), and
//! then the kernel passes on the ICMP "port unreachable" that comes back
//! when nothing listens: the next `recv` fails with "connection refused".
//! That is how the checker tells "no server" (exit 2) from "a server that
//! does not answer" (stage 1 fails). A connected socket also accepts
//! datagrams only from ADDR, as `nc -u` does: a reply sent from another
//! port never arrives.
//!
//! Stages 1-3 use one client socket, the way one learner with `nc -u`
//! would; stage 4 brings two more senders. The book's "Build it yourself"
//! page (`docs/src/udp-echo-build.md`) is this list in prose.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::escape::{SHOWN_BYTES, first_difference, show, show_window};
use crate::runner::{Failure, Stage};
use crate::target::Target;

/// The stages, in order.
pub const STAGES: &[Stage<UdpClient>] = &[
    Stage {
        name: "echo",
        check: |client| Box::pin(echo(client)),
    },
    Stage {
        name: "boundaries kept",
        check: |client| Box::pin(boundaries(client)),
    },
    Stage {
        name: "empty and 65,507-byte datagrams",
        check: |client| Box::pin(sizes(client)),
    },
    Stage {
        name: "replies go to each sender",
        check: |client| Box::pin(several_senders(client)),
    },
];

/// The largest UDP payload over IPv4: 65,535 bytes (the IP packet's 16-bit
/// length) minus 20 bytes of IP header minus 8 bytes of UDP header.
pub const MAX_DATAGRAM: usize = 65_507;

/// Receive buffers are one byte larger than any datagram we expect, so a
/// reply that is too long shows as too long instead of being cut to fit.
const RECEIVE_BUFFER: usize = MAX_DATAGRAM + 1;

/// The checker's side: the target and the socket stages 1-3 share.
pub struct UdpClient {
    target: Target,
    socket: Option<UdpSocket>,
}

impl UdpClient {
    /// A client for `target`; its socket is bound when stage 1 needs it.
    pub fn new(target: Target) -> UdpClient {
        UdpClient {
            target,
            socket: None,
        }
    }

    /// The shared socket, connected to the target, with no leftovers from a
    /// stage that failed (`--all`) waiting in it.
    async fn socket(&mut self) -> Result<&UdpSocket, Failure> {
        if self.socket.is_none() {
            let socket = bind_near(self.target.addr()).await?;
            socket
                .connect(self.target.addr())
                .await
                .map_err(|error| local_failure("cannot set the client's peer", error))?;
            self.socket = Some(socket);
        }
        let socket = self
            .socket
            .as_ref()
            .ok_or_else(|| local_failure("no client socket", io::ErrorKind::NotFound.into()))?;
        let mut leftover = vec![0u8; RECEIVE_BUFFER];
        // Drain until the socket would block; errors (a late ICMP) too.
        while socket.try_recv(&mut leftover).is_ok() {}
        Ok(socket)
    }
}

/// A socket on an ephemeral port of the target's address family.
async fn bind_near(target: SocketAddr) -> Result<UdpSocket, Failure> {
    let any: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    UdpSocket::bind(any)
        .await
        .map_err(|error| local_failure("cannot bind a client socket", error))
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

/// What a receive brought: a datagram, nothing in time, or an error.
enum Received {
    Datagram(Vec<u8>, SocketAddr),
    Nothing(Duration),
    Failed(io::Error),
}

impl Received {
    fn describe(&self) -> String {
        match self {
            Received::Datagram(bytes, from) => format!("{} from {from}", show(bytes)),
            Received::Nothing(waited) => format!("nothing within {} s", waited.as_secs_f32()),
            Received::Failed(error) => format!("an error: {error}"),
        }
    }
}

/// Waits up to `limit` for one datagram on `socket`.
async fn receive(socket: &UdpSocket, limit: Duration) -> Received {
    let mut buf = vec![0u8; RECEIVE_BUFFER];
    match tokio::time::timeout(limit, socket.recv_from(&mut buf)).await {
        Err(_) => Received::Nothing(limit),
        Ok(Ok((len, from))) => Received::Datagram(buf[..len].to_vec(), from),
        Ok(Err(error)) => Received::Failed(error),
    }
}

/// Sends `datagram` to `to` within `limit`. A UDP send waits only for
/// room in the socket's buffer, which is almost never, but never forever.
async fn send_within(
    socket: &UdpSocket,
    datagram: &[u8],
    to: SocketAddr,
    limit: Duration,
) -> io::Result<()> {
    match tokio::time::timeout(limit, socket.send_to(datagram, to)).await {
        Ok(sent) => sent.map(drop),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the datagram could not be sent in time",
        )),
    }
}

/// Sends `datagram` on the shared socket and expects it back unchanged.
/// "Connection refused" means nothing listens at ADDR.
async fn round_trip(client: &mut UdpClient, datagram: &[u8], hint: &str) -> Result<(), Failure> {
    let addr = client.target.addr();
    let limit = client.target.timeout;
    let socket = client.socket().await?;
    if let Err(error) = send_within(socket, datagram, addr, limit).await {
        return Err(refused_or(addr, error, datagram, hint));
    }
    match receive(socket, limit).await {
        Received::Datagram(bytes, _) if bytes == datagram => Ok(()),
        Received::Failed(error) => Err(refused_or(addr, error, datagram, hint)),
        other => Err(Failure::new(
            show(datagram),
            format!("the same {} bytes back, as one datagram", datagram.len()),
            describe_against(&other, datagram),
            hint,
        )),
    }
}

/// A "connection refused" on UDP is the ICMP port-unreachable for our last
/// datagram: nothing listens at ADDR. Anything else is a plain failure.
fn refused_or(addr: SocketAddr, error: io::Error, datagram: &[u8], hint: &str) -> Failure {
    if error.kind() == io::ErrorKind::ConnectionRefused {
        return Failure::nothing_answering(
            addr,
            format!("{error}: no UDP socket is bound to that port"),
            show(datagram),
            "the server was answering a moment ago: did it exit or crash? Its terminal says why",
        );
    }
    Failure::new(
        show(datagram),
        "a reply",
        format!("an error: {error}"),
        hint,
    )
}

/// For a long datagram, where the reply parts from what was expected.
fn describe_against(received: &Received, expected: &[u8]) -> String {
    let Received::Datagram(bytes, from) = received else {
        return received.describe();
    };
    if expected.len() <= SHOWN_BYTES {
        return received.describe();
    }
    match first_difference(expected, bytes) {
        Some(at) if at == bytes.len() && at > 0 => format!(
            "{at} bytes from {from}: the first {at} of the {} bytes, the rest cut off",
            expected.len(),
        ),
        Some(at) if at > 0 => format!(
            "{} bytes from {from}, which differ from byte {at} on: {} where {} was expected",
            bytes.len(),
            show_window(bytes, at),
            show_window(expected, at),
        ),
        _ => received.describe(),
    }
}

/// Stage 1: a datagram comes back unchanged, from ADDR.
async fn echo(client: &mut UdpClient) -> Result<(), Failure> {
    round_trip(
        client,
        b"hello",
        "reply to each datagram with the same bytes, sent to the address it came from \
         (send_to(bytes, sender)) from the socket that received it",
    )
    .await
}

/// Stage 2: one datagram with two lines comes back as one datagram, and
/// three datagrams sent together come back as three.
async fn boundaries(client: &mut UdpClient) -> Result<(), Failure> {
    let hint = "send each datagram back whole, as one datagram: UDP keeps message \
                boundaries, so don't split by lines or join datagrams";
    round_trip(client, b"first line\nsecond line\n", hint).await?;

    let addr = client.target.addr();
    let limit = client.target.timeout;
    let socket = client.socket().await?;
    let sent: [&[u8]; 3] = [b"one", b"two", b"three"];
    for datagram in sent {
        send_within(socket, datagram, addr, limit)
            .await
            .map_err(|error| refused_or(addr, error, datagram, hint))?;
    }
    // UDP does not promise order, even if 127.0.0.1 keeps it: accept any.
    let mut missing: Vec<&[u8]> = sent.to_vec();
    while !missing.is_empty() {
        let received = receive(socket, limit).await;
        let place = match &received {
            Received::Datagram(bytes, _) => missing.iter().position(|want| want == bytes),
            _ => None,
        };
        match place {
            Some(place) => {
                missing.remove(place);
            }
            None => {
                return Err(Failure::new(
                    r#"three datagrams, "one", "two" and "three", one after the other"#,
                    "three datagrams back, the same three",
                    format!(
                        "{} while still waiting for {}",
                        received.describe(),
                        missing
                            .iter()
                            .map(|want| show(want))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    hint,
                ));
            }
        }
    }
    Ok(())
}

/// Stage 3: the smallest and the largest datagram: 0 bytes and 65,507.
async fn sizes(client: &mut UdpClient) -> Result<(), Failure> {
    round_trip(
        client,
        b"",
        "an empty datagram is a datagram: echo it (in UDP, receiving 0 bytes is not the end of anything)",
    )
    .await?;
    let largest: Vec<u8> = (0..MAX_DATAGRAM).map(|i| (i % 251) as u8).collect();
    round_trip(
        client,
        &largest,
        "receive into a buffer of 65,507 bytes, the largest UDP payload over IPv4: \
         a smaller buffer cuts longer datagrams, and nobody tells you",
    )
    .await
}

/// Stage 4: two more clients send at the same time; each gets its own
/// replies, from ADDR.
async fn several_senders(client: &mut UdpClient) -> Result<(), Failure> {
    let addr = client.target.addr();
    let limit = client.target.timeout;
    let hint = "reply to the address each datagram came from (recv_from gives it), \
                not to the first or the last client you heard from";
    let first = bind_near(addr).await?;
    let second = bind_near(addr).await?;
    let plan: [(&UdpSocket, &str, &[u8]); 3] = [
        (&first, "A", b"from A"),
        (&second, "B", b"from B"),
        (&first, "A", b"A again"),
    ];
    for (socket, _, datagram) in plan {
        send_within(socket, datagram, addr, limit)
            .await
            .map_err(|error| refused_or(addr, error, datagram, hint))?;
    }
    for (socket, name, datagram) in plan {
        let received = receive(socket, limit).await;
        match &received {
            Received::Datagram(bytes, from) if bytes == datagram && *from == addr => {}
            _ => {
                return Err(Failure::new(
                    r#""from A" from client A, "from B" from client B, "A again" from client A (two new sockets)"#,
                    format!("{} back to client {name}, from {addr}", show(datagram)),
                    format!("client {name} got {}", received.describe()),
                    hint,
                ));
            }
        }
    }
    Ok(())
}

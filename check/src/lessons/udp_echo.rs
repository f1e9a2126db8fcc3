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

use crate::difference::Difference;
use crate::escape::{SHOWN_BYTES, first_difference, show, show_window};
use crate::runner::{Failure, STEP_TIMEOUT, Stage};
use crate::target::Target;

/// The stages, in order.
pub const STAGES: &[Stage<UdpClient>] = &[
    Stage {
        name: "echo",
        needs: &[],
        check: |client| Box::pin(echo(client)),
    },
    Stage {
        name: "boundaries kept",
        needs: &[1],
        check: |client| Box::pin(boundaries(client)),
    },
    Stage {
        name: "empty and 65,507-byte datagrams",
        needs: &[1],
        check: |client| Box::pin(sizes(client)),
    },
    Stage {
        name: "replies go to each sender",
        needs: &[1],
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
    /// A cap on the datagrams this client may send, as an operating system
    /// imposes one (macOS: 9,216 bytes by default); `None` here means only
    /// the real OS's. Tests set it to see what a learner on such a system
    /// sees (`UdpClient::with_send_cap`).
    send_cap: Option<usize>,
}

impl UdpClient {
    /// A client for `target`; its socket is bound when stage 1 needs it.
    pub fn new(target: Target) -> UdpClient {
        UdpClient {
            target,
            socket: None,
            send_cap: None,
        }
    }

    /// A client whose sends fail with `EMSGSIZE` above `cap` bytes, as they
    /// do on an OS that caps datagrams (macOS's `net.inet.udp.maxdgram`):
    /// how a test on Linux sees what a Mac learner sees.
    pub fn with_send_cap(target: Target, cap: usize) -> UdpClient {
        UdpClient {
            send_cap: Some(cap),
            ..UdpClient::new(target)
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
/// Above `cap` (a simulated OS cap), it fails as such an OS fails it.
async fn send_within(
    socket: &UdpSocket,
    datagram: &[u8],
    to: SocketAddr,
    limit: Duration,
    cap: Option<usize>,
) -> io::Result<()> {
    if cap.is_some_and(|cap| datagram.len() > cap) {
        return Err(message_too_long());
    }
    match tokio::time::timeout(limit, socket.send_to(datagram, to)).await {
        Ok(sent) => sent.map(drop),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the datagram could not be sent in time",
        )),
    }
}

/// The error an OS gives for a datagram larger than it allows.
fn message_too_long() -> io::Error {
    io::Error::from_raw_os_error(EMSGSIZE)
}

/// `EMSGSIZE`, "message too long": the sender's own OS refused the
/// datagram. (Windows calls it `WSAEMSGSIZE`.)
#[cfg(unix)]
const EMSGSIZE: i32 = nix::libc::EMSGSIZE;
#[cfg(windows)]
const EMSGSIZE: i32 = 10040;
#[cfg(not(any(unix, windows)))]
const EMSGSIZE: i32 = 90;

/// Whether a send failed because the datagram is larger than this OS lets
/// a program send.
fn is_message_too_long(error: &io::Error) -> bool {
    error.raw_os_error() == Some(EMSGSIZE)
}

/// The largest datagram this machine lets the checker send (at most
/// `tried`, which it refused), found by sending to a socket of the
/// checker's own: its OS cap, which no server can change.
async fn send_cap_of_this_os(tried: usize, cap: Option<usize>) -> Option<usize> {
    let sink = UdpSocket::bind("127.0.0.1:0").await.ok()?;
    let to = sink.local_addr().ok()?;
    let sender = UdpSocket::bind("127.0.0.1:0").await.ok()?;
    let (mut fits, mut refused) = (0, tried);
    // Bisect: `fits` is sent, `refused` is not; about 16 sends.
    while refused - fits > 1 {
        let size = fits + (refused - fits) / 2;
        let probe = vec![0u8; size];
        match send_within(&sender, &probe, to, STEP_TIMEOUT, cap).await {
            Ok(()) => fits = size,
            Err(error) if is_message_too_long(&error) => refused = size,
            Err(_) => return None,
        }
    }
    Some(fits)
}

/// The stage's SKIP when this OS refuses to send a datagram as large as
/// `datagram`: not the server's fault, and what raises the cap.
async fn capped_by_this_os(datagram: &[u8], cap: Option<usize>) -> Failure {
    let size = match send_cap_of_this_os(datagram.len(), cap).await {
        Some(fits) => format!("at {fits} bytes"),
        None => format!("below {} bytes", datagram.len()),
    };
    Failure::skip(format!(
        "your OS caps UDP datagrams {size}, so the checker cannot send one of {} bytes to your server; \
         on macOS, `sudo sysctl -w net.inet.udp.maxdgram=65535` raises the cap until the next restart; \
         this is your machine's limit, not your server's",
        datagram.len()
    ))
}

/// Sends `datagram` on the shared socket and expects it back unchanged.
/// "Connection refused" means nothing listens at ADDR.
async fn round_trip(client: &mut UdpClient, datagram: &[u8], hint: &str) -> Result<(), Failure> {
    let addr = client.target.addr();
    let limit = client.target.timeout;
    let cap = client.send_cap;
    let socket = client.socket().await?;
    if let Err(error) = send_within(socket, datagram, addr, limit, cap).await {
        if is_message_too_long(&error) {
            return Err(capped_by_this_os(datagram, cap).await);
        }
        return Err(refused_or(addr, error, datagram, hint));
    }
    match receive(socket, limit).await {
        Received::Datagram(bytes, _) if bytes == datagram => Ok(()),
        Received::Failed(error) => Err(refused_or(addr, error, datagram, hint)),
        other => Err(Failure::new(
            show(datagram),
            format!("the same {} bytes back, as one datagram", datagram.len()),
            describe_against(&other, datagram),
            datagram_hint(&other, datagram, hint),
        )),
    }
}

/// The hint for a reply that is not the datagram sent: the mistake the
/// difference names (bytes added, changed, cut off), with the stage's
/// advice where that alone does not say what to do.
fn datagram_hint(received: &Received, datagram: &[u8], hint: &str) -> String {
    let Received::Datagram(bytes, _) = received else {
        return hint.to_string();
    };
    let difference = Difference::of(datagram, bytes);
    match (difference.echo_mistake(datagram, bytes), difference) {
        (Some(mistake), Difference::Missing { .. }) => format!("{mistake}; {hint}"),
        (Some(mistake), _) => mistake,
        (None, _) => hint.to_string(),
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
        send_within(socket, datagram, addr, limit, None)
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
        send_within(socket, datagram, addr, limit, None)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_message_too_long_is_read_as_the_os_cap() {
        assert!(is_message_too_long(&message_too_long()));
        assert!(is_message_too_long(&io::Error::from_raw_os_error(EMSGSIZE)));
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert!(!is_message_too_long(&refused));
        let timed_out = io::Error::new(io::ErrorKind::TimedOut, "no room");
        assert!(!is_message_too_long(&timed_out));
    }

    #[tokio::test]
    async fn the_os_cap_is_found_by_bisection() {
        assert_eq!(send_cap_of_this_os(65_507, Some(9216)).await, Some(9216));
        assert_eq!(send_cap_of_this_os(9217, Some(9216)).await, Some(9216));
    }

    #[tokio::test]
    async fn a_refused_send_becomes_a_skip_naming_the_sysctl() {
        let skip = capped_by_this_os(&[0; 10_000], Some(9216)).await;
        assert!(skip.is_skip());
        let why = format!("{skip:?}");
        assert!(
            why.contains("your OS caps UDP datagrams at 9216 bytes"),
            "{why}"
        );
        assert!(
            why.contains("sudo sysctl -w net.inet.udp.maxdgram=65535"),
            "{why}"
        );
    }
}

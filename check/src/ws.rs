//! The checker's WebSocket client (lesson 5's stages): a WebSocket opened by hand, then lines read with a
//! timeout and matched by pattern.
//!
//! What to notice: the handshake is written and read as raw bytes, so the
//! checker can show exactly what a server answered, byte for byte, and check
//! `Sec-WebSocket-Accept` itself; only then is the stream handed to
//! tungstenite (as a client, which masks its frames, RFC 6455 section 5.3).
//! After that, every wait has a deadline, and a line is found by what it
//! looks like, not by its position: a server may send history, notices or
//! other people's lines at any moment.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{SinkExt, StreamExt};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::escape::show;
use crate::runner::{Failure, STEP_TIMEOUT};
use crate::target::Target;
use crate::tcp;

/// How long the checker waits for any one thing (a reply, a line, a pong):
/// the framework's step timeout, generous for a debug build on a busy
/// machine.
pub const WAIT: Duration = STEP_TIMEOUT;

/// The most bytes of a handshake response the checker reads: any real 101
/// is a few hundred bytes.
const MAX_RESPONSE_HEAD_BYTES: usize = 16 * 1024;

/// The fixed GUID of RFC 6455 section 1.3.
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The server under test: where it listens (resolved by the checker
/// framework) and the path of its WebSocket.
#[derive(Debug)]
pub struct ChatTarget {
    /// `host:port` and its addresses.
    pub target: Target,
    /// The path of the upgrade request: `/ws`, unless ADDR is a URL that
    /// names another (`ws://127.0.0.1:9000/chat`).
    pub path: String,
}

impl ChatTarget {
    /// The path comes from ADDR when it is a URL with one.
    pub fn new(target: Target) -> ChatTarget {
        let path = target
            .given
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|slash| &rest[slash..]))
            .filter(|path| *path != "/")
            .unwrap_or("/ws")
            .to_string();
        ChatTarget { target, path }
    }

    /// `ws://host:port/path`, for messages.
    pub fn url(&self) -> String {
        let scheme = if self.target.tls.is_some() {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}{}", self.target.authority, self.path)
    }
}

/// The raw upgrade: the request sent, the response head received, and the
/// stream ready for frames.
pub struct Handshake {
    /// The upgrade request, exactly as sent.
    pub request: String,
    /// Its `Sec-WebSocket-Key`.
    pub key: String,
    /// The response up to and including its blank line.
    pub response_head: Vec<u8>,
    /// The connection, with any bytes read past the head, as a WebSocket.
    pub socket: WebSocketStream<Box<dyn Wire>>,
}

/// What a chat connection runs on: plain TCP for `ws://`, TLS over TCP for
/// `wss://`. The stages do not care which.
pub trait Wire: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Wire for T {}

/// Sends the upgrade request and reads the response head; checks nothing
/// but that a whole head arrived in time.
pub async fn upgrade(target: &ChatTarget) -> Result<Handshake, Failure> {
    let key = BASE64.encode(nonce());
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        target.path, target.target.authority
    );
    let fail = |got: String, hint: &str| {
        Failure::new(
            show_head(request.as_bytes()),
            "an HTTP response head ending in a blank line (\\r\\n\\r\\n)",
            got,
            hint,
        )
    };
    // A refused connection before any stage passed means nothing is
    // listening: the framework ends the run with exit status 2.
    let stream = tcp::connect(&target.target).await?;
    let mut stream: Box<dyn Wire> = match &target.target.tls {
        None => Box::new(stream),
        Some(config) => Box::new(tls_over(stream, config, target).await?),
    };
    let written = timeout(WAIT, stream.write_all(request.as_bytes())).await;
    if !matches!(written, Ok(Ok(()))) {
        return Err(fail(
            "the server did not take the request".to_string(),
            "read the request before answering",
        ));
    }
    let deadline = Instant::now() + WAIT;
    let mut head = Vec::new();
    let head_end = loop {
        if let Some(end) = head.windows(4).position(|four| four == b"\r\n\r\n") {
            break end + 4;
        }
        if head.len() > MAX_RESPONSE_HEAD_BYTES {
            return Err(fail(
                show_head(&head),
                "a 101 response is a status line and a few headers",
            ));
        }
        let mut chunk = [0; 1024];
        let read = match timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(read)) => read,
            Ok(Err(error)) => {
                return Err(fail(
                    format!("{}, then an error: {error}", show_head(&head)),
                    HINT_101,
                ));
            }
            Err(_) => {
                return Err(fail(
                    format!("{}, then nothing for {}", show_head(&head), seconds(WAIT)),
                    HINT_101,
                ));
            }
        };
        if read == 0 {
            return Err(fail(
                format!("{}, then the connection closed", show_head(&head)),
                HINT_101,
            ));
        }
        head.extend_from_slice(&chunk[..read]);
    };
    let read_ahead = head.split_off(head_end);
    let socket = WebSocketStream::from_partially_read(stream, read_ahead, Role::Client, None).await;
    Ok(Handshake {
        request,
        key,
        response_head: head,
        socket,
    })
}

/// The TLS handshake of a `wss://` connection, trusting the dev CA (or
/// `--ca FILE`) for the host the learner named.
async fn tls_over(
    stream: tokio::net::TcpStream,
    config: &std::sync::Arc<rustls::ClientConfig>,
    target: &ChatTarget,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, Failure> {
    let host = target.target.host().to_string();
    let fail = |got: String| {
        Failure::new(
            format!("a TLS ClientHello for {host}"),
            "a TLS handshake the CA trusts, then the WebSocket upgrade",
            got,
            "serve wss:// with a certificate for this host, signed by the CA the checker trusts \
             (`cargo run -p http-raw --bin dev-cert`, or --ca FILE)",
        )
    };
    let name = rustls::pki_types::ServerName::try_from(host.clone())
        .map_err(|error| fail(format!("{host:?} is not a name TLS can check: {error}")))?;
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::clone(config));
    match timeout(WAIT, connector.connect(name, stream)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(error)) => Err(fail(format!("the TLS handshake failed: {error}"))),
        Err(_) => Err(fail(format!("no TLS handshake within {}", seconds(WAIT)))),
    }
}

const HINT_101: &str = "answer the upgrade with `HTTP/1.1 101 Switching Protocols`, `Upgrade: websocket`, \
     `Connection: Upgrade` and `Sec-WebSocket-Accept`, then a blank line (RFC 6455 section 4.2.2)";

/// A handshake's bytes, escaped: `"HTTP/1.1 101 ...\r\n\r\n" (129 bytes)`.
/// Up to [`SHOWN_HEAD_BYTES`] in full: a head is short, and the line that is
/// wrong may well be its last.
pub fn show_head(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing".to_string();
    }
    let shown = &bytes[..bytes.len().min(SHOWN_HEAD_BYTES)];
    let more = if shown.len() < bytes.len() { "..." } else { "" };
    format!("\"{}\"{more} ({} bytes)", shown.escape_ascii(), bytes.len())
}

/// A whole 101 fits in this many bytes many times over.
const SHOWN_HEAD_BYTES: usize = 1024;

/// `5 s`.
pub fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f32())
}

/// `Sec-WebSocket-Accept` for a key: `base64(SHA-1(key + GUID))`.
pub fn accept_key(key: &str) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(WEBSOCKET_GUID.as_bytes());
    BASE64.encode(sha1.finalize())
}

/// 16 bytes that differ from one handshake to the next. Not secret: the
/// key only proves the server read this request (RFC 6455 section 10.3
/// wants a random nonce from browsers; a checker needs only uniqueness).
fn nonce() -> [u8; 16] {
    let mut seed = unique_number();
    let mut bytes = [0; 16];
    for chunk in bytes.chunks_mut(8) {
        seed = splitmix(seed);
        chunk.copy_from_slice(&seed.to_le_bytes());
    }
    bytes
}

/// A number no other call of this process, and most likely no other run,
/// returns: the clock, the process id and a counter, mixed.
pub fn unique_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    splitmix(nanos ^ u64::from(std::process::id()) << 32 ^ CALLS.fetch_add(1, Ordering::Relaxed))
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A line for a message: quoted and escaped, and cut short if long.
pub fn show_line(line: &str) -> String {
    const SHOWN_CHARS: usize = 120;
    if line.chars().count() <= SHOWN_CHARS {
        return format!("{line:?}");
    }
    let start: String = line.chars().take(SHOWN_CHARS).collect();
    format!("{start:?}... ({} bytes)", line.len())
}

/// Something the server sent, as the checker reports it.
#[derive(Debug)]
pub enum Event {
    /// A text frame: one chat line.
    Line(String),
    /// A binary frame, by its length (the chat never sends one).
    Binary(usize),
    /// A close frame, with its code and reason if it had them.
    Close(Option<(u16, String)>),
    /// The connection ended without a close frame, or failed.
    Ended(String),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Line(line) => f.write_str(&show_line(line)),
            Event::Binary(bytes) => write!(f, "a binary frame of {bytes} bytes"),
            Event::Close(Some((code, reason))) => write!(f, "a close frame ({code} {reason:?})"),
            Event::Close(None) => f.write_str("a close frame (no code)"),
            Event::Ended(why) => write!(f, "the connection ended ({why})"),
        }
    }
}

/// One chat client of the checker, joined and welcomed.
pub struct Peer {
    /// `A`, `B`, `C`: how the checker's messages name this client.
    pub label: &'static str,
    /// The nick the welcome gave it (or the one it took since).
    pub nick: String,
    socket: WebSocketStream<Box<dyn Wire>>,
}

/// What a line is expected to look like, for one `Peer::expect`.
pub struct Expectation<'a> {
    /// What the checker did to cause it, in words.
    pub sent: &'a str,
    /// What should arrive, in words.
    pub expected: &'a str,
    /// What to look at when it does not.
    pub hint: &'a str,
}

impl Peer {
    /// Opens a WebSocket and waits for the welcome; a failure here is
    /// reported as a failure of the stage that needed this client.
    pub async fn join(target: &ChatTarget, label: &'static str) -> Result<Peer, Failure> {
        let handshake = upgrade(target).await?;
        let accept = accept_key(&handshake.key);
        let head = String::from_utf8_lossy(&handshake.response_head);
        if !head.starts_with("HTTP/1.1 101") || !head.contains(&accept) {
            return Err(Failure::new(
                show_head(handshake.request.as_bytes()),
                "HTTP/1.1 101 with the right Sec-WebSocket-Accept".to_string(),
                show_head(&handshake.response_head),
                "stage 1 (handshake) must pass first".to_string(),
            ));
        }
        let mut peer = Peer {
            label,
            nick: String::new(),
            socket: handshake.socket,
        };
        let welcome = peer
            .expect(
                Expectation {
                    sent: &format!("client {label} connected to {}", target.url()),
                    expected: WELCOME,
                    hint: HINT_WELCOME,
                },
                |line| welcome_nick(line).is_some(),
            )
            .await?
            .0;
        peer.nick = welcome_nick(&welcome).unwrap_or_default();
        Ok(peer)
    }

    /// Sends a text frame.
    pub async fn say(&mut self, text: &str) -> Result<(), Failure> {
        self.send(Message::text(text), &show_line(text)).await
    }

    /// Sends any frame; `what` names it in a failure.
    pub async fn send(&mut self, message: Message, what: &str) -> Result<(), Failure> {
        match timeout(WAIT, self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            outcome => Err(Failure::new(
                format!("client {} sent {what}", self.label),
                "the server to read it".to_string(),
                match outcome {
                    Ok(Err(error)) => format!("an error while sending: {error}"),
                    _ => format!("the frame still unsent after {}", seconds(WAIT)),
                },
                "keep reading every client's frames while it is connected".to_string(),
            )),
        }
    }

    /// Reads until a text line `matches`: returns it and the lines before it.
    pub async fn expect(
        &mut self,
        expectation: Expectation<'_>,
        matches: impl Fn(&str) -> bool,
    ) -> Result<(String, Vec<String>), Failure> {
        let deadline = Instant::now() + WAIT;
        let mut before = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let end = loop {
            match self.next_event(deadline).await {
                Some(Event::Line(line)) if matches(&line) => return Ok((line, before)),
                Some(Event::Line(line)) => {
                    seen.push(show_line(&line));
                    before.push(line);
                }
                Some(event @ (Event::Close(_) | Event::Ended(_))) => break event.to_string(),
                Some(event) => seen.push(event.to_string()),
                None => break format!("nothing more within {}", seconds(WAIT)),
            }
        };
        let got = if seen.is_empty() {
            end
        } else {
            format!("{}; then {end}", seen.join(", "))
        };
        Err(Failure::new(
            expectation.sent.to_string(),
            format!("client {}: {}", self.label, expectation.expected),
            format!("client {}: {got}", self.label),
            expectation.hint.to_string(),
        ))
    }

    /// The next thing the server sends, or `None` at the deadline. Pings
    /// are answered by tungstenite and not reported.
    pub async fn next_event(&mut self, deadline: Instant) -> Option<Event> {
        loop {
            let frame = timeout_at(deadline, self.socket.next()).await.ok()?;
            return Some(match frame {
                Some(Ok(Message::Text(text))) => Event::Line(text.to_string()),
                Some(Ok(Message::Binary(data))) => Event::Binary(data.len()),
                Some(Ok(Message::Close(frame))) => Event::Close(
                    frame.map(|frame| (u16::from(frame.code), frame.reason.to_string())),
                ),
                Some(Ok(_)) => continue,
                Some(Err(error)) => Event::Ended(error.to_string()),
                None => Event::Ended("closed".to_string()),
            });
        }
    }

    /// Sends a ping and waits for its pong, skipping text on the way.
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), String> {
        self.socket
            .send(Message::Ping(payload.to_vec().into()))
            .await
            .map_err(|error| format!("cannot send a ping: {error}"))?;
        let deadline = Instant::now() + WAIT;
        loop {
            match timeout_at(deadline, self.socket.next()).await {
                Err(_) => return Err(format!("no pong within {}", seconds(WAIT))),
                Ok(Some(Ok(Message::Pong(data)))) if data.as_ref() == payload => return Ok(()),
                Ok(Some(Ok(Message::Pong(data)))) => {
                    return Err(format!(
                        "a pong carrying {}, not the ping's payload",
                        show(&data)
                    ));
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Err(format!("a close frame: {frame:?}"));
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(error))) => return Err(format!("an error: {error}")),
                Ok(None) => return Err("the connection closed".to_string()),
            }
        }
    }

    /// Wraps a raw handshake's socket, for stage 1.
    pub fn from_socket(socket: WebSocketStream<Box<dyn Wire>>, label: &'static str) -> Peer {
        Peer {
            label,
            nick: String::new(),
            socket,
        }
    }

    /// Starts the closing handshake with 1000; the caller reads the answer.
    pub async fn start_close(&mut self) -> Result<(), Failure> {
        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: 1000.into(),
            reason: "checker done".into(),
        };
        self.send(
            Message::Close(Some(frame)),
            "a close frame (1000 \"checker done\")",
        )
        .await
    }

    /// Leaves politely, without waiting long: the stage is over.
    /// Leaves politely: a close frame, then reading until the server's
    /// answer (or [`LEAVE_WAIT`]), so the server has seen this client go
    /// before the next stage's clients arrive and hear about it.
    pub async fn leave(mut self) {
        let goodbye = async {
            self.socket.close(None).await?;
            while self.socket.next().await.transpose()?.is_some() {}
            Ok::<(), tokio_tungstenite::tungstenite::Error>(())
        };
        let _ = timeout(LEAVE_WAIT, goodbye).await;
    }
}

/// What a welcome must look like, in words.
pub const WELCOME: &str = "a line starting with `* ` that names its nick (guest-N) and its room (lobby), such as \
     \"* welcome, guest-1! you are in #lobby\"";

/// The hint when no welcome came.
pub const HINT_WELCOME: &str = "as soon as the WebSocket is open, send the new client one text frame \
     such as `* welcome, guest-1! you are in #lobby`";

/// How long a stage's client waits for the server to answer its goodbye:
/// a stage is over, so not long.
const LEAVE_WAIT: Duration = Duration::from_secs(1);

/// The nick a welcome names: `guest-` and digits, in a `* ` line that also
/// names the lobby and is not someone's join or leave notice (those can
/// arrive first: `* guest-1 left #lobby`).
pub fn welcome_nick(line: &str) -> Option<String> {
    let is_notice = line.contains(" joined #") || line.contains(" left #");
    if !line.starts_with("* ") || !line.contains("lobby") || is_notice {
        return None;
    }
    let start = line.find("guest-")?;
    let digits: String = line[start + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then(|| format!("guest-{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_welcome_names_a_guest_and_the_lobby_and_is_not_a_notice() {
        let welcome = "* welcome, guest-12! you are in #lobby; type /help for commands";
        assert_eq!(welcome_nick(welcome).as_deref(), Some("guest-12"));
        assert_eq!(
            welcome_nick("* hi guest-3, this is the lobby").as_deref(),
            Some("guest-3")
        );
        for not_a_welcome in [
            // Someone else's notices can reach a newcomer first.
            "* guest-1 left #lobby",
            "* guest-2 joined #lobby",
            "<guest-1> welcome to #lobby",
            "* welcome, guest-! you are in #lobby",
            "* welcome, guest-1! you are in #rust",
        ] {
            assert_eq!(welcome_nick(not_a_welcome), None, "{not_a_welcome}");
        }
    }

    #[test]
    fn a_head_is_shown_escaped_and_cut_after_1_kib() {
        assert_eq!(
            show_head(b"HTTP/1.1 101 OK\r\n\r\n"),
            r#""HTTP/1.1 101 OK\r\n\r\n" (19 bytes)"#
        );
        assert_eq!(show_head(b""), "nothing");
        let long = show_head(&[b'x'; 2000]);
        assert!(long.ends_with(r#""... (2000 bytes)"#), "{long}");
        assert_eq!(long.matches('x').count(), SHOWN_HEAD_BYTES);
    }

    #[test]
    fn the_accept_key_matches_rfc_6455s_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}

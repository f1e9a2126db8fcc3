//! From what the doctor saw to one verdict and the book page to read.
//!
//! What to notice: the order of the questions. An address that answered as
//! expected wins (the others only explain why some clients fail). Then a
//! server that spoke another protocol (the easiest fix: change the URL).
//! Then what the connection did after connecting (reset, closed, silent).
//! Only when nothing connected do the sockets on this machine decide: a
//! server on another address, a listener that does not accept, leftovers in
//! TIME_WAIT, or nothing at all.

use std::net::{IpAddr, SocketAddr};

use super::addr::{Addr, Scheme};
use super::listeners::{Seen, Socket, State, reach};
use super::probe::{Answer, Outcome, REPLY_PATIENCE};

/// A page of the book: its file under `docs/src/` and its title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// `stuck-localhost.md`.
    pub file: &'static str,
    /// What the page is about.
    pub title: &'static str,
}

/// A server on another address than the one tried.
pub const LOCALHOST: Page = Page {
    file: "stuck-localhost.md",
    title: "Stuck: localhost, 127.0.0.1, ::1 and 0.0.0.0",
};
/// A connection reset, or closed without an answer.
pub const RESET: Page = Page {
    file: "stuck-connection-reset.md",
    title: "Stuck: \"connection reset\" in the browser",
};
/// A server that says nothing: it waits for more of the request.
pub const REQUEST_END: Page = Page {
    file: "stuck-request-end.md",
    title: "Stuck: where does a request end?",
};
/// HTTPS that works.
pub const HTTPS: Page = Page {
    file: "https.md",
    title: "HTTPS: HTTP inside TLS",
};
/// TLS and plain HTTP on each other's port.
pub const HTTPS_WRONG_PORT: Page = Page {
    file: "https.md#when-it-goes-wrong",
    title: "HTTPS: when it goes wrong",
};
/// A WebSocket URL, upgraded or not.
pub const WEBSOCKET: Page = Page {
    file: "ws-chat.md",
    title: "Lesson 5: a WebSocket chat",
};
/// A listener that does not accept: its queue is full.
pub const BACKLOG: Page = Page {
    file: "tcp-echo.md#what-a-client-sees-when-the-server-is-full",
    title: "Lesson 1: what a client sees when the server is full",
};
/// A live server holds the port: a second one cannot bind it.
pub const PORT_IN_USE: Page = Page {
    file: "tcp-echo.md#pitfalls",
    title: "Lesson 1's pitfalls: \"Address already in use\"",
};
/// Nothing listens, or plain HTTP that works.
pub const FIRST_SERVER: Page = Page {
    file: "first-server.md",
    title: "Your first server",
};
/// A missing CORS header.
pub const CORS: Page = Page {
    file: "http-server.md#cors-when-a-page-from-elsewhere-calls-your-api",
    title: "Lesson 4: CORS, when a page from elsewhere calls your API",
};
/// Silence, a name that does not resolve, or another protocol.
pub const NETWORK: Page = Page {
    file: "network.md",
    title: "The network beyond loopback",
};

/// The doctor's conclusion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// Whether ADDR answered as its scheme expects (exit 0).
    pub ok: bool,
    /// What is going on and what to do, in a sentence or three.
    pub verdict: String,
    /// The page to read.
    pub page: Page,
}

/// Everything the doctor saw.
pub struct Evidence<'a> {
    /// ADDR.
    pub target: &'a Addr,
    /// Each address tried and its outcome.
    pub attempts: &'a [(SocketAddr, Outcome)],
    /// The sockets on the port here (`None`: ADDR is another machine).
    pub sockets: Option<&'a Seen>,
    /// `--origin`'s findings, `(fine, sentence)`, if asked.
    pub cors: Option<&'a [(bool, String)]>,
}

/// The verdict on `evidence`.
pub fn diagnose(evidence: &Evidence<'_>) -> Diagnosis {
    let target = evidence.target;
    let port = target.port;
    let listeners: Vec<&Socket> = match evidence.sockets {
        Some(Seen::Sockets(sockets)) => sockets
            .iter()
            .filter(|s| s.state == State::Listen)
            .collect(),
        _ => Vec::new(),
    };
    let holder = listeners.iter().find_map(|socket| socket.process.as_ref());

    // 1. Something answered as expected.
    if let Some((good, _)) = evidence
        .attempts
        .iter()
        .find(|(_, outcome)| outcome.is_expected())
    {
        if let Some(problems) = evidence
            .cors
            .filter(|findings| findings.iter().any(|(fine, _)| !fine))
        {
            let missing: Vec<&str> = problems
                .iter()
                .filter(|(fine, _)| !fine)
                .map(|(_, s)| s.as_str())
                .collect();
            return fail(
                format!(
                    "{good} answers, but a browser page from that origin cannot read the answer: {}.",
                    missing.join("; ")
                ),
                CORS,
            );
        }
        let unanswered: Vec<String> = evidence
            .attempts
            .iter()
            .filter(|(_, outcome)| !outcome.is_expected())
            .map(|(addr, _)| addr.ip().to_string())
            .collect();
        if !unanswered.is_empty() {
            return Diagnosis {
                ok: true,
                verdict: format!(
                    "{} answers at {} but not at {}. A client that tries {} first may give up \
                     before it tries {} (curl tries both): connect to {} directly, or bind the server \
                     to the address the client uses.",
                    target.host,
                    good.ip(),
                    unanswered.join(" or "),
                    unanswered.join(" or "),
                    good.ip(),
                    good,
                ),
                page: LOCALHOST,
            };
        }
        let page = match target.scheme {
            Scheme::Tcp => PORT_IN_USE,
            Scheme::Http => FIRST_SERVER,
            Scheme::Https | Scheme::Wss => HTTPS,
            Scheme::Ws => WEBSOCKET,
        };
        let busy = match holder {
            Some(process) => format!(
                " It is {process}: a second server on port {port} would fail with \"address already \
                 in use\" until that process exits."
            ),
            None => String::new(),
        };
        return Diagnosis {
            ok: true,
            verdict: format!("{good} answers as {} expects.{busy}", target.scheme),
            page,
        };
    }

    // 2. Something connected and answered wrongly, or not at all.
    let answers: Vec<(&SocketAddr, &Answer)> = evidence
        .attempts
        .iter()
        .filter_map(|(addr, outcome)| match outcome {
            Outcome::Connected(answer) => Some((addr, answer)),
            _ => None,
        })
        .collect();
    if let Some((addr, answer)) = answers.first() {
        let authority = addr.to_string();
        return match answer {
            Answer::TlsOnPlainPort => fail(
                format!(
                    "{addr} speaks TLS, so it is an HTTPS server: use https://{authority}{} \
                         (for a WebSocket, wss://).",
                    target.path
                ),
                HTTPS_WRONG_PORT,
            ),
            Answer::PlainOnTlsPort(status) => fail(
                format!(
                    "{addr} speaks plain HTTP (it answered the TLS hello with {status:?}): \
                         use http://{authority}{}, or start the server with TLS_CERT and TLS_KEY.",
                    target.path
                ),
                HTTPS_WRONG_PORT,
            ),
            Answer::NoUpgrade(status) => fail(
                format!(
                    "{addr} speaks HTTP but did not switch to WebSocket at {}: it answered {status:?} \
                         instead of 101. Is the path right (the chat's is /ws), and does this server \
                         speak WebSocket?",
                    target.path
                ),
                WEBSOCKET,
            ),
            Answer::Reset => fail(
                format!(
                    "{addr} accepted the connection, then reset it (RST): the program aborted the \
                         connection, often by closing it with unread bytes, or by crashing."
                ),
                RESET,
            ),
            Answer::Closed => fail(
                format!(
                    "{addr} accepted the connection, then closed it without a word: the program \
                         closes connections before answering (a full server, or a bug)."
                ),
                RESET,
            ),
            Answer::Silent => fail(
                format!(
                    "{addr} accepted the connection but answered nothing within {REPLY_PATIENCE:?}: \
                         it may still be waiting for the end of the request, or it never accepts \
                         (the kernel completes connections for a listener on its own)."
                ),
                REQUEST_END,
            ),
            Answer::Other(bytes) => fail(
                format!(
                    "{addr} answered, but not in {}: its first bytes were {bytes}.",
                    target.scheme
                ),
                NETWORK,
            ),
            Answer::AsExpected(_) => fail(format!("{addr} answered."), NETWORK),
        };
    }

    // 3. Nothing connected: the sockets here decide.
    let timed_out = evidence
        .attempts
        .iter()
        .any(|(_, outcome)| *outcome == Outcome::TimedOut);
    let tried: Vec<String> = evidence
        .attempts
        .iter()
        .map(|(addr, _)| addr.ip().to_string())
        .collect();
    let tried = tried.join(" and ");
    if timed_out {
        if let Some(stuck) = listeners.iter().find(|s| s.waiting > 0) {
            return fail(
                format!(
                    "{}{} listens on port {port}, but does not accept: {} connections wait in its \
                         queue, which is full, so the kernel drops new ones. The program is stuck \
                         (or busy) before its next accept().",
                    stuck.local,
                    held_by(stuck),
                    stuck.waiting
                ),
                BACKLOG,
            );
        }
        return fail(
            format!(
                "nothing answered at {tried} within the connection's patience: the packets were \
                     dropped (a firewall, or a host that is down or unreachable)."
            ),
            NETWORK,
        );
    }
    if let Some(elsewhere) = listeners.first() {
        let ip = elsewhere.local.ip();
        let tried_v6 = evidence.attempts.iter().all(|(addr, _)| addr.is_ipv6());
        let fix = match ip {
            IpAddr::V4(_) if tried_v6 => format!(
                "Connect to 127.0.0.1:{port}, or start it with HOST=:: (IPv6, and IPv4 too on Linux)"
            ),
            IpAddr::V6(v6) if v6.is_loopback() => {
                format!("Connect to [::1]:{port}, or start it with HOST=127.0.0.1 or HOST=::")
            }
            IpAddr::V4(v4) if v4.is_loopback() => format!(
                "Connect to {ip}:{port}, or start it with HOST=0.0.0.0 to listen on every address"
            ),
            _ => format!(
                "Connect to {}, or change the server's HOST",
                elsewhere.local
            ),
        };
        return fail(
            format!(
                "{tried} refused the connection: a server{} listens on port {port} at {ip} only \
                 ({}), not at {tried}. {fix}.",
                held_by(elsewhere),
                reach(ip),
            ),
            LOCALHOST,
        );
    }
    let time_wait = match evidence.sockets {
        Some(Seen::Sockets(sockets)) => sockets
            .iter()
            .filter(|s| s.state == State::TimeWait)
            .count(),
        _ => 0,
    };
    let leftovers = if time_wait > 0 {
        format!(
            " The {time_wait} socket(s) in TIME_WAIT on this port are closed connections the kernel \
                  remembers for a minute, not a server: they do not stop a new server binding it."
        )
    } else {
        String::new()
    };
    fail(
        format!(
            "{tried} refused the connection: nothing listens on port {port} there. Is the server \
                 running, and did it print `listening on` with port {port}?{leftovers}"
        ),
        FIRST_SERVER,
    )
}

/// A failing diagnosis.
fn fail(verdict: String, page: Page) -> Diagnosis {
    Diagnosis {
        ok: false,
        verdict,
        page,
    }
}

/// ` (http-raw, process 1234)` when the OS named the socket's process.
fn held_by(socket: &Socket) -> String {
    socket
        .process
        .as_ref()
        .map(|process| format!(" ({process})"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn localhost(port: u16) -> Addr {
        Addr::parse(&port.to_string()).expect("a port is an ADDR")
    }

    #[test]
    fn localhost_answering_at_one_address_of_two_is_ok_and_names_the_other() {
        let target = localhost(3000);
        let attempts = [
            ("[::1]:3000".parse().expect("an address"), Outcome::Refused),
            (
                "127.0.0.1:3000".parse().expect("an address"),
                Outcome::Connected(Answer::AsExpected("connected".into())),
            ),
        ];
        let diagnosis = diagnose(&Evidence {
            target: &target,
            attempts: &attempts,
            sockets: None,
            cors: None,
        });
        assert!(diagnosis.ok);
        assert_eq!(diagnosis.page, LOCALHOST);
        assert!(
            diagnosis
                .verdict
                .starts_with("localhost answers at 127.0.0.1 but not at ::1."),
            "{}",
            diagnosis.verdict
        );
    }

    #[test]
    fn a_reply_in_another_protocol_outranks_a_refusal_at_the_other_address() {
        let target = Addr::parse("http://localhost:3000/").expect("a URL");
        let attempts = [
            ("[::1]:3000".parse().expect("an address"), Outcome::Refused),
            (
                "127.0.0.1:3000".parse().expect("an address"),
                Outcome::Connected(Answer::TlsOnPlainPort),
            ),
        ];
        let diagnosis = diagnose(&Evidence {
            target: &target,
            attempts: &attempts,
            sockets: None,
            cors: None,
        });
        assert!(!diagnosis.ok);
        assert_eq!(diagnosis.page, HTTPS_WRONG_PORT);
        assert!(
            diagnosis.verdict.contains("use https://127.0.0.1:3000/"),
            "{}",
            diagnosis.verdict
        );
    }
}

//! `cargo run -p check -- doctor ADDR [--origin ORIGIN]`: why a connection
//! to ADDR fails (or works), in plain words, and the book page to read.
//!
//! ADDR is a `PORT` (meaning `localhost:PORT`), `host:port`, or a URL
//! (`http://`, `https://`, `ws://`, `wss://`); the scheme says what the
//! server should answer. The report, in order:
//!
//! 1. what the name resolves to, and each address tried with its outcome
//!    (`probe.rs`: refused, timed out, reset, another protocol);
//! 2. what holds that port on this machine: listeners with their bind
//!    address and process, sockets in TIME_WAIT (`listeners.rs`);
//! 3. with `--origin`, the CORS headers a browser needs (`cors.rs`);
//! 4. where the doctor runs, if that changes who can reach what: WSL 2, a
//!    container (`machine.rs`);
//! 5. the verdict and the page (`diagnosis.rs`).
//!
//! Exit 0 when ADDR answers as its scheme expects (and, with `--origin`, the
//! CORS headers are there), 1 when it does not, 2 on bad usage.
//!
//! What to notice: the doctor only ever connects, sends one request and
//! reads the first answer; everything else it reads from the OS. It is
//! blocking code on purpose: one address after another, like a learner
//! trying them by hand.

mod addr;
mod cors;
mod diagnosis;
mod listeners;
// WSL's and containers' clues exist only on Linux; elsewhere the module's
// readers of them go unused.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod machine;
mod probe;
#[cfg(target_os = "linux")]
mod proc_net;
mod tls_hello;

use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};

pub use addr::{Addr, Scheme};
use diagnosis::{Diagnosis, Evidence};
use listeners::{Seen, State};
use probe::Outcome;

use crate::runner::Verdict;

/// The command line's shape, for usage lines.
const USAGE: &str = "usage: cargo run -p check -- doctor ADDR [--origin ORIGIN] \
                     (ADDR: PORT, host:port or a URL such as http://localhost:3000/)";

/// `doctor`'s whole run: `args` are the words after `doctor`.
pub fn run(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Verdict> {
    let (given, origin) = match parse_args(args) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            writeln!(
                out,
                "check doctor: explains why a connection to ADDR fails or works.\n\n{USAGE}"
            )?;
            writeln!(
                out,
                "\n--origin ORIGIN (an http:// ADDR only) also checks the CORS headers a browser page\n\
                 from ORIGIN needs. Exit status: 0 when ADDR answers as its scheme expects, 1 when not,\n\
                 2 for bad usage."
            )?;
            return Ok(Verdict::HelpShown);
        }
        Err(problem) => {
            writeln!(err, "check doctor: {problem}; {USAGE}")?;
            return Ok(Verdict::Unusable);
        }
    };
    let target = match Addr::parse(&given) {
        Ok(target) => target,
        Err(problem) => {
            writeln!(err, "check doctor: {problem}; {USAGE}")?;
            return Ok(Verdict::Unusable);
        }
    };
    if origin.is_some() && target.scheme != Scheme::Http {
        writeln!(
            err,
            "check doctor: --origin needs an http:// ADDR (the doctor does not look inside TLS); {USAGE}"
        )?;
        return Ok(Verdict::Unusable);
    }
    let diagnosis = examine(&target, origin.as_deref(), out)?;
    writeln!(out, "verdict: {}", diagnosis.verdict)?;
    writeln!(
        out,
        "read: docs/src/{} ({})",
        diagnosis.page.file, diagnosis.page.title
    )?;
    Ok(if diagnosis.ok {
        Verdict::AllPassed
    } else {
        Verdict::StageFailed
    })
}

/// ADDR and `--origin`'s value; `None` for `--help`.
fn parse_args(args: &[String]) -> Result<Option<(String, Option<String>)>, String> {
    let mut addr = None;
    let mut origin = None;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--help" | "-h" => return Ok(None),
            "--origin" => match words.next() {
                Some(value) if value.contains("://") => origin = Some(value.clone()),
                Some(value) => {
                    return Err(format!(
                        "--origin wants an origin such as http://localhost:5173, not {value:?}"
                    ));
                }
                None => return Err("--origin wants an origin such as http://localhost:5173".into()),
            },
            option if option.starts_with('-') => {
                return Err(format!("there is no option {option}"));
            }
            _ if addr.is_some() => return Err(format!("one ADDR only ({word:?} is a second)")),
            _ => addr = Some(word.clone()),
        }
    }
    match addr {
        Some(addr) => Ok(Some((addr, origin))),
        None => Err("name the ADDR to examine".into()),
    }
}

/// Resolves, probes, looks around, and prints each finding; the diagnosis.
fn examine(target: &Addr, origin: Option<&str>, out: &mut dyn Write) -> io::Result<Diagnosis> {
    writeln!(out, "doctor: {target} (expects {})", target.scheme)?;
    let addrs: Vec<SocketAddr> = match (target.host.as_str(), target.port).to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(error) => {
            return Ok(Diagnosis {
                ok: false,
                verdict: format!(
                    "the name {} does not resolve: {error}. Check its spelling.",
                    target.host
                ),
                page: diagnosis::NETWORK,
            });
        }
    };
    if addrs.is_empty() {
        return Ok(Diagnosis {
            ok: false,
            verdict: format!("the name {} resolves to no address.", target.host),
            page: diagnosis::NETWORK,
        });
    }
    if target.host.parse::<std::net::IpAddr>().is_err() {
        let ips: Vec<String> = addrs.iter().map(|addr| addr.ip().to_string()).collect();
        writeln!(out, "{} is {}", target.host, ips.join(" and "))?;
    }

    // What holds the port here, when ADDR is this machine; read before
    // probing, so that the doctor's own closed connections (TIME_WAIT) are
    // not counted.
    let local = addrs
        .iter()
        .any(|addr| addr.ip().is_loopback() || addr.ip().is_unspecified());
    let sockets = local.then(|| listeners::on_port(target.port));

    let mut attempts = Vec::with_capacity(addrs.len());
    for addr in addrs.iter().copied() {
        let outcome = probe::probe(addr, target);
        writeln!(out, "  {addr}: {}", describe(&outcome))?;
        attempts.push((addr, outcome));
    }

    match &sockets {
        None => writeln!(
            out,
            "{} is not this machine's loopback: the doctor cannot see what listens there",
            target.host
        )?,
        Some(seen) => report_sockets(seen, target.port, out)?,
    }

    let good = attempts
        .iter()
        .find(|(_, outcome)| outcome.is_expected())
        .map(|(addr, _)| *addr);
    let cors = match (origin, good) {
        (Some(origin), Some(addr)) => {
            writeln!(out, "CORS for a page from {origin}:")?;
            match cors::check(addr, target, origin) {
                Ok(findings) => {
                    for (fine, finding) in &findings {
                        writeln!(
                            out,
                            "  {} {finding}",
                            if *fine { "ok:" } else { "MISSING:" }
                        )?;
                    }
                    Some(findings)
                }
                Err(problem) => {
                    writeln!(out, "  {problem}")?;
                    Some(vec![(false, problem)])
                }
            }
        }
        _ => None,
    };

    for place in machine::detect() {
        writeln!(
            out,
            "this machine: {}",
            machine::meaning(&place, target.port)
        )?;
    }

    Ok(diagnosis::diagnose(&Evidence {
        target,
        attempts: &attempts,
        sockets: sockets.as_ref(),
        cors: cors.as_deref(),
    }))
}

/// One outcome, for its line in the report.
fn describe(outcome: &Outcome) -> String {
    use probe::Answer;
    match outcome {
        Outcome::Refused => "refused: nothing listens at this address".to_string(),
        Outcome::TimedOut => format!(
            "timed out: no answer to the connection within {:?}",
            probe::CONNECT_PATIENCE
        ),
        Outcome::Failed(error) => format!("could not connect: {error}"),
        Outcome::Connected(answer) => match answer {
            Answer::AsExpected(what) => format!("answered: {what}"),
            Answer::TlsOnPlainPort => "connected; it answered in TLS (an HTTPS port)".to_string(),
            Answer::PlainOnTlsPort(status) => {
                format!("connected; it answered the TLS hello in plain HTTP: {status}")
            }
            Answer::NoUpgrade(status) => {
                format!("connected; an HTTP reply, not an upgrade: {status}")
            }
            Answer::Reset => "connected, then reset by the server".to_string(),
            Answer::Closed => "connected, then closed by the server without an answer".to_string(),
            Answer::Silent => format!(
                "connected, but no answer within {:?}",
                probe::REPLY_PATIENCE
            ),
            Answer::Other(bytes) => format!("connected; it answered {bytes}"),
        },
    }
}

/// The listeners, the connections open, and (when nothing listens) the
/// TIME_WAIT sockets on `port`.
fn report_sockets(seen: &Seen, port: u16, out: &mut dyn Write) -> io::Result<()> {
    let sockets = match seen {
        Seen::CannotTell(why) => return writeln!(out, "on this machine, port {port}: {why}"),
        Seen::Sockets(sockets) => sockets,
    };
    let listening: Vec<_> = sockets
        .iter()
        .filter(|s| s.state == State::Listen)
        .collect();
    let listening_count = listening.len();
    if listening.is_empty() {
        writeln!(out, "on this machine, nothing listens on port {port}")?;
    } else {
        writeln!(out, "on this machine, listening on port {port}:")?;
    }
    for socket in listening {
        let process = match &socket.process {
            Some(process) => format!("; {process}"),
            None => "; its process is hidden (another user's: sudo shows it)".to_string(),
        };
        let queue = if socket.waiting > 0 {
            format!("; {} connection(s) waiting to be accepted", socket.waiting)
        } else {
            String::new()
        };
        writeln!(
            out,
            "  {}: {}{process}{queue}",
            socket.local,
            listeners::reach(socket.local.ip())
        )?;
    }
    // Accepted connections still open: a number that only grows while
    // clients come and go means the server does not notice them leave.
    if listening_count > 0 {
        let open = sockets
            .iter()
            .filter(|s| s.state == State::Established)
            .count();
        writeln!(out, "  connections open on port {port} now: {open}")?;
    }
    // TIME_WAIT matters only when no server holds the port: then a learner
    // may take those sockets for the server that blocks theirs.
    let time_wait = sockets
        .iter()
        .filter(|s| s.state == State::TimeWait)
        .count();
    if time_wait > 0 && listening_count == 0 {
        writeln!(
            out,
            "  and {time_wait} socket(s) in TIME_WAIT: closed connections, not servers"
        )?;
    }
    Ok(())
}

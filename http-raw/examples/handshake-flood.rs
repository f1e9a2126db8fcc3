//! A probe for the TLS handshake flood: opens N connections to an HTTPS
//! server on this machine that each send half a ClientHello and then stall,
//! and, while they are open, times normal HTTPS requests.
//!
//! What to notice: a TLS handshake is work the server does for a client it
//! knows nothing about yet, and each one in progress holds a connection
//! slot. A client that starts one and never finishes costs the attacker a
//! socket; if the server let such handshakes take every slot until a timeout
//! ran out, real clients would wait that long. The figure this prints is the
//! one a user would feel: how long a normal `GET /` over HTTPS takes
//! while the flood is open. The flood's ClientHello is a real one, made by
//! rustls and cut in half, so the server cannot tell it from a slow client.
//! With `--idle`, the flood's connections send nothing at all.
//!
//! Try it (dev-cert's certificate names 127.0.0.1, and its CA is what the
//! normal requests trust; `$!` is the PID of the server just started):
//!
//! ```text
//! cargo build -p http-raw --bin http-raw --bin dev-cert --example handshake-flood
//! target/debug/dev-cert target/dev-cert
//! TLS_CERT=target/dev-cert/cert.pem TLS_KEY=target/dev-cert/key.pem target/debug/http-raw &
//! target/debug/examples/handshake-flood 127.0.0.1:3000 target/dev-cert/ca.pem 2000
//! kill $!
//! ```
//!
//! It talks only to the loopback range, opens at most `MAX_FLOOD`
//! connections, and every wait has a deadline, so it ends by itself within
//! about a minute.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// At most this many flood connections: enough to fill any server's default
/// `MAX_CONNECTIONS` (1024) twice, and few enough for one client address.
const MAX_FLOOD: usize = 10_000;

/// How long one flood connection may take to connect. Past the server's
/// listen backlog the kernel drops SYNs, and `connect` retries for minutes.
const CONNECT_PATIENCE: Duration = Duration::from_secs(5);

/// How long one normal request may take before it counts as not answered.
const REQUEST_PATIENCE: Duration = Duration::from_secs(20);

/// How many normal requests are timed, one after another.
const REQUESTS: usize = 3;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let idle = args.iter().any(|arg| arg == "--idle");
    let args: Vec<&String> = args.iter().filter(|arg| *arg != "--idle").collect();
    let (addr, ca, count) = match args[..] {
        [addr, ca] => (addr, ca, Ok(2000)),
        [addr, ca, count] => (addr, ca, count.parse::<usize>()),
        _ => return usage("expected ADDR CA_PEM [N]"),
    };
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        return usage("ADDR is an IP address and port, such as 127.0.0.1:3000");
    };
    if !addr.ip().is_loopback() {
        return usage("this probe floods only servers on this machine (127.0.0.0/8 or ::1)");
    }
    let count = match count {
        Ok(count) if (1..=MAX_FLOOD).contains(&count) => count,
        _ => return usage(&format!("N is a number from 1 to {MAX_FLOOD}")),
    };
    let config = match client_config(ca) {
        Ok(config) => config,
        Err(why) => return usage(&why),
    };
    raise_file_limit(count);

    // The flood: every connection at once, each with its own deadline.
    let half_hello = if idle {
        Vec::new()
    } else {
        half_a_client_hello(&config, addr)
    };
    let started = Instant::now();
    let opening: Vec<_> = (0..count)
        .map(|_| {
            let half_hello = half_hello.clone();
            tokio::spawn(async move {
                let open = async {
                    let mut stream = TcpStream::connect(addr).await?;
                    stream.write_all(&half_hello).await?;
                    Ok::<_, std::io::Error>(stream)
                };
                tokio::time::timeout(CONNECT_PATIENCE, open).await
            })
        })
        .collect();
    let mut flood = Vec::new();
    for opened in opening {
        if let Ok(Ok(Ok(stream))) = opened.await {
            flood.push(stream);
        }
    }
    let what = if idle {
        "idle TCP connections (nothing sent)"
    } else {
        "half-open TLS handshakes (half a ClientHello each)"
    };
    println!(
        "flood: {count} {what}: {} open, {} failed to connect, in {:.2} s",
        flood.len(),
        count - flood.len(),
        started.elapsed().as_secs_f64()
    );

    // While the flood is open: normal requests, timed. The first meets the
    // flood at its height; the later ones show whether the server recovered.
    for n in 1..=REQUESTS {
        let started = Instant::now();
        match tokio::time::timeout(REQUEST_PATIENCE, get_page(&config, addr)).await {
            Ok(Ok(status_line)) => {
                let took = started.elapsed().as_secs_f64();
                println!("normal request {n}: {status_line} in {took:.3} s");
            }
            Ok(Err(error)) => println!("normal request {n}: failed: {error}"),
            Err(_) => println!("normal request {n}: no answer within {REQUEST_PATIENCE:?}"),
        }
    }
    println!(
        "the server has closed {} of the flood's {} connections",
        closed_by_server(&mut flood).await,
        flood.len()
    );
    ExitCode::SUCCESS
}

/// A client that trusts the CA in `ca` (PEM) only.
fn client_config(ca: &str) -> Result<Arc<ClientConfig>, String> {
    let cert = CertificateDer::from_pem_file(ca)
        .map_err(|error| format!("cannot read a CA certificate from {ca}: {error}"))?;
    let mut roots = RootCertStore::empty();
    roots
        .add(cert)
        .map_err(|error| format!("{ca} is not a usable CA certificate: {error}"))?;
    let mut config = ClientConfig::builder_with_provider(http_raw::tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The first half of the ClientHello a real client would send to `addr`.
fn half_a_client_hello(config: &Arc<ClientConfig>, addr: SocketAddr) -> Vec<u8> {
    let name = ServerName::IpAddress(addr.ip().into());
    let mut hello = Vec::new();
    // A fresh client connection has nothing to do but say hello: these
    // calls cannot fail for want of input.
    if let Ok(mut client) = ClientConnection::new(Arc::clone(config), name) {
        let _ = client.write_tls(&mut hello);
    }
    hello.truncate(hello.len() / 2);
    hello
}

/// One normal request: connect, handshake, `GET /` (every HTTP lesson and
/// nginx answer it), read the answer; its status line.
async fn get_page(config: &Arc<ClientConfig>, addr: SocketAddr) -> std::io::Result<String> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::IpAddress(addr.ip().into());
    let mut tls = TlsConnector::from(Arc::clone(config))
        .connect(name, tcp)
        .await?;
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await?;
    let line = response.split(|&byte| byte == b'\r').next().unwrap_or(&[]);
    Ok(String::from_utf8_lossy(line).into_owned())
}

/// How many of `flood`'s connections the server has closed: a read that
/// ends (or fails) at once. Any bytes a server sent are read and dropped.
async fn closed_by_server(flood: &mut [TcpStream]) -> usize {
    let mut closed = 0;
    let mut scratch = [0u8; 4096];
    for stream in flood {
        // Anything else (an alert, or nothing yet) means still open.
        let read = tokio::time::timeout(Duration::from_millis(1), stream.read(&mut scratch));
        if let Ok(Ok(0) | Err(_)) = read.await {
            closed += 1;
        }
    }
    closed
}

/// Lifts this process's soft limit on open files to what `count`
/// connections need, as far as the hard limit allows.
#[cfg(unix)]
fn raise_file_limit(count: usize) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let wanted = count as u64 + 64;
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    if soft < wanted && setrlimit(Resource::RLIMIT_NOFILE, wanted.min(hard), hard).is_err() {
        eprintln!("note: cannot raise the open-files limit to {wanted}; some connections may fail");
    }
}

/// Windows has no limit on open files to lift: sockets are handles.
#[cfg(not(unix))]
fn raise_file_limit(_count: usize) {}

fn usage(why: &str) -> ExitCode {
    eprintln!("usage: handshake-flood ADDR CA_PEM [N] [--idle]: {why}");
    ExitCode::from(2)
}

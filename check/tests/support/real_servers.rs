//! Real, well-known servers for lesson 6's checkers: Python's aiosmtpd
//! (SMTP), pyftpdlib (FTP) and dnsmasq (DNS), each started as a child
//! process on 127.0.0.1 and killed when dropped.
//!
//! What to notice: they are Debian packages (`python3-aiosmtpd`,
//! `python3-pyftpdlib`, `dnsmasq-base`), not on a fresh machine, so the tests
//! that use them are `#[ignore]`d and `.ci/run` installs them and runs them.
//! The Python ones are run with Debian's `/usr/bin/python3`, which is where
//! Debian's packages install.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::{PATIENCE, local};

/// Debian's Python, where `python3-aiosmtpd` and `python3-pyftpdlib` live.
const DEBIAN_PYTHON: &str = "/usr/bin/python3";

/// A real server's process (killed on drop) and where it listens.
pub struct RealServer {
    _child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// A folder it uses, removed on drop.
    _folder: Option<tempfile::TempDir>,
}

/// Reads lines from `reader` until one says `listening on ...:PORT` (or
/// contains `ready`, with `port` already known); returns the port.
async fn wait_for_line(
    reader: &mut (impl AsyncBufRead + Unpin),
    what: &str,
    port: Option<u16>,
) -> u16 {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let read = tokio::time::timeout(PATIENCE, reader.read_line(&mut line))
            .await
            .unwrap_or_else(|_| panic!("{what} said nothing in time; it said {lines:?}"))
            .expect("reading its output");
        assert!(
            read > 0,
            "{what} exited before it was ready; it said {lines:?}"
        );
        if let Some(port) = port.filter(|_| line.contains("started")) {
            return port;
        }
        if let Some(rest) = line.trim().strip_prefix("listening on ") {
            return rest
                .rsplit(':')
                .next()
                .and_then(|port| port.parse().ok())
                .unwrap_or_else(|| panic!("no port in {line:?}"));
        }
        lines.push(line);
    }
}

/// Starts one of `tests/python/SCRIPT` with `args`.
async fn start_python(
    script: &str,
    args: &[&str],
    folder: Option<tempfile::TempDir>,
) -> RealServer {
    let script = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(DEBIAN_PYTHON)
        .arg(&script)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("/usr/bin/python3 runs");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let port = wait_for_line(&mut stdout, script.as_str(), None).await;
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move {
        let mut lines = stdout.lines();
        while let Ok(Some(_)) = lines.next_line().await {}
    });
    RealServer {
        _child: child,
        addr: local(port),
        _folder: folder,
    }
}

/// aiosmtpd (`tests/python/aiosmtpd_server.py`), taking messages of up to
/// `size_limit` bytes.
pub async fn start_aiosmtpd(size_limit: usize) -> RealServer {
    start_python("aiosmtpd_server.py", &[&size_limit.to_string()], None).await
}

/// pyftpdlib (`tests/python/pyftpdlib_server.py`) serving `folder`,
/// anonymous and read-only; the folder is removed when the server is.
pub async fn start_pyftpdlib(folder: tempfile::TempDir) -> RealServer {
    let path = folder.path().to_str().expect("a UTF-8 path").to_string();
    start_python("pyftpdlib_server.py", &[&path], Some(folder)).await
}

/// A port free for both UDP and TCP on 127.0.0.1 (dnsmasq has no port 0).
fn free_udp_and_tcp_port() -> u16 {
    for _ in 0..50 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
        let port = udp.local_addr().expect("local_addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP");
}

/// dnsmasq, authoritative for `plants.test` (`auth-zone`), serving the
/// lesson's names: the DNS checker's stages ask for these.
pub async fn start_dnsmasq() -> RealServer {
    let port = free_udp_and_tcp_port();
    let folder = tempfile::tempdir().expect("a temporary folder");
    let long = "x".repeat(200);
    let conf = format!(
        "port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\nno-poll\n\
         log-facility=-\npid-file=\n\
         auth-zone=plants.test\nauth-server=ns1.plants.test,127.0.0.1\n\
         auth-soa=2026010101,hostmaster.plants.test,3600,600,86400\n\
         host-record=plants.test,127.0.0.1\nhost-record=www.plants.test,127.0.0.1,::1\n\
         host-record=ns1.plants.test,127.0.0.1\nhost-record=mail.plants.test,127.0.0.1\n\
         cname=shop.plants.test,www.plants.test\nmx-host=plants.test,mail.plants.test,10\n\
         txt-record=plants.test,\"Plants, served by dnsmasq\"\n\
         txt-record=big.plants.test,\"{long}\",\"{long}\"\n\
         txt-record=big.plants.test,\"{long}\"\n"
    );
    let conf_path = folder.path().join("dnsmasq.conf");
    std::fs::write(&conf_path, conf).expect("write dnsmasq.conf");
    let mut child = Command::new(dnsmasq())
        .arg("--keep-in-foreground")
        .arg(format!("--conf-file={}", conf_path.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("dnsmasq runs (Debian: apt-get install dnsmasq-base)");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
    wait_for_line(&mut stderr, "dnsmasq", Some(port)).await;
    tokio::spawn(async move {
        let mut lines = stderr.lines();
        while let Ok(Some(_)) = lines.next_line().await {}
    });
    RealServer {
        _child: child,
        addr: local(port),
        _folder: Some(folder),
    }
}

/// Where dnsmasq is: in /usr/sbin, often not on a user's PATH.
fn dnsmasq() -> &'static str {
    if Path::new("/usr/sbin/dnsmasq").exists() {
        "/usr/sbin/dnsmasq"
    } else {
        "dnsmasq"
    }
}

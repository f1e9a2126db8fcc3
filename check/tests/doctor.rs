//! The doctor's fault matrix: one fixture per way a connection goes wrong,
//! each asserting the doctor's verdict, its page and its exit status.
//!
//! The doctor runs as the built binary (`check doctor ADDR`), exactly as a
//! learner runs it; the fixtures are small blocking servers on loopback
//! (a real rustls server for TLS). Traffic goes to 127.0.0.0/8 and ::1 only.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// The most a fixture reads of a request head.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// `check doctor ARGS`: exit status and stdout (stderr appended).
fn doctor(args: &[&str]) -> (i32, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_check"))
        .arg("doctor")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running check doctor");
    let mut text = String::from_utf8_lossy(&stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&stderr));
    (status.code().unwrap_or(-1), text)
}

/// An HTTP server on `listener` that answers every request with `response`.
fn serve_http(listener: TcpListener, response: &'static str) {
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut buf = [0; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(response.as_bytes());
        }
    });
}

/// A listener on 127.0.0.1, port 0.
fn loopback() -> (TcpListener, u16) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    let port = listener.local_addr().expect("its address").port();
    (listener, port)
}

const HELLO: &str = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

#[test]
fn a_server_on_127_0_0_1_probed_at_127_0_0_2_is_refused_and_the_doctor_names_where_it_listens() {
    let (listener, port) = loopback();
    serve_http(listener, HELLO);
    let (code, report) = doctor(&[&format!("127.0.0.2:{port}")]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains(&format!("127.0.0.2:{port}: refused")),
        "{report}"
    );
    if cfg!(target_os = "linux") {
        assert!(
            report.contains(&format!("listens on port {port} at 127.0.0.1 only")),
            "{report}"
        );
        assert!(
            report.contains(&format!("Connect to 127.0.0.1:{port}")),
            "{report}"
        );
    }
    assert!(
        report.contains("read: docs/src/stuck-localhost.md"),
        "{report}"
    );
}

#[test]
fn a_server_on_ipv6_loopback_only_probed_at_127_0_0_1_is_refused_and_named_at_1() {
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        eprintln!("SKIP: this machine has no IPv6 loopback (::1), so there is nothing to test");
        return;
    };
    let port = listener.local_addr().expect("its address").port();
    serve_http(listener, HELLO);
    let (code, report) = doctor(&[&format!("http://127.0.0.1:{port}/")]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains(&format!("127.0.0.1:{port}: refused")),
        "{report}"
    );
    if cfg!(target_os = "linux") {
        assert!(
            report.contains(&format!("[::1]:{port}: loopback only, IPv6 only")),
            "{report}"
        );
        assert!(
            report.contains(&format!("Connect to [::1]:{port}")),
            "{report}"
        );
    }
    assert!(
        report.contains("read: docs/src/stuck-localhost.md"),
        "{report}"
    );
}

// Naming the process holding a port needs /proc; elsewhere the doctor says
// it cannot tell (tested below on other systems by the next test's first half).
#[cfg(target_os = "linux")]
#[test]
fn a_port_held_by_a_child_process_names_that_process_and_the_address_in_use_it_causes() {
    // The child: python3 (on every fresh machine) listening, never accepting.
    let script = "import socket,sys\n\
                  s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(8)\n\
                  print(s.getsockname()[1], flush=True)\n\
                  sys.stdin.read()\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting python3");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("its stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("its port");
    let port: u16 = line.trim().parse().expect("a port number");

    let (code, report) = doctor(&[&format!("127.0.0.1:{port}")]);
    // Closing its stdin ends the child; wait for it.
    drop(child.stdin.take());
    let _ = child.wait();

    assert_eq!(code, 0, "{report}");
    let holder = format!("python3, process {}", child.id());
    assert!(
        report.contains(&format!(
            "127.0.0.1:{port}: loopback only, IPv4: this machine only; {holder}"
        )),
        "{report}"
    );
    assert!(report.contains("address already in use"), "{report}");
}

// The queue length comes from /proc/net/tcp; the timeout itself happens on
// every OS, but only Linux drops SYNs to a full queue (others may reset).
#[cfg(target_os = "linux")]
#[test]
fn a_listener_that_never_accepts_with_a_full_backlog_times_out_and_is_named_stuck() {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("a runtime");
    let listener = runtime.block_on(async {
        socket
            .bind((Ipv4Addr::LOCALHOST, 0).into())
            .expect("binding 127.0.0.1:0");
        socket.listen(1).expect("listening with a backlog of 1")
    });
    let addr = listener.local_addr().expect("its address");
    // Fill the queue: connect until the kernel stops completing connections.
    let mut queued = Vec::new();
    for _ in 0..16 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(stream) => queued.push(stream),
            Err(_) => break,
        }
    }
    assert!(queued.len() < 16, "the queue never filled");

    let (code, report) = doctor(&[&addr.to_string()]);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains(&format!("{addr}: timed out")), "{report}");
    assert!(report.contains("does not accept"), "{report}");
    assert!(report.contains("waiting to be accepted"), "{report}");
    assert!(report.contains("read: docs/src/tcp-echo.md"), "{report}");
    drop(listener);
}

#[test]
fn tls_on_the_plain_http_port_says_use_https() {
    let (listener, port) = loopback();
    serve_tls(listener);
    let (code, report) = doctor(&[&format!("http://127.0.0.1:{port}/")]);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("speaks TLS"), "{report}");
    assert!(
        report.contains(&format!("use https://127.0.0.1:{port}/")),
        "{report}"
    );
    assert!(report.contains("read: docs/src/https.md"), "{report}");

    // The same server, asked the right way, answers as HTTPS expects.
    let (code, report) = doctor(&[&format!("https://localhost:{port}/")]);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("a TLS handshake"), "{report}");
}

#[test]
fn plain_http_on_the_https_port_says_use_http() {
    let (listener, port) = loopback();
    serve_http(
        listener,
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let (code, report) = doctor(&[&format!("https://127.0.0.1:{port}/")]);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("speaks plain HTTP"), "{report}");
    assert!(
        report.contains(&format!("use http://127.0.0.1:{port}/")),
        "{report}"
    );
    assert!(report.contains("read: docs/src/https.md"), "{report}");
}

#[test]
fn a_missing_cors_header_is_named() {
    let (listener, port) = loopback();
    serve_http(listener, HELLO);
    let url = format!("http://127.0.0.1:{port}/api/plants");
    let (code, report) = doctor(&[&url, "--origin", "http://localhost:5173"]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains("MISSING: GET /api/plants with Origin: http://localhost:5173 (status 200): no Access-Control-Allow-Origin header"),
        "{report}"
    );
    assert!(
        report.contains("no Access-Control-Allow-Methods header"),
        "{report}"
    );
    assert!(report.contains("read: docs/src/http-server.md"), "{report}");
}

#[test]
fn a_server_with_every_cors_header_passes_the_origin_check() {
    let (listener, port) = loopback();
    serve_http(
        listener,
        "HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: http://localhost:5173\r\n\
         Access-Control-Allow-Methods: GET, POST\r\nAccess-Control-Allow-Headers: Content-Type\r\n\
         Connection: close\r\n\r\n",
    );
    let url = format!("http://127.0.0.1:{port}/api/plants");
    let (code, report) = doctor(&[&url, "--origin", "http://localhost:5173"]);
    assert_eq!(code, 0, "{report}");
    assert!(!report.contains("MISSING"), "{report}");
}

#[test]
fn nothing_listening_is_refused_and_the_doctor_asks_whether_the_server_runs() {
    let (listener, port) = loopback();
    drop(listener);
    let (code, report) = doctor(&[&format!("127.0.0.1:{port}")]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains(&format!("127.0.0.1:{port}: refused")),
        "{report}"
    );
    assert!(report.contains("Is the server running"), "{report}");
}

#[test]
fn a_websocket_url_answered_by_plain_http_says_no_upgrade() {
    let (listener, port) = loopback();
    serve_http(
        listener,
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let (code, report) = doctor(&[&format!("ws://127.0.0.1:{port}/chat")]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains("did not switch to WebSocket at /chat"),
        "{report}"
    );
}

#[test]
fn bad_usage_exits_2_with_one_sentence() {
    for args in [
        &[][..],
        &["ftp://127.0.0.1:21"],
        &["1", "2"],
        &["https://127.0.0.1:1/", "--origin", "http://x"],
    ] {
        let (code, report) = doctor(args);
        assert_eq!(code, 2, "{args:?}: {report}");
        assert!(report.starts_with("check doctor: "), "{args:?}: {report}");
        assert_eq!(report.lines().count(), 1, "{args:?}: {report}");
    }
}

/// A real TLS server (rustls, a self-signed certificate for localhost) that
/// completes handshakes and answers `HELLO`.
fn serve_tls(listener: TcpListener) {
    let key = rcgen::KeyPair::generate().expect("a key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("valid names")
        .self_signed(&key)
        .expect("a certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("a server config");
    let config = Arc::new(config);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(connection) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(connection, stream);
                let mut buf = [0; 1024];
                if tls.read(&mut buf).is_ok() {
                    let _ = tls.write_all(HELLO.as_bytes());
                }
            });
        }
    });
}

// The count comes from /proc/net/tcp.
#[cfg(target_os = "linux")]
#[test]
fn the_connections_open_on_the_port_are_counted() {
    let (listener, port) = loopback();
    let clients: Vec<std::net::TcpStream> = (0..2)
        .map(|_| std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connecting"))
        .collect();
    let accepted: Vec<_> = (0..2)
        .map(|_| listener.accept().expect("accepting"))
        .collect();
    let (code, report) = doctor(&[&format!("127.0.0.1:{port}")]);
    assert_eq!(code, 0, "{report}");
    assert!(
        report.contains(&format!("connections open on port {port} now: 2")),
        "{report}"
    );
    drop((clients, accepted));
}

#[test]
fn a_server_that_resets_after_accepting_is_named_reset() {
    let (listener, port) = loopback();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // Read one byte of the request and close: the unread rest makes
            // the kernel send a reset (RST), not a FIN (RFC 2525, 2.17).
            let mut stream = stream;
            let _ = stream.read(&mut [0; 1]);
            drop(stream);
        }
    });
    let (code, report) = doctor(&[&format!("http://127.0.0.1:{port}/")]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains(&format!(
            "127.0.0.1:{port}: connected, then reset by the server"
        )),
        "{report}"
    );
    assert!(
        report.contains("read: docs/src/stuck-connection-reset.md"),
        "{report}"
    );
}

// TIME_WAIT sockets are read from /proc/net/tcp.
#[cfg(target_os = "linux")]
#[test]
fn sockets_in_time_wait_are_told_apart_from_a_live_server() {
    let (listener, port) = loopback();
    let mut client = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connecting");
    let (accepted, _) = listener.accept().expect("accepting");
    // The server closes first, so its side of the connection (local port
    // PORT) waits in TIME_WAIT; then the server stops listening.
    drop(accepted);
    let _ = client.read(&mut [0; 1]); // its FIN: EOF
    drop(client);
    drop(listener);

    let (code, report) = doctor(&[&format!("127.0.0.1:{port}")]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains(&format!("nothing listens on port {port}")),
        "{report}"
    );
    assert!(
        report.contains("1 socket(s) in TIME_WAIT: closed connections, not servers"),
        "{report}"
    );
    assert!(
        report.contains("they do not stop a new server binding it"),
        "{report}"
    );
    // And the port can indeed be bound again, as the lessons bind it.
    let again = TcpListener::bind((Ipv4Addr::LOCALHOST, port));
    assert!(again.is_ok(), "{again:?}");
}

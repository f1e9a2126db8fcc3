//! The three binaries as a learner meets them: the `listening on` line,
//! bad settings, a port already in use, and stopping with SIGTERM or Ctrl+C
//! (SIGINT) while work is in flight.

// Elsewhere than Unix the tests that send signals (or need what only Unix
// has) are compiled out, and what only they use is unused.
#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

mod support;

use support::dns_client::{A, ask_udp, parse, query};
use support::line_client::LineClient;
#[cfg(unix)]
use support::process::STOP_SIGNALS;
use testkit::process::{assert_rejects_config, next_line, spawn};

const SMTP: &str = env!("CARGO_BIN_EXE_smtp");
const FTP: &str = env!("CARGO_BIN_EXE_ftp");
const DNS: &str = env!("CARGO_BIN_EXE_dns");

#[tokio::test]
async fn each_prints_its_listening_line_with_the_bound_port_then_a_hint() {
    let mail = tempfile::tempdir().expect("tempdir");
    let mail_dir = mail.path().to_str().expect("UTF-8 path");
    for (program, scheme, hint) in [
        (SMTP, "smtp", "try: nc -C 127.0.0.1 PORT"),
        (FTP, "ftp", "try: curl ftp://127.0.0.1:PORT/"),
        (DNS, "dns", "try: dig @127.0.0.1 -p PORT www.plants.test"),
    ] {
        let mut server = spawn(program, &[("MAIL_DIR", mail_dir)]);
        let port = server.listening_port(scheme).await;
        assert_ne!(port, 0);
        let line = next_line(&mut server.stdout, "hint").await;
        assert_eq!(
            line.as_deref(),
            Some(hint.replace("PORT", &port.to_string()).as_str())
        );
    }
}

#[tokio::test]
async fn bad_settings_exit_2_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad_zone = dir.path().join("bad.zone");
    std::fs::write(
        &bad_zone,
        "$ORIGIN x.\n$TTL 1\n@ SOA a b 1 2 3 4 5\n@ NS a\nwww A 999.1.1.1\n",
    )
    .expect("write");
    let a_file = dir.path().join("file");
    std::fs::write(&a_file, "not a folder").expect("write");
    let under_a_file = a_file.join("mail");
    let common = [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("HOST", "nonsense"),
        ("SHUTDOWN_GRACE_SECS", "soon"),
        ("MAX_CONNECTIONS", "0"),
    ];
    for program in [SMTP, FTP, DNS] {
        for (name, value) in common {
            assert_rejects_config(program, name, value).await;
        }
    }
    for (name, value) in [
        ("IDLE_TIMEOUT_SECS", "0"),
        ("MAX_MESSAGE_BYTES", "0"),
        ("MAIL_DIR", under_a_file.to_str().expect("UTF-8")),
    ] {
        assert_rejects_config(SMTP, name, value).await;
    }
    for (name, value) in [
        ("IDLE_TIMEOUT_SECS", "never"),
        ("FTP_ROOT", "/no/such/folder"),
        ("FTP_ROOT", a_file.to_str().expect("UTF-8")),
        ("FTP_WRITABLE", "yes"),
    ] {
        assert_rejects_config(FTP, name, value).await;
    }
    for (name, value) in [
        ("ZONE_FILE", "/no/such.zone"),
        ("ZONE_FILE", bad_zone.to_str().expect("UTF-8")),
    ] {
        assert_rejects_config(DNS, name, value).await;
    }
}

#[tokio::test]
async fn a_bad_zone_file_is_named_with_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zone = dir.path().join("bad.zone");
    std::fs::write(
        &zone,
        "$ORIGIN x.\n$TTL 1\n@ SOA a b 1 2 3 4 5\n@ NS a\nwww A 999.1.1.1\n",
    )
    .expect("write");
    let mut server = spawn(DNS, &[("ZONE_FILE", zone.to_str().expect("UTF-8"))]);
    let (_, stderr) = server.exit_and_stderr().await;
    assert!(
        stderr[0].contains("line 5: 999.1.1.1: not an IPv4 address"),
        "{stderr:?}"
    );
}

#[tokio::test]
async fn a_port_in_use_is_explained_not_panicked() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let taken_udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let udp_port = taken_udp.local_addr().expect("addr").port().to_string();
    let mail = tempfile::tempdir().expect("tempdir");
    let mail_dir = mail.path().to_str().expect("UTF-8");
    for (program, port) in [(SMTP, &port), (FTP, &port), (DNS, &port), (DNS, &udp_port)] {
        let mut server = spawn(program, &[("PORT", port), ("MAIL_DIR", mail_dir)]);
        let (status, stderr) = server.exit_and_stderr().await;
        let text = stderr.join("\n");
        assert!(!status.success(), "{program}: {status}");
        assert!(
            text.contains(&format!("127.0.0.1:{port}")),
            "{program}: names the address: {text}"
        );
        assert!(text.contains("already in use"), "{program}: {text}");
        assert!(!text.contains("panicked"), "{program}: {text}");
    }
}

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn smtp_stops_on_sigterm_or_ctrl_c_after_the_message_in_flight() {
    for signal in STOP_SIGNALS {
        let mail = tempfile::tempdir().expect("tempdir");
        let mut server = spawn(SMTP, &[("MAIL_DIR", mail.path().to_str().expect("UTF-8"))]);
        let port = server.listening_port("smtp").await;
        let mut client = LineClient::greeted(([127, 0, 0, 1], port).into(), 220).await;
        client.command("HELO me", 250).await;
        client.command("MAIL FROM:<a@b.test>", 250).await;
        client.command("RCPT TO:<c@plants.test>", 250).await;
        client.command("DATA", 354).await;
        client.send_raw(b"Subject: in flight\r\n\r\n").await;
        server.signal(signal);
        client.send_raw(b"finished\r\n.\r\n").await;
        client.expect(250).await;
        client.expect(421).await;
        assert_eq!(server.exit_status().await.code(), Some(0), "{signal}");
        assert_eq!(
            std::fs::read_dir(mail.path()).expect("read").count(),
            1,
            "{signal}: stored"
        );
    }
}

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn ftp_stops_on_sigterm_or_ctrl_c_telling_sessions_421() {
    for signal in STOP_SIGNALS {
        let mut server = spawn(FTP, &[]);
        let port = server.listening_port("ftp").await;
        let mut client = LineClient::greeted(([127, 0, 0, 1], port).into(), 220).await;
        client.command("USER anonymous", 331).await;
        server.signal(signal);
        client.expect(421).await;
        assert_eq!(server.exit_status().await.code(), Some(0), "{signal}");
    }
}

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn dns_stops_on_sigterm_or_ctrl_c() {
    for signal in STOP_SIGNALS {
        let mut server = spawn(DNS, &[]);
        let port = server.listening_port("dns").await;
        let answer = parse(
            &ask_udp(
                ([127, 0, 0, 1], port).into(),
                &query(1, "www.plants.test", A, None),
            )
            .await,
        );
        assert_eq!(answer.data(), ["127.0.0.1"]);
        server.signal(signal);
        assert_eq!(server.exit_status().await.code(), Some(0), "{signal}");
    }
}

//! The SMTP server on real sockets: the conversation, every limit at its
//! boundary, timeouts, the connection limit and shutdown.

mod support;

use std::path::Path;
use std::time::Duration;

use protocols::smtp::limits::{MAX_COMMAND_LINE, MAX_ERRORS, MAX_RECIPIENTS};
use support::PATIENCE;
use support::line_client::LineClient;
use support::servers::start_smtp;
use tokio::net::TcpStream;

/// The stored messages, oldest first (ids count up), as text.
fn stored(dir: &Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("mail dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    files.sort_by_key(|path| {
        let stem = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default()
            .to_string();
        stem.rsplit('-')
            .next()
            .and_then(|count| count.parse::<u64>().ok())
            .unwrap_or(0)
    });
    files
        .iter()
        .map(|path| std::fs::read_to_string(path).expect("a stored message"))
        .collect()
}

/// A message body of exactly `size` bytes, in lines of at most 100.
fn body_of(size: usize) -> String {
    let mut body = String::new();
    while body.len() + 100 + 2 <= size {
        body.push_str(&format!("{}\r\n", "m".repeat(98)));
    }
    body.push_str(&"n".repeat(size - body.len() - 2));
    body.push_str("\r\n");
    body
}

/// Greeted, said EHLO: ready for MAIL FROM.
async fn ready(addr: std::net::SocketAddr) -> LineClient {
    let mut client = LineClient::greeted(addr, 220).await;
    client.command("EHLO client.test", 250).await;
    client
}

/// Sends a message from `from` to `to` with `body` (lines with CRLF, no
/// final dot); returns the reply after the dot.
async fn send_message(
    client: &mut LineClient,
    to: &[&str],
    body: &str,
) -> support::line_client::Reply {
    client.command("MAIL FROM:<sender@client.test>", 250).await;
    for to in to {
        client.command(&format!("RCPT TO:<{to}>"), 250).await;
    }
    client.command("DATA", 354).await;
    client.send_raw(body.as_bytes()).await;
    client.send_raw(b".\r\n").await;
    client.reply().await
}

#[tokio::test]
async fn a_whole_conversation_stores_one_file_with_its_envelope() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |_| {});
    let mut client = LineClient::connect(server.addr).await;
    let greeting = client.expect(220).await;
    assert!(greeting.text().contains("ESMTP"), "{greeting:?}");
    let ehlo = client.command("EHLO client.test", 250).await;
    assert!(
        ehlo.lines.len() > 1,
        "EHLO answers with several lines: {ehlo:?}"
    );
    assert!(
        ehlo.lines.contains(&"SIZE 10485760".to_string()),
        "{ehlo:?}"
    );
    assert!(ehlo.lines.contains(&"PIPELINING".to_string()), "{ehlo:?}");

    let body = "From: sender@client.test\r\nSubject: hello\r\n\r\n..a line that starts with a dot\r\nbye\r\n";
    let reply = send_message(&mut client, &["a@plants.test", "b@plants.test"], body).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    assert!(reply.text().contains("queued as"), "{reply:?}");
    client.command("QUIT", 221).await;
    client.assert_closed().await;

    let messages = stored(dir.path());
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert!(
        message.starts_with("Return-Path: <sender@client.test>\r\n"),
        "{message}"
    );
    assert!(
        message.contains("Delivered-To: a@plants.test\r\nDelivered-To: b@plants.test\r\n"),
        "{message}"
    );
    assert!(
        message.contains("Received: from client.test (127.0.0.1) by mail.plants.test"),
        "{message}"
    );
    assert!(
        message.ends_with("Subject: hello\r\n\r\n.a line that starts with a dot\r\nbye\r\n"),
        "dot-stuffing undone: {message}"
    );
    server.stop().await;
}

#[tokio::test]
async fn one_connection_sends_several_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |_| {});
    let mut client = ready(server.addr).await;
    for n in 1..=3 {
        let reply = send_message(
            &mut client,
            &["a@plants.test"],
            &format!("Subject: {n}\r\n\r\nbody {n}\r\n"),
        )
        .await;
        assert_eq!(reply.code, 250);
    }
    let messages = stored(dir.path());
    assert_eq!(messages.len(), 3);
    for (n, message) in messages.iter().enumerate() {
        assert!(
            message.ends_with(&format!("body {}\r\n", n + 1)),
            "{message}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |_| {});
    let mut client = LineClient::greeted(server.addr, 220).await;
    // RFC 2920: everything up to DATA may go in one batch.
    client
        .send_raw(b"EHLO a\r\nMAIL FROM:<x@a>\r\nRCPT TO:<y@plants.test>\r\nRCPT TO:<bad>\r\nNOOP\r\nDATA\r\n")
        .await;
    let mut got = Vec::new();
    for _ in 0..6 {
        got.push(client.reply().await.code);
    }
    assert_eq!(got, [250, 250, 250, 501, 250, 354]);
    client.send_raw(b"hi\r\n.\r\nQUIT\r\n").await;
    client.expect(250).await;
    client.expect(221).await;
    server.stop().await;
}

#[tokio::test]
async fn commands_out_of_order_get_503_and_the_session_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |_| {});
    let mut client = LineClient::greeted(server.addr, 220).await;
    client.command("MAIL FROM:<a@b.test>", 503).await;
    client.command("EHLO me", 250).await;
    client.command("RCPT TO:<a@plants.test>", 503).await;
    client.command("DATA", 503).await;
    client.command("MAIL FROM:<a@b.test>", 250).await;
    client.command("MAIL FROM:<a@b.test>", 503).await;
    client.command("DATA", 503).await;
    client.command("RSET", 250).await;
    let reply = send_message(&mut client, &["c@plants.test"], "hi\r\n").await;
    assert_eq!(reply.code, 250);
    server.stop().await;
}

#[tokio::test]
async fn unknown_commands_get_500_known_unimplemented_ones_502() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |_| {});
    let mut client = LineClient::greeted(server.addr, 220).await;
    client.command("HELLO", 500).await;
    client.command("STARTTLS", 502).await;
    client.command("EXPN list", 502).await;
    client.command("VRFY someone", 252).await;
    let help = client.command("HELP", 214).await;
    assert!(help.text().contains("MAIL"), "{help:?}");
    client.command("NOOP", 250).await;
    server.stop().await;
}

#[tokio::test]
async fn a_command_line_of_512_bytes_passes_513_gets_500_and_the_next_line_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |_| {});
    let mut client = LineClient::greeted(server.addr, 220).await;
    for (wire_len, code) in [
        (MAX_COMMAND_LINE - 1, 250),
        (MAX_COMMAND_LINE, 250),
        (MAX_COMMAND_LINE + 1, 500),
    ] {
        // `NOOP ` + padding + CRLF = wire_len bytes.
        let line = format!("NOOP {}", "x".repeat(wire_len - "NOOP ".len() - 2));
        client.command(&line, code).await;
        // Across two writes too: the limit does not depend on the packets.
        let bytes = format!("{line}\r\n");
        let (first, second) = bytes.split_at(100);
        client.send_raw(first.as_bytes()).await;
        client.send_raw(second.as_bytes()).await;
        assert_eq!(
            client.reply().await.code,
            code,
            "{wire_len} bytes in two writes"
        );
    }
    client.command("NOOP", 250).await;
    server.stop().await;
}

#[tokio::test]
async fn a_bare_lf_gets_500_and_the_hint_to_use_nc_c() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |_| {});
    let mut client = LineClient::greeted(server.addr, 220).await;
    client.send_raw(b"EHLO me\n").await;
    let reply = client.expect(500).await;
    assert!(reply.text().contains("nc -C"), "{reply:?}");
    client.command("EHLO me", 250).await;
    server.stop().await;
}

#[tokio::test]
async fn messages_up_to_the_size_limit_are_stored_one_byte_more_gets_552() {
    let dir = tempfile::tempdir().expect("tempdir");
    let max = 1000;
    let server = start_smtp(dir.path(), |config| config.max_message_bytes = max);
    let mut client = ready(server.addr).await;
    for (size, code) in [(max - 1, 250), (max, 250), (max + 1, 552)] {
        let body = body_of(size);
        assert_eq!(body.len(), size);
        let reply = send_message(&mut client, &["a@plants.test"], &body).await;
        assert_eq!(reply.code, code, "{size} bytes: {reply:?}");
    }
    // Declared up front with SIZE: refused before the message is sent.
    client
        .command(&format!("MAIL FROM:<a@b.test> SIZE={}", max + 1), 552)
        .await;
    client
        .command(&format!("MAIL FROM:<a@b.test> SIZE={max}"), 250)
        .await;
    client.command("RSET", 250).await;
    assert_eq!(
        stored(dir.path()).len(),
        2,
        "the two messages within the limit"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_message_far_over_the_limit_holds_no_more_memory_and_the_session_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |config| config.max_message_bytes = 1000);
    let mut client = ready(server.addr).await;
    let line = format!("{}\r\n", "z".repeat(998));
    let body = line.repeat(2000); // 2 MB, 2000 times the limit
    let reply = send_message(&mut client, &["a@plants.test"], &body).await;
    assert_eq!(reply.code, 552);
    let reply = send_message(&mut client, &["a@plants.test"], "small\r\n").await;
    assert_eq!(reply.code, 250);
    server.stop().await;
}

#[tokio::test]
async fn the_hundredth_recipient_is_accepted_the_hundred_and_first_gets_452() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |_| {});
    let mut client = ready(server.addr).await;
    client.command("MAIL FROM:<a@b.test>", 250).await;
    for n in 1..=MAX_RECIPIENTS + 1 {
        let code = if n <= MAX_RECIPIENTS { 250 } else { 452 };
        client
            .command(&format!("RCPT TO:<r{n}@plants.test>"), code)
            .await;
    }
    client.command("DATA", 354).await;
    client.send_raw(b"hi\r\n.\r\n").await;
    client.expect(250).await;
    let message = &stored(dir.path())[0];
    assert_eq!(message.matches("Delivered-To:").count(), MAX_RECIPIENTS);
    server.stop().await;
}

#[tokio::test]
async fn an_idle_client_hears_421_and_is_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |config| {
        config.idle_timeout = Duration::from_secs(1)
    });
    let mut client = ready(server.addr).await;
    let reply = client.expect(421).await;
    assert!(reply.text().contains("timed out"), "{reply:?}");
    client.assert_closed().await;
    server.stop().await;
}

#[tokio::test]
async fn a_message_that_takes_too_long_hears_421_and_is_not_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |config| {
        config.data_timeout = Duration::from_millis(300)
    });
    let mut client = ready(server.addr).await;
    client.command("MAIL FROM:<a@b.test>", 250).await;
    client.command("RCPT TO:<c@plants.test>", 250).await;
    client.command("DATA", 354).await;
    client
        .send_raw(b"Subject: slow\r\n\r\nand then nothing")
        .await;
    client.expect(421).await;
    client.assert_closed().await;
    assert!(stored(dir.path()).is_empty());
    server.stop().await;
}

#[tokio::test]
async fn after_twenty_failed_commands_the_client_hears_421_and_is_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |_| {});
    let mut client = LineClient::greeted(server.addr, 220).await;
    for _ in 1..MAX_ERRORS {
        client.command("GET / HTTP/1.1", 500).await;
    }
    // One below the limit, the session goes on...
    client.command("NOOP", 250).await;
    // ...and the twentieth failure ends it.
    client.command("GET / HTTP/1.1", 500).await;
    client.expect(421).await;
    client.assert_closed().await;
    server.stop().await;
}

#[tokio::test]
async fn a_client_past_max_connections_hears_421_and_the_others_carry_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |config| config.max_connections = 1);
    let mut first = ready(server.addr).await;
    let mut second = LineClient::connect(server.addr).await;
    let refused = second.expect(421).await;
    assert!(
        refused.text().contains("too many connections"),
        "{refused:?}"
    );
    second.assert_closed().await;
    let reply = send_message(&mut first, &["a@plants.test"], "still here\r\n").await;
    assert_eq!(reply.code, 250);
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_leaves_in_the_middle_of_a_message_stores_nothing_and_harms_no_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(dir.path(), |_| {});
    let mut other = ready(server.addr).await;
    {
        let mut leaving = ready(server.addr).await;
        leaving.command("MAIL FROM:<a@b.test>", 250).await;
        leaving.command("RCPT TO:<c@plants.test>", 250).await;
        leaving.command("DATA", 354).await;
        leaving.send_raw(b"Subject: half\r\n\r\nhalf a mess").await;
    }
    let reply = send_message(&mut other, &["a@plants.test"], "whole\r\n").await;
    assert_eq!(reply.code, 250);
    let messages = stored(dir.path());
    assert_eq!(messages.len(), 1);
    assert!(messages[0].ends_with("whole\r\n"));
    server.stop().await;
}

#[tokio::test]
async fn a_message_that_cannot_be_stored_gets_451_never_250() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mail_dir = dir.path().join("mail");
    let server = start_smtp(&mail_dir, |_| {});
    let mut client = ready(server.addr).await;
    std::fs::remove_dir_all(&mail_dir).expect("remove the mail folder");
    let reply = send_message(&mut client, &["a@plants.test"], "lost?\r\n").await;
    assert_eq!(
        reply.code, 451,
        "a temporary failure: the client keeps the message"
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_sends_idle_sessions_421_and_lets_a_message_in_progress_finish() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = start_smtp(dir.path(), |_| {});
    let mut idle = ready(server.addr).await;
    let mut sending = ready(server.addr).await;
    sending.command("MAIL FROM:<a@b.test>", 250).await;
    sending.command("RCPT TO:<c@plants.test>", 250).await;
    sending.command("DATA", 354).await;
    sending
        .send_raw(b"Subject: in flight\r\n\r\nfirst half\r\n")
        .await;

    server.begin_shutdown();
    let farewell = idle.expect(421).await;
    assert!(farewell.text().contains("shutting down"), "{farewell:?}");
    idle.assert_closed().await;
    // The port closed before the idle session was told (tell, then wait):
    // no one new gets in; the message in progress goes on.
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "the listener is closed"
    );
    sending.send_raw(b"second half\r\n.\r\n").await;
    sending.expect(250).await;
    // Then, back between commands, it meets the shutdown.
    sending.expect(421).await;
    server.stopped(PATIENCE).await;
    assert_eq!(stored(dir.path()).len(), 1);
}

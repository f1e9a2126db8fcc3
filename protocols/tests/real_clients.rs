//! The servers with the clients people use: curl, swaks and Python's smtplib
//! for mail; curl, lftp and Python's ftplib for files; dig for names.
//!
//! curl and python3 are on a fresh machine, so those tests always run; the
//! others are ignored in a plain `cargo test` and run by `.ci/run`, which
//! installs swaks, lftp and dig.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Output, Stdio};

use support::PATIENCE;
use support::servers::{start_dns, start_ftp, start_smtp};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Runs `program` with `args` (and `stdin`), waits for it, within a bound.
async fn run(program: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {program}: {error}"));
    let mut input = child.stdin.take().expect("piped");
    input.write_all(stdin).await.expect("stdin");
    drop(input);
    tokio::time::timeout(3 * PATIENCE, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{program} did not finish in time"))
        .expect("wait")
}

/// Runs `program` and checks it succeeded; returns its stdout.
async fn run_ok(program: &str, args: &[&str], stdin: &[u8]) -> String {
    let output = run(program, args, stdin).await;
    assert!(
        output.status.success(),
        "{program} {args:?}: {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The stored messages, as text.
fn stored(dir: &Path) -> Vec<String> {
    let mut messages: Vec<String> = std::fs::read_dir(dir)
        .expect("mail dir")
        .map(|entry| std::fs::read_to_string(entry.expect("entry").path()).expect("read"))
        .collect();
    messages.sort();
    messages
}

fn url(scheme: &str, addr: SocketAddr, path: &str) -> String {
    format!("{scheme}://{addr}{path}")
}

// --- SMTP ---

#[tokio::test]
async fn curl_sends_mail_dot_stuffing_included() {
    let mail = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(mail.path(), |_| {});
    let message = b"From: curl@client.test\r\nSubject: via curl\r\n\r\n.a line starting with a dot\r\n.\r\nend\r\n";
    run_ok(
        "curl",
        &[
            "-sS",
            &url("smtp", server.addr, ""),
            "--mail-from",
            "curl@client.test",
            "--mail-rcpt",
            "you@plants.test",
            "--upload-file",
            "-",
        ],
        message,
    )
    .await;
    let messages = stored(mail.path());
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("Delivered-To: you@plants.test"),
        "{}",
        messages[0]
    );
    assert!(
        messages[0].ends_with(std::str::from_utf8(message).expect("ASCII")),
        "the message arrives as sent: {:?}",
        messages[0]
    );
    server.stop().await;
}

#[tokio::test]
async fn pythons_smtplib_sends_to_two_recipients_and_hears_552_for_a_large_message() {
    let mail = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(mail.path(), |config| config.max_message_bytes = 10_000);
    let script = format!(
        r#"
import smtplib
with smtplib.SMTP("127.0.0.1", {port}, timeout=10) as s:
    s.ehlo("python.test")
    assert s.has_extn("size"), s.esmtp_features
    s.sendmail("py@python.test", ["a@plants.test", "b@plants.test"], "Subject: from python\r\n\r\nhello\r\n")
    try:
        s.sendmail("py@python.test", ["a@plants.test"], "x" * 20000)
        print("sent")
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
        print("refused", error.smtp_code)
"#,
        port = server.addr.port()
    );
    let out = run_ok("python3", &["-c", &script], b"").await;
    assert_eq!(out.trim(), "refused 552");
    let messages = stored(mail.path());
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("Delivered-To: a@plants.test\r\nDelivered-To: b@plants.test\r\n"));
    assert!(
        messages[0].ends_with("Subject: from python\r\n\r\nhello\r\n"),
        "{}",
        messages[0]
    );
    server.stop().await;
}

#[tokio::test]
#[ignore = "needs swaks; .ci/run runs it"]
async fn swaks_sends_mail_and_pipelines() {
    let mail = tempfile::tempdir().expect("tempdir");
    let server = start_smtp(mail.path(), |_| {});
    let addr = server.addr.to_string();
    for extra in [&[][..], &["--pipeline"][..]] {
        let mut args = vec![
            "--server",
            &addr,
            "--from",
            "swaks@client.test",
            "--to",
            "you@plants.test",
        ];
        args.extend_from_slice(extra);
        let out = run_ok("swaks", &args, b"").await;
        assert!(out.contains("<-  250 2.0.0 OK: queued as"), "{out}");
    }
    assert_eq!(stored(mail.path()).len(), 2);
    server.stop().await;
}

// --- FTP ---

/// A folder with a file and a subfolder.
fn ftp_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::write(root.path().join("hello.txt"), "hello, ftp\n").expect("write");
    std::fs::create_dir(root.path().join("plants")).expect("mkdir");
    std::fs::write(root.path().join("plants/mint.txt"), "mint\n").expect("write");
    root
}

#[tokio::test]
async fn curl_lists_gets_and_with_ftp_writable_puts() {
    let root = ftp_root();
    let server = start_ftp(root.path(), |config| config.writable = true);
    let listing = run_ok("curl", &["-sS", &url("ftp", server.addr, "/")], b"").await;
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 2, "{listing}");
    assert!(
        lines[0].ends_with(" hello.txt") && lines[1].ends_with(" plants"),
        "{listing}"
    );
    let names = run_ok(
        "curl",
        &["-sS", "--list-only", &url("ftp", server.addr, "/plants/")],
        b"",
    )
    .await;
    assert_eq!(names.lines().collect::<Vec<_>>(), ["mint.txt"]);
    let file = run_ok(
        "curl",
        &["-sS", &url("ftp", server.addr, "/plants/mint.txt")],
        b"",
    )
    .await;
    assert_eq!(file, "mint\n");
    run_ok(
        "curl",
        &[
            "-sS",
            "-T",
            "-",
            &url("ftp", server.addr, "/plants/basil.txt"),
        ],
        b"basil\n",
    )
    .await;
    assert_eq!(
        std::fs::read(root.path().join("plants/basil.txt")).expect("stored"),
        b"basil\n"
    );
    // Without EPSV, curl falls back on PASV's six numbers.
    let file = run_ok(
        "curl",
        &[
            "-sS",
            "--disable-epsv",
            &url("ftp", server.addr, "/hello.txt"),
        ],
        b"",
    )
    .await;
    assert_eq!(file, "hello, ftp\n");
    server.stop().await;
}

#[tokio::test]
async fn curl_cannot_put_into_a_read_only_server() {
    let root = ftp_root();
    let server = start_ftp(root.path(), |_| {});
    let output = run(
        "curl",
        &["-sS", "-T", "-", &url("ftp", server.addr, "/new.txt")],
        b"x",
    )
    .await;
    // curl's exit status 25: "upload failed", after our 550.
    assert_eq!(output.status.code(), Some(25), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("550"),
        "{output:?}"
    );
    assert!(!root.path().join("new.txt").exists());
    server.stop().await;
}

#[tokio::test]
async fn pythons_ftplib_logs_in_lists_gets_puts_and_cannot_climb_out() {
    let root = ftp_root();
    let server = start_ftp(root.path(), |config| config.writable = true);
    let script = format!(
        r#"
import ftplib, io
f = ftplib.FTP()
f.connect("127.0.0.1", {port}, timeout=10)
f.login()
print(f.nlst())
f.cwd("plants")
print(f.pwd())
data = io.BytesIO()
f.retrbinary("RETR mint.txt", data.write)
print(data.getvalue())
print(f.size("mint.txt"))
f.storbinary("STOR rose.txt", io.BytesIO(b"rose\n"))
lines = []
f.retrlines("LIST", lines.append)
print(len(lines))
f.cwd("../../..")
print(f.pwd())
try:
    f.retrbinary("RETR /../../etc/passwd", data.write)
except ftplib.error_perm as error:
    print(str(error)[:3])
f.quit()
"#,
        port = server.addr.port()
    );
    let out = run_ok("python3", &["-c", &script], b"").await;
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "['hello.txt', 'plants']",
            "/plants",
            "b'mint\\n'",
            "5",
            "2",
            "/",
            "550"
        ]
    );
    assert_eq!(
        std::fs::read(root.path().join("plants/rose.txt")).expect("stored"),
        b"rose\n"
    );
    server.stop().await;
}

#[tokio::test]
#[ignore = "needs lftp; .ci/run runs it"]
async fn lftp_lists_gets_and_puts() {
    let root = ftp_root();
    let server = start_ftp(root.path(), |config| config.writable = true);
    let local = tempfile::tempdir().expect("tempdir");
    std::fs::write(local.path().join("sage.txt"), "sage\n").expect("write");
    let commands = format!(
        "set net:max-retries 1; set net:timeout 10; ls; cd plants; get mint.txt -o {dir}/mint.txt; put {dir}/sage.txt; cls -1; bye",
        dir = local.path().display()
    );
    let port = server.addr.port().to_string();
    let out = run_ok("lftp", &["-p", &port, "-e", &commands, "127.0.0.1"], b"").await;
    assert!(out.contains(" hello.txt"), "{out}");
    assert!(out.contains("mint.txt\nsage.txt"), "{out}");
    assert_eq!(
        std::fs::read(local.path().join("mint.txt")).expect("got"),
        b"mint\n"
    );
    assert_eq!(
        std::fs::read(root.path().join("plants/sage.txt")).expect("put"),
        b"sage\n"
    );
    server.stop().await;
}

// --- DNS ---

#[tokio::test]
#[ignore = "needs dig; .ci/run runs it"]
async fn dig_gets_answers_over_udp_and_tcp_and_retries_a_truncated_one_over_tcp() {
    let server = start_dns(|_| {}).await;
    let port = server.addr.port().to_string();
    let dig = |args: &[&str]| {
        let mut all = vec!["@127.0.0.1", "-p", &port, "+time=5", "+tries=1"];
        all.extend_from_slice(args);
        all.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let ask = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_ok("dig", &args, b"").await
    };
    assert_eq!(
        ask(dig(&["+short", "www.plants.test"])).await,
        "127.0.0.1\n"
    );
    assert_eq!(
        ask(dig(&["+short", "+tcp", "www.plants.test", "AAAA"])).await,
        "::1\n"
    );
    assert_eq!(
        ask(dig(&["+short", "shop.plants.test"])).await,
        "www.plants.test.\n127.0.0.1\n"
    );
    let full = ask(dig(&["www.plants.test"])).await;
    assert!(full.contains("status: NOERROR"), "{full}");
    assert!(full.contains("flags: qr aa rd;"), "{full}");
    let missing = ask(dig(&["nope.plants.test"])).await;
    assert!(missing.contains("status: NXDOMAIN"), "{missing}");
    assert!(missing.contains("IN\tSOA\tns1.plants.test."), "{missing}");
    let refused = ask(dig(&["example.com"])).await;
    assert!(refused.contains("status: REFUSED"), "{refused}");
    let big = ask(dig(&["+noedns", "big.plants.test", "TXT"])).await;
    assert!(big.contains(";; Truncated, retrying in TCP mode."), "{big}");
    assert!(big.contains("ANSWER: 3"), "{big}");
    server.stop().await;
}

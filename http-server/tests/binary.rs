//! The `http-server` binary as a learner meets it: the `listening on` line,
//! settings, shutdown, and memory that stays flat while a huge file streams.

// Elsewhere than Unix the tests that send signals (or need what only Unix
// has) are compiled out, and what only they use is unused.
#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

use testkit::process;

// Only the Linux-only memory test reads a body stream.
#[cfg(target_os = "linux")]
use futures_util::StreamExt;
#[cfg(unix)]
use nix::sys::signal::Signal;
use process::{assert_rejects_config, next_line, spawn};

const HTTP_SERVER: &str = env!("CARGO_BIN_EXE_http-server");

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn prints_listening_line_and_a_hint_then_stops_on_sigterm() {
    let mut server = spawn(HTTP_SERVER, &[]);
    let port = server.listening_port("http").await;
    let hint = next_line(&mut server.stdout, "hint").await;
    assert_eq!(
        hint,
        Some(format!("try: open http://127.0.0.1:{port}/ in a browser"))
    );
    server.signal(Signal::SIGTERM);
    assert_eq!(server.exit_status().await.code(), Some(0));
}

#[tokio::test]
async fn bad_settings_exit_2_with_one_line() {
    for (name, value) in [
        ("PORT", "four thousand"),
        ("PUBLIC_DIR", "/no/such/directory"),
        ("KEEP_ALIVE_SECS", "0"),
    ] {
        assert_rejects_config(HTTP_SERVER, name, value).await;
    }
}

/// The server's resident memory, from /proc (Linux only).
#[cfg(target_os = "linux")]
fn resident_kib(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

// Linux only: the memory figure comes from /proc.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_huge_file_streams_with_flat_memory() {
    const SIZE: u64 = 1 << 30;
    let public = tempfile::tempdir().expect("temp dir");
    // A sparse 1 GiB file: it takes no disk space and reads as zeros.
    let file = std::fs::File::create(public.path().join("huge.bin")).expect("create");
    file.set_len(SIZE).expect("set_len");
    let public_dir = public.path().to_string_lossy().into_owned();
    let mut server = spawn(HTTP_SERVER, &[("PUBLIC_DIR", &public_dir)]);
    let port = server.listening_port("http").await;
    let pid = server.child.id().expect("pid");

    let response = reqwest::get(format!("http://127.0.0.1:{port}/huge.bin"))
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), Some(SIZE));
    let before = resident_kib(pid);
    let mut received = 0u64;
    let mut peak = before;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        received += chunk.expect("chunk").len() as u64;
        if received % (64 << 20) < 65536 {
            peak = peak.max(resident_kib(pid));
        }
    }
    assert_eq!(received, SIZE);
    let growth = peak.saturating_sub(before);
    assert!(
        growth < 32 * 1024,
        "serving 1 GiB grew the server by {growth} KiB"
    );
}

/// The server's whole stderr after one `GET /panic` and a SIGTERM.
// Unix only: Windows has no signals to send.
#[cfg(unix)]
async fn stderr_after_a_panic(rust_backtrace: &str) -> Vec<String> {
    let mut server = spawn(HTTP_SERVER, &[("RUST_BACKTRACE", rust_backtrace)]);
    let port = server.listening_port("http").await;
    let response = reqwest::get(format!("http://127.0.0.1:{port}/panic"))
        .await
        .expect("GET /panic");
    assert_eq!(response.status(), 500);
    server.signal(Signal::SIGTERM);
    let (status, stderr) = server.exit_and_stderr().await;
    assert_eq!(status.code(), Some(0), "{stderr:#?}");
    stderr
}

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn a_panic_is_one_log_line() {
    let stderr = stderr_after_a_panic("0").await;
    let panic_lines: Vec<&String> = stderr
        .iter()
        .filter(|line| line.contains("panicked"))
        .collect();
    assert_eq!(panic_lines.len(), 1, "{stderr:#?}");
    assert!(
        panic_lines[0].contains("ERROR") && panic_lines[0].contains("always panics"),
        "{stderr:#?}"
    );
    assert!(
        !stderr
            .iter()
            .any(|line| line.contains("RUST_BACKTRACE") || line.starts_with("thread ")),
        "Rust's default panic lines are not there: {stderr:#?}"
    );
}

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn rust_backtrace_brings_the_backtrace_back() {
    let stderr = stderr_after_a_panic("1").await;
    assert!(
        stderr.iter().any(|line| line.contains("stack backtrace")),
        "{stderr:#?}"
    );
}

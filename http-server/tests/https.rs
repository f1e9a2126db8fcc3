//! The `http-server` binary over HTTPS: the same site and API inside TLS.

// Elsewhere than Unix the tests that send signals (or need what only Unix
// has) are compiled out, and what only they use is unused.
#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

use testkit::process;
use testkit::tls;

use std::time::Duration;

#[cfg(unix)]
use nix::sys::signal::Signal;
use process::{assert_rejects_config, next_line, spawn};
use tls::{TestCa, VERSIONS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HTTP_SERVER: &str = env!("CARGO_BIN_EXE_http-server");

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn with_tls_settings_it_announces_https_and_serves_the_api_over_tls_1_2_and_1_3() {
    let ca = TestCa::new();
    let cert = ca.cert_pem.to_string_lossy().into_owned();
    let key = ca.key_pem.to_string_lossy().into_owned();
    let mut server = spawn(HTTP_SERVER, &[("TLS_CERT", &cert), ("TLS_KEY", &key)]);
    let port = server.listening_port("https").await;
    let hint = next_line(&mut server.stdout, "hint").await;
    assert_eq!(
        hint,
        Some(format!("try: open https://127.0.0.1:{port}/ in a browser"))
    );
    let addr = format!("127.0.0.1:{port}").parse().expect("an address");
    for version in VERSIONS {
        let mut tls = ca.connect(addr, version).await;
        tls.write_all(b"GET /api/plants HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut response = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut response)).await;
        let response = String::from_utf8_lossy(&response);
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.contains("application/json"), "{response}");
    }
    server.signal(Signal::SIGTERM);
    assert_eq!(server.exit_status().await.code(), Some(0));
}

#[tokio::test]
async fn one_tls_setting_without_the_other_exits_2_with_one_line() {
    let ca = TestCa::new();
    assert_rejects_config(HTTP_SERVER, "TLS_CERT", &ca.cert_pem.to_string_lossy()).await;
    assert_rejects_config(HTTP_SERVER, "TLS_KEY", &ca.key_pem.to_string_lossy()).await;
}

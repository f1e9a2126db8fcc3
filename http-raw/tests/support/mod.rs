//! Helpers for http-raw's tests: an HTTP server in this process, and what
//! every lesson's tests share (`testkit`: the raw client, in-process
//! servers).
//!
//! What to notice: [`start_server`] goes through the same `http_raw::run`
//! that `main` calls, on 127.0.0.1 and a port the OS picks. These helpers
//! need lesson 3's types (`HttpConfig`, `Service`), so they live here, beside
//! the tests, and not in `testkit`, which depends on no lesson.

#![allow(dead_code)]

use std::sync::Arc;

pub use testkit::in_process::{InProcess, run_in_process};
pub use testkit::raw_client::*;

use http_raw::HttpConfig;
use tcp_echo::config::ServerConfig;
use testkit::tls::TestCa;

/// The defaults, on 127.0.0.1 and a port the OS picks.
pub fn config() -> HttpConfig {
    HttpConfig::with_defaults(ServerConfig::localhost_any_port())
}

/// An HTTP server running in this test process.
pub type TestServer = InProcess<()>;

/// Starts the demo app with `config` on 127.0.0.1:0, through the same
/// `http_raw::run` that `main` calls.
pub async fn start_server(config: HttpConfig) -> TestServer {
    let listener = tcp_echo::bind::bind_tcp(config.server.addr()).expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    run_in_process(addr, move |shutdown| async move {
        http_raw::run(listener, &config, shutdown).await
    })
}

/// Starts `handler` with `config` on 127.0.0.1:0.
pub async fn start_with<H, F>(config: HttpConfig, handler: H) -> TestServer
where
    H: Fn(http_raw::Request) -> F + Send + Sync + 'static,
    F: Future<Output = http_raw::Response> + Send + 'static,
{
    start_service(config, handler).await
}

/// Starts `service` with `config` on 127.0.0.1:0.
pub async fn start_service<S: http_raw::Service>(config: HttpConfig, service: S) -> TestServer {
    let listener = tcp_echo::bind::bind_tcp(config.server.addr()).expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    run_in_process(addr, move |shutdown| async move {
        http_raw::serve_service(listener, &config, service, shutdown).await
    })
}

/// The server's TLS configuration from the test CA's files, loaded as
/// `TLS_CERT` / `TLS_KEY` are.
pub fn tls_server_config(ca: &TestCa) -> Arc<rustls::ServerConfig> {
    http_raw::tls::server_config(&ca.cert_pem, &ca.key_pem).expect("usable test certificate")
}

//! Helpers for http-server's tests: lesson 3's settings for an in-process
//! server, the demo app (`demo.rs`), and what every lesson's tests share
//! (`testkit`: the raw client, in-process servers).
//!
//! What to notice: these helpers need the lessons' types (`HttpConfig`,
//! `HttpServerConfig`), so they live here, beside the tests, and not in
//! `testkit`, which depends on no lesson.

#![allow(dead_code)]

pub mod demo;

pub use testkit::in_process::{InProcess, run_in_process};
pub use testkit::raw_client::*;

use http_raw::HttpConfig;
use tcp_echo::config::ServerConfig;

/// Lesson 3's defaults, on 127.0.0.1 and a port the OS picks.
pub fn config() -> HttpConfig {
    HttpConfig::with_defaults(ServerConfig::localhost_any_port())
}

/// An HTTP server running in this test process.
pub type TestServer = InProcess<()>;

/// Starts `service` with `config` on 127.0.0.1:0.
pub async fn start_service<S: http_raw::Service>(config: HttpConfig, service: S) -> TestServer {
    let listener = tcp_echo::bind::bind_tcp(config.server.addr()).expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    run_in_process(addr, move |shutdown| async move {
        http_raw::serve_service(listener, &config, service, shutdown).await
    })
}

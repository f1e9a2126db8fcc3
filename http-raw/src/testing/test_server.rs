//! An HTTP server running inside the test process, and how to reach it.
//!
//! What to notice: [`start_server`] goes through the same `http_raw::run`
//! that `main` calls, on 127.0.0.1 and a port the OS picks. The server is a
//! [`tcp_echo::testing::in_process::InProcess`]; this crate cannot add
//! methods to that type (only its own crate may), so the HTTP-specific ones
//! ([`HttpServerExt::client`], [`HttpServerExt::url`]) come as an extension
//! trait.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use tcp_echo::config::ServerConfig;
pub use tcp_echo::testing::in_process::{InProcess, run_in_process};
use tokio::net::TcpStream;

use super::raw_client::RawClient;
use crate::HttpConfig;

/// How long a test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The defaults, on 127.0.0.1 and a port the OS picks.
pub fn config() -> HttpConfig {
    HttpConfig::with_defaults(ServerConfig {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 0,
        shutdown_grace: Duration::from_secs(5),
    })
}

/// An HTTP server running in this test process.
pub type TestServer = InProcess<()>;

/// Starts the demo app with `config` on 127.0.0.1:0, through the same
/// `http_raw::run` that `main` calls.
pub async fn start_server(config: HttpConfig) -> TestServer {
    let listener = tcp_echo::bind::bind_tcp(config.server.addr()).expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    run_in_process(addr, move |shutdown| async move {
        crate::run(listener, &config, shutdown).await
    })
}

/// Starts `handler` with `config` on 127.0.0.1:0.
pub async fn start_with<H, F>(config: HttpConfig, handler: H) -> TestServer
where
    H: Fn(crate::Request) -> F + Send + Sync + 'static,
    F: Future<Output = crate::Response> + Send + 'static,
{
    start_service(config, handler).await
}

/// Starts `service` with `config` on 127.0.0.1:0.
pub async fn start_service<S: crate::Service>(config: HttpConfig, service: S) -> TestServer {
    let listener = tcp_echo::bind::bind_tcp(config.server.addr()).expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    run_in_process(addr, move |shutdown| async move {
        crate::serve_service(listener, &config, service, shutdown).await
    })
}

/// What a test does with an HTTP server running in this process.
pub trait HttpServerExt {
    /// A raw client connected to the server.
    fn client(&self) -> impl Future<Output = RawClient> + Send;

    /// `http://127.0.0.1:PORT` + `path`.
    fn url(&self, path: &str) -> String;
}

impl<T> HttpServerExt for InProcess<T> {
    fn client(&self) -> impl Future<Output = RawClient> + Send {
        let addr = self.addr;
        async move {
            let stream = tokio::time::timeout(PATIENCE, TcpStream::connect(addr))
                .await
                .expect("connect timed out")
                .expect("connect");
            RawClient::new(stream)
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

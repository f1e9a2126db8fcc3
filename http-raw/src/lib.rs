//! Lesson 3: HTTP/1.1 by hand, with httparse over tokio.
//!
//! An HTTP server is a TCP server (lesson 1) that reads *requests* out of the
//! byte stream and writes *responses* back. This crate does every step itself,
//! so each one can be read: finding where a request's head ends, what its
//! headers mean for where the body ends, decoding a chunked body, framing the
//! response, keeping the connection for the next request, timing out clients
//! that dawdle, and refusing what is malformed with the right status code.
//!
//! It is also a small library: `http-server` (lesson 4) and `ws-chat`
//! (lesson 5) are built on [`serve_service`], [`Service`], [`Request`] and
//! [`Response`].
//!
//! Reading order: `main.rs`, `routes.rs` (the demo routes), `server.rs`,
//! `service.rs` (what the server asks the application),
//! `connection.rs` (the connection loop), `parse.rs` (the request parser),
//! `body.rs` (body decoding), `write.rs` (the response writer), then
//! `request.rs`, `response.rs`, `error.rs`, `summary.rs`, `limits.rs`, `deadline.rs`,
//! `date.rs`, `status.rs`, `spare_buffers.rs`. For HTTPS: `stream.rs` (TCP or TLS, one type),
//! `handshake.rs` (the TLS handshake), `tls.rs` (`TLS_CERT` and `TLS_KEY`).
//!
//! Try it: `cargo run -p http-raw`, then open <http://127.0.0.1:3000>, or
//! `curl -v http://127.0.0.1:3000/hello`.

pub mod body;
pub mod config;
pub mod connection;
pub mod date;
pub mod deadline;
pub mod error;
pub mod handshake;
pub mod handshake_budget;
pub mod limits;
pub mod parse;
pub mod request;
pub mod response;
pub mod routes;
pub mod server;
pub mod service;
pub mod spare_buffers;
pub mod status;
pub mod stream;
pub mod summary;
pub mod tls;
pub mod write;

use std::future::Future;

use tokio::net::TcpListener;

pub use config::{DEFAULT_PORT, HttpConfig};
pub use error::HttpError;
pub use request::{Method, Request, Version};
pub use response::{Body, ChunkStream, Response, Upgraded};
pub use server::{serve, serve_service};
pub use service::Service;
pub use stream::Stream;

// ANCHOR: run
/// Runs the demo application (`routes.rs`) on `listener` until `shutdown`
/// completes: what `cargo run -p http-raw` does, and what the tests start.
pub async fn run(listener: TcpListener, config: &HttpConfig, shutdown: impl Future) {
    serve_service(listener, config, routes::DemoApp::new(), shutdown).await;
}
// ANCHOR_END: run

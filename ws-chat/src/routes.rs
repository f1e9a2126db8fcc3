//! The two routes: the chat page, and the WebSocket upgrade.
//!
//! What to notice: `Chat` is an http-raw `Service`. Besides answering, it
//! tells the connection loop, from the request's head alone, how much body a
//! request may carry: here none, so a client that announces a body gets 413
//! before a single body byte is read, and nothing of it is held in memory.

use std::future::{Future, ready};
use std::sync::Arc;

use http_raw::service::Service;
use http_raw::{Method, Request, Response};

use crate::chat_rooms::Rooms;
use crate::client::run_client;
use crate::handshake::{check_upgrade, switching_protocols};
use crate::limits::ClientSettings;

/// The chat page: one HTML file with its CSS and JavaScript, no build step.
pub const PAGE: &str = include_str!("../public/index.html");

/// What every request of the chat server shares.
#[derive(Debug)]
pub struct Chat {
    /// Who is where: in this process, or shared through Redis.
    pub registry: Arc<Rooms>,
    /// Origins allowed besides our own.
    pub allowed_origins: Vec<String>,
    /// How clients are looked after.
    pub clients: ClientSettings,
}

impl Chat {
    // ANCHOR: respond
    /// Answers one HTTP request: the page, the upgrade, or an error.
    pub fn respond(&self, request: &Request) -> Response {
        match (request.path(), request.method()) {
            ("/", Method::Get | Method::Head) => Response::html(200, PAGE),
            ("/ws", Method::Get) => match check_upgrade(request, &self.allowed_origins) {
                Ok(accept) => {
                    // The 101 goes out, then http-raw hands us the connection.
                    let registry = Arc::clone(&self.registry);
                    let settings = self.clients;
                    switching_protocols(accept)
                        .on_upgrade(move |upgraded| run_client(upgraded, registry, settings))
                }
                Err(refusal) => refusal,
            },
            ("/", _) => {
                Response::text(405, "405 Method Not Allowed\n").with_header("Allow", "GET, HEAD")
            }
            ("/ws", _) => {
                Response::text(405, "405 Method Not Allowed\n").with_header("Allow", "GET")
            }
            _ => Response::text(
                404,
                format!(
                    "404 Not Found: nothing at {}; the chat is at / and /ws\n",
                    request.path()
                ),
            ),
        }
    }
    // ANCHOR_END: respond
}

impl Service for Chat {
    fn call(&self, request: Request) -> impl Future<Output = Response> + Send {
        ready(self.respond(&request))
    }

    /// Neither the page nor the upgrade takes a body (RFC 6455 section 4.1:
    /// the upgrade is a GET). Saying 0 here means a client that announces a
    /// body, of any size, gets `413` from its head, and no body byte is read.
    fn body_limit(&self, _request: &Request) -> usize {
        0
    }
}

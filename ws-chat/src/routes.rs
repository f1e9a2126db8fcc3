//! The two routes: the chat page, and the WebSocket upgrade.

use std::sync::Arc;

use http_raw::{Method, Request, Response};

use crate::client::run_client;
use crate::handshake::{check_upgrade, switching_protocols};
use crate::limits::ClientSettings;
use crate::rooms::RoomRegistry;

/// The chat page: one HTML file with its CSS and JavaScript, no build step.
pub const PAGE: &str = include_str!("../public/index.html");

/// What every request of the chat server shares.
#[derive(Debug)]
pub struct Chat {
    /// Who is where.
    pub registry: Arc<RoomRegistry>,
    /// Origins allowed besides our own.
    pub allowed_origins: Vec<String>,
    /// How clients are looked after.
    pub clients: ClientSettings,
}

// ANCHOR: respond
/// Answers one HTTP request: the page, the upgrade, or an error.
pub async fn respond(chat: Arc<Chat>, request: Request) -> Response {
    match (request.path(), request.method()) {
        ("/", Method::Get | Method::Head) => Response::html(200, PAGE),
        ("/ws", Method::Get) => match check_upgrade(&request, &chat.allowed_origins) {
            Ok(accept) => {
                // The 101 goes out, then http-raw hands us the connection.
                let registry = Arc::clone(&chat.registry);
                let settings = chat.clients;
                switching_protocols(accept)
                    .on_upgrade(move |upgraded| run_client(upgraded, registry, settings))
            }
            Err(refusal) => refusal,
        },
        ("/", _) => {
            Response::text(405, "405 Method Not Allowed\n").with_header("Allow", "GET, HEAD")
        }
        ("/ws", _) => Response::text(405, "405 Method Not Allowed\n").with_header("Allow", "GET"),
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

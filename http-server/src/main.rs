//! `cargo run -p http-server`: a small site and a JSON API, one process.

use std::process::ExitCode;

use http_raw::{HttpConfig, Response};
use http_server::middleware::{limit_body, log_requests, request_id};
use http_server::plants::{self, AppState};
use http_server::shared_state::{greet_right, greet_wrong, identify_user};
use http_server::{App, DEFAULT_PORT, DEFAULT_PUBLIC_DIR, Error, Req};
use tcp_echo::config::parse_var;
use tcp_echo::startup::{fail, listen};
use tcp_echo::{logging, shutdown::shutdown_signal};

/// JSON bodies are small; anything bigger than this is refused with 413.
const BODY_LIMIT: usize = 16 * 1024;

async fn hello(_req: Req<AppState>) -> Result<Response, Error> {
    Ok(Response::text(200, "Hello, world"))
}

async fn crash(_req: Req<AppState>) -> Result<Response, Error> {
    panic!("this handler always panics, to show that the server survives it")
}

#[tokio::main]
async fn main() -> ExitCode {
    let settings = HttpConfig::from_env(DEFAULT_PORT).and_then(|config| {
        let public_dir: String =
            parse_var("PUBLIC_DIR", DEFAULT_PUBLIC_DIR.to_string(), "a directory")?;
        Ok((config, public_dir))
    });
    let (mut config, public_dir) = match settings {
        Ok(settings) => settings,
        Err(error) => return fail("http-server", error, 2),
    };
    // HTTPS when TLS_CERT and TLS_KEY are set.
    config.tls = match http_raw::tls::from_env() {
        Ok(tls) => tls,
        Err(error) => return fail("http-server", error, 2),
    };
    logging::init_logging();
    let shutdown = shutdown_signal();

    // ANCHOR: app
    let app = App::new(AppState::new())
        .middleware(request_id)
        .middleware(log_requests)
        .middleware(limit_body(BODY_LIMIT))
        .middleware(identify_user)
        .get("/hello", hello)
        .get("/api/plants", plants::list)
        .post("/api/plants", plants::create)
        .get("/api/plants/:id", plants::get)
        .put("/api/plants/:id", plants::update)
        .delete("/api/plants/:id", plants::delete)
        .get("/shared-state/wrong", greet_wrong)
        .get("/shared-state/right", greet_right)
        .get("/panic", crash)
        .static_files(&public_dir);
    // ANCHOR_END: app
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            return fail(
                "http-server",
                format!("PUBLIC_DIR={public_dir:?} is not valid: {error}"),
                2,
            );
        }
    };
    let scheme = config.scheme();
    let listener = match listen("http-server", scheme, config.server.addr(), |local| {
        format!("open {scheme}://{local}/ in a browser")
    }) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    app.serve(listener, &config, shutdown).await;
    ExitCode::SUCCESS
}

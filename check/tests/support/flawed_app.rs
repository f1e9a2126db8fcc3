//! Deliberately flawed web apps, for proving lesson 4's checker fair.
//!
//! One small plants app, written here on the flawed HTTP server's request
//! reader (`flawed_http.rs`), that passes every stage of lesson 4's checker,
//! and a [`Flaw`] for each stage that swaps one piece for a mistake people
//! really make: a JSON list sent as text, 200 instead of 201, errors as
//! plain text, a static file server that joins the client's path onto its
//! directory, files without ETag, a Range header ignored. The checker's tests
//! start it with each flaw and assert the run stops at that flaw's stage.
//!
//! It serves its static files from a directory the test makes ([`Site`]):
//! `public/index.html`, and beside `public/`, a `Cargo.toml` that a path
//! climbing out of `public/` would leak.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use super::flawed_http::{self, Extra, Request};

/// One mistake; the comment says which stage catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// None: passes every stage.
    None,
    /// Stage 1: `Hello, World!` instead of `Hello, world`.
    WrongGreeting,
    /// Stage 2: the list is JSON text with `Content-Type: text/plain`.
    ListAsText,
    /// Stage 3: a create answers 200, not 201.
    CreatedIs200,
    /// Stage 4: a delete answers 200 with a body, not 204.
    DeleteIs200,
    /// Stage 5: errors are plain text, not JSON.
    TextErrors,
    /// Stage 6: no static files at all.
    NoStaticFiles,
    /// Stage 7: the request path joined onto the directory, `..` and all.
    JoinsPathUnchecked,
    /// Stage 8: static files without ETag.
    NoEtag,
    /// Stage 9: `Range` ignored: the whole file, 200.
    IgnoresRange,
}

/// Every flaw with the stage that must catch it.
pub const FLAWS: &[(Flaw, usize)] = &[
    (Flaw::WrongGreeting, 1),
    (Flaw::ListAsText, 2),
    (Flaw::CreatedIs200, 3),
    (Flaw::DeleteIs200, 4),
    (Flaw::TextErrors, 5),
    (Flaw::NoStaticFiles, 6),
    (Flaw::JoinsPathUnchecked, 7),
    (Flaw::NoEtag, 8),
    (Flaw::IgnoresRange, 9),
];

/// What the leaked file says, so a report can be seen to show it.
pub const SECRET: &str = "[package]\nname = \"not-for-the-web\"\n";

/// A directory with `public/index.html`, and `Cargo.toml` beside `public/`
/// (removed when dropped).
pub struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    /// Makes the directory and its two files.
    pub fn new() -> Site {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir(dir.path().join("public")).expect("public/");
        std::fs::write(
            dir.path().join("public/index.html"),
            "<!DOCTYPE html>\n<title>Plants</title>\n<p>The checker's test site.</p>\n",
        )
        .expect("public/index.html");
        std::fs::write(dir.path().join("Cargo.toml"), SECRET).expect("Cargo.toml");
        Site { dir }
    }

    /// The public directory, for `PUBLIC_DIR`.
    pub fn public(&self) -> PathBuf {
        self.dir.path().join("public")
    }
}

/// The app's state: the plants, which mistake to make, and where its files are.
struct App {
    flaw: Flaw,
    public: PathBuf,
    /// The last id given, and the plants by id.
    plants: Mutex<(u64, BTreeMap<u64, String>)>,
}

/// Starts the app with `flaw` on 127.0.0.1:0, serving `site`'s files, on
/// the current runtime.
pub async fn start(flaw: Flaw, site: &Site) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let app = Arc::new(App {
        flaw,
        public: site.public(),
        plants: Mutex::new((0, BTreeMap::new())),
    });
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, app.clone()));
        }
    });
    addr
}

/// One connection: requests in order, keep-alive as HTTP/1.1 says.
async fn serve(mut stream: TcpStream, app: Arc<App>) {
    let mut buf = Vec::new();
    loop {
        let request =
            match flawed_http::read_request(&mut stream, &mut buf, flawed_http::Flaw::None).await {
                Ok(Some(request)) => request,
                Ok(None) | Err(None) => return,
                Err(Some(status)) => {
                    let refusal = flawed_http::response(
                        status,
                        &[],
                        b"refused\n",
                        true,
                        false,
                        flawed_http::Flaw::None,
                    );
                    let _ = stream.write_all(&refusal).await;
                    return;
                }
            };
        let close = if request.minor_version == 0 {
            !request.connection_has("keep-alive")
        } else {
            request.connection_has("close")
        };
        let (status, extra, body) = app.route(&request);
        let keep_alive_1_0 = request.minor_version == 0 && !close;
        let mut bytes = flawed_http::response(
            status,
            &extra,
            &body,
            close,
            keep_alive_1_0,
            flawed_http::Flaw::None,
        );
        if request.method == "HEAD" {
            bytes.truncate(bytes.len() - body.len());
        }
        if stream.write_all(&bytes).await.is_err() || close {
            return;
        }
    }
}

type Reply = (u16, Extra, Vec<u8>);

/// `status` with a JSON body.
fn json_reply(status: u16, value: &Value) -> Reply {
    let content_type = vec![("Content-Type", "application/json".to_string())];
    (status, content_type, value.to_string().into_bytes())
}

/// `status` with a text body.
fn text_reply(status: u16, text: &str) -> Reply {
    let content_type = vec![("Content-Type", "text/plain; charset=utf-8".to_string())];
    (status, content_type, text.as_bytes().to_vec())
}

impl App {
    fn route(&self, request: &Request) -> Reply {
        let path = request.target.split('?').next().unwrap_or_default();
        let method = request.method.as_str();
        let id = path.strip_prefix("/api/plants/");
        match (method, path, id) {
            ("GET" | "HEAD", "/hello", _) => {
                let greeting = if self.flaw == Flaw::WrongGreeting {
                    "Hello, World!"
                } else {
                    "Hello, world"
                };
                text_reply(200, greeting)
            }
            ("GET" | "HEAD", "/api/plants", _) => {
                let plants = self.lock();
                let list: Vec<Value> = plants.1.iter().map(|(id, name)| plant(*id, name)).collect();
                let (status, mut extra, body) = json_reply(200, &Value::from(list));
                if self.flaw == Flaw::ListAsText {
                    extra = vec![("Content-Type", "text/plain".to_string())];
                }
                (status, extra, body)
            }
            ("POST", "/api/plants", _) => self.create(request),
            (_, _, Some(id)) => self.by_id(request, id),
            ("GET" | "HEAD", _, _) => self.static_file(request, path),
            _ => self.error(405, "method not allowed"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, BTreeMap<u64, String>)> {
        self.plants.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An API error: JSON, unless the flaw is to send text.
    fn error(&self, status: u16, message: &str) -> Reply {
        if self.flaw == Flaw::TextErrors {
            return text_reply(status, &format!("{message}\n"));
        }
        json_reply(status, &json!({ "error": message }))
    }

    /// The name in a JSON body `{"name": "..."}`.
    fn name_in(request: &Request) -> Option<String> {
        let value: Value = serde_json::from_slice(&request.body).ok()?;
        Some(value.get("name")?.as_str()?.to_string())
    }

    fn create(&self, request: &Request) -> Reply {
        let Some(name) = App::name_in(request) else {
            return self.error(400, "send {\"name\": \"...\"}");
        };
        let id = {
            let mut plants = self.lock();
            plants.0 += 1;
            let id = plants.0;
            plants.1.insert(id, name.clone());
            id
        };
        let status = if self.flaw == Flaw::CreatedIs200 {
            200
        } else {
            201
        };
        let (status, mut extra, body) = json_reply(status, &plant(id, &name));
        extra.push(("Location", format!("/api/plants/{id}")));
        (status, extra, body)
    }

    fn by_id(&self, request: &Request, id: &str) -> Reply {
        let Ok(id) = id.parse::<u64>() else {
            return self.error(404, "no such plant");
        };
        match request.method.as_str() {
            "GET" | "HEAD" => match self.lock().1.get(&id) {
                Some(name) => json_reply(200, &plant(id, name)),
                None => self.error(404, "no such plant"),
            },
            "PUT" => {
                let Some(name) = App::name_in(request) else {
                    return self.error(400, "send {\"name\": \"...\"}");
                };
                match self.lock().1.get_mut(&id) {
                    Some(slot) => {
                        slot.clone_from(&name);
                        json_reply(200, &plant(id, &name))
                    }
                    None => self.error(404, "no such plant"),
                }
            }
            "DELETE" => match self.lock().1.remove(&id) {
                Some(_) if self.flaw == Flaw::DeleteIs200 => {
                    json_reply(200, &json!({ "deleted": true }))
                }
                Some(_) => (204, Vec::new(), Vec::new()),
                None => self.error(404, "no such plant"),
            },
            _ => self.error(405, "method not allowed"),
        }
    }

    /// A file from the public directory: `..` refused (unless that is the
    /// flaw), an ETag and 304 (unless that is the flaw), a single byte range
    /// (unless that is the flaw).
    fn static_file(&self, request: &Request, path: &str) -> Reply {
        let not_found = || text_reply(404, "no such file\n");
        if self.flaw == Flaw::NoStaticFiles {
            return not_found();
        }
        let decoded = percent_decode(path);
        let climbs = decoded.split(['/', '\\']).any(|segment| segment == "..");
        if climbs && self.flaw != Flaw::JoinsPathUnchecked {
            return not_found();
        }
        let mut file = self.public.join(decoded.trim_start_matches('/'));
        if decoded.ends_with('/') {
            file.push("index.html");
        }
        let Ok(bytes) = std::fs::read(&file) else {
            return not_found();
        };
        let mut extra = vec![("Content-Type", content_type(&file).to_string())];
        if self.flaw != Flaw::NoEtag {
            let tag = format!("\"{}\"", bytes.len());
            if request.header("if-none-match") == Some(tag.as_str()) {
                return (304, vec![("ETag", tag)], Vec::new());
            }
            extra.push(("ETag", tag));
        }
        if self.flaw == Flaw::IgnoresRange {
            return (200, extra, bytes);
        }
        let Some(range) = request.header("range") else {
            return (200, extra, bytes);
        };
        let total = bytes.len();
        match byte_range(range, total) {
            Some((first, last)) => {
                extra.push(("Content-Range", format!("bytes {first}-{last}/{total}")));
                (206, extra, bytes[first..=last].to_vec())
            }
            None => {
                let extra = vec![("Content-Range", format!("bytes */{total}"))];
                (416, extra, Vec::new())
            }
        }
    }
}

fn plant(id: u64, name: &str) -> Value {
    json!({ "id": id, "name": name })
}

/// `Content-Type` from the file's extension.
fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|extension| extension.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        _ => "application/octet-stream",
    }
}

/// `bytes=A-B` or `bytes=A-` within `total` bytes: the first and last byte,
/// or `None` when it cannot be served (416).
fn byte_range(range: &str, total: usize) -> Option<(usize, usize)> {
    let (first, last) = range.strip_prefix("bytes=")?.split_once('-')?;
    let first: usize = first.trim().parse().ok()?;
    let last = match last.trim() {
        "" => total.checked_sub(1)?,
        last => last.parse::<usize>().ok()?.min(total.checked_sub(1)?),
    };
    (first <= last).then_some((first, last))
}

/// `%2e%2e` is `..`: decode every `%XX`, leave anything else as it is.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[at], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                at += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

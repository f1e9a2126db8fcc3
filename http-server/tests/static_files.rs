//! Static files on real sockets: types, caching, ranges, and every way out
//! of the directory refused.
//!
//! Unix only: the test site holds symbolic links, which Windows lets only
//! administrators (or developer mode) make.
#![cfg(unix)]

mod support;

use std::path::Path;

use http_server::App;
use support::*;

const SECRET: &str = "TOP SECRET: must never be served";

/// A temporary `public/` with a few files, and a secret beside it.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        let public = dir.path().join("public");
        std::fs::create_dir_all(public.join("docs")).expect("mkdir");
        std::fs::write(public.join("index.html"), "<!DOCTYPE html><p>home</p>").expect("write");
        std::fs::write(public.join("style.css"), "body { color: green }").expect("write");
        std::fs::write(public.join("app.js"), "console.log('hi')").expect("write");
        std::fs::write(
            public.join("plant.svg"),
            "<svg xmlns='http://www.w3.org/2000/svg'/>",
        )
        .expect("write");
        std::fs::write(public.join("docs/index.html"), "<p>docs</p>").expect("write");
        std::fs::write(public.join("digits.txt"), "0123456789").expect("write");
        std::fs::write(public.join(".env"), SECRET).expect("write");
        std::fs::write(dir.path().join("secret.txt"), SECRET).expect("write");
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), public.join("link-out.txt"))
            .expect("symlink");
        std::os::unix::fs::symlink(dir.path(), public.join("dir-out")).expect("symlink");
        std::os::unix::fs::symlink(public.join("digits.txt"), public.join("link-in.txt"))
            .expect("symlink");
        Site { dir }
    }

    fn public(&self) -> std::path::PathBuf {
        self.dir.path().join("public")
    }
}

async fn serve(public: &Path) -> TestServer {
    let app = App::new(())
        .static_files(public)
        .expect("public dir exists");
    start_service(config(), app.into_service()).await
}

#[tokio::test]
async fn files_are_served_with_their_content_type() {
    let site = Site::new();
    let server = serve(&site.public()).await;
    let mut client = server.client().await;
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/plant.svg", "image/svg+xml"),
        ("/docs/", "text/html; charset=utf-8"),
        ("/docs", "text/html; charset=utf-8"),
        ("/link-in.txt", "text/plain; charset=utf-8"),
    ] {
        let response = client.exchange(&get(path, "")).await;
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(
            response.header("content-type"),
            Some(content_type),
            "{path}"
        );
        assert!(
            response.header("etag").is_some() && response.header("last-modified").is_some(),
            "{path}"
        );
    }
    assert_eq!(
        client.exchange(&get("/docs/", "")).await.body,
        b"<p>docs</p>"
    );
    assert_eq!(client.exchange(&get("/missing.txt", "")).await.status, 404);
}

#[tokio::test]
async fn a_cached_copy_is_confirmed_with_304() {
    let site = Site::new();
    let server = serve(&site.public()).await;
    let mut client = server.client().await;
    let first = client.exchange(&get("/style.css", "")).await;
    let etag = first.header("etag").expect("etag").to_string();
    let last_modified = first
        .header("last-modified")
        .expect("last-modified")
        .to_string();

    let again = client
        .exchange(&get("/style.css", &format!("If-None-Match: {etag}\r\n")))
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));

    let again = client
        .exchange(&get(
            "/style.css",
            &format!("If-Modified-Since: {last_modified}\r\n"),
        ))
        .await;
    assert_eq!(again.status, 304);

    let changed = client
        .exchange(&get("/style.css", "If-None-Match: \"other\"\r\n"))
        .await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body, b"body { color: green }");
}

#[tokio::test]
async fn head_gives_the_headers_without_the_body() {
    let site = Site::new();
    let server = serve(&site.public()).await;
    let mut client = server.client().await;
    client
        .send(b"HEAD /digits.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let head = client.read_response_to(true).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("10"));
    assert_eq!(
        client.exchange(&get("/digits.txt", "")).await.body,
        b"0123456789"
    );
}

#[tokio::test]
async fn ranges_get_206_and_exactly_those_bytes() {
    let site = Site::new();
    let server = serve(&site.public()).await;
    let mut client = server.client().await;
    for (range, body, content_range) in [
        ("bytes=2-4", "234", "bytes 2-4/10"),
        ("bytes=7-", "789", "bytes 7-9/10"),
        ("bytes=-3", "789", "bytes 7-9/10"),
        ("bytes=8-100", "89", "bytes 8-9/10"),
    ] {
        let response = client
            .exchange(&get("/digits.txt", &format!("Range: {range}\r\n")))
            .await;
        assert_eq!(response.status, 206, "{range}");
        assert_eq!(response.body_text(), body, "{range}");
        assert_eq!(
            response.header("content-range"),
            Some(content_range),
            "{range}"
        );
    }
    let unsatisfiable = client
        .exchange(&get("/digits.txt", "Range: bytes=10-\r\n"))
        .await;
    assert_eq!(unsatisfiable.status, 416);
    assert_eq!(unsatisfiable.header("content-range"), Some("bytes */10"));
    let several = client
        .exchange(&get("/digits.txt", "Range: bytes=0-1,4-5\r\n"))
        .await;
    assert_eq!(several.status, 200, "several ranges: the whole file");
}

#[tokio::test]
async fn nothing_outside_the_directory_is_ever_served() {
    let site = Site::new();
    let server = serve(&site.public()).await;
    for target in [
        "/../secret.txt",
        "/docs/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/..%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/docs/%2e%2e/%2e%2e/secret.txt",
        "/..%5csecret.txt",
        "/secret.txt%00.html",
        "/%00",
        "/link-out.txt",
        "/dir-out/secret.txt",
        "/.env",
        "//secret.txt",
        "/./../secret.txt",
        "/%252e%252e/secret.txt",
    ] {
        let mut client = server.client().await;
        client
            .send(format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .await;
        let response = client.read_response().await;
        assert!(
            matches!(response.status, 400 | 404),
            "{target}: expected 404 (or 400), got {}",
            response.status
        );
        assert!(
            !response.body_text().contains("TOP SECRET"),
            "{target} leaked the secret"
        );
    }
}

//! The demo app with the real `curl` and a real browser (headless Chromium).
//! Ignored by a plain `cargo test` because they need those installed;
//! `.ci/run` installs them and runs these with `--ignored`, and then a
//! missing tool is a failure.

use testkit::process;

use process::spawn;
use tokio::process::Command;

const HTTP_SERVER: &str = env!("CARGO_BIN_EXE_http-server");

async fn run(program: &str, args: &[&str]) -> String {
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        Command::new(program).args(args).output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{program} did not finish"))
    .unwrap_or_else(|error| panic!("`{program}` must be installed: {error}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
#[ignore = "needs curl; .ci/run runs it"]
async fn curl_drives_the_api_as_the_chapter_shows() {
    let mut server = spawn(HTTP_SERVER, &[]);
    let port = server.listening_port("http").await;
    let url = format!("http://127.0.0.1:{port}/api/plants");
    let created = run("curl", &["-s", "-d", r#"{"name":"Mint"}"#, &url]).await;
    assert_eq!(created, r#"{"id":1,"name":"Mint"}"#);
    assert_eq!(
        run("curl", &["-s", &url]).await,
        r#"[{"id":1,"name":"Mint"}]"#
    );
    let headers = run("curl", &["-s", "-i", "-d", r#"{"name":"Sage"}"#, &url]).await;
    assert!(headers.starts_with("HTTP/1.1 201 Created\r\n"), "{headers}");
    assert!(
        headers.contains("\r\nLocation: /api/plants/2\r\n"),
        "{headers}"
    );
    assert!(
        headers.to_ascii_lowercase().contains("\r\nx-request-id: "),
        "{headers}"
    );
    let missing = run("curl", &["-s", &format!("{url}/99")]).await;
    assert_eq!(missing, r#"{"error":"no plant with id 99"}"#);
    let status = run(
        "curl",
        &[
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "DELETE",
            &format!("{url}/1"),
        ],
    )
    .await;
    assert_eq!(status, "204");
    let traversal = run(
        "curl",
        &[
            "-s",
            "--path-as-is",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://127.0.0.1:{port}/../Cargo.toml"),
        ],
    )
    .await;
    assert_eq!(traversal, "404");
}

#[tokio::test]
#[ignore = "needs Debian's chromium; .ci/run runs it"]
async fn a_real_browser_loads_the_page_calls_the_api_and_renders_the_list() {
    let mut server = spawn(HTTP_SERVER, &[]);
    let port = server.listening_port("http").await;
    let api = format!("http://127.0.0.1:{port}/api/plants");
    for name in ["Rosemary", "<img src=x onerror=alert(1)>"] {
        let body = serde_json::json!({ "name": name }).to_string();
        run("curl", &["-s", "-d", &body, &api]).await;
    }
    let profile = tempfile::tempdir().expect("profile dir");
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    let page = format!("http://127.0.0.1:{port}/");
    // --dump-dom prints the page's DOM after its scripts ran (the virtual time
    // budget lets the fetch() finish).
    let dom = run(
        "chromium",
        &[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &profile_arg,
            "--virtual-time-budget=5000",
            "--dump-dom",
            &page,
        ],
    )
    .await;
    assert!(dom.contains("<h1>Plants</h1>"), "the page loaded: {dom}");
    assert!(
        dom.contains(r#"<span class="name">Rosemary</span>"#),
        "the list was rendered from the API: {dom}"
    );
    // The hostile name is shown as text: escaped in the DOM, not an <img>.
    assert!(
        dom.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "the name is text: {dom}"
    );
    assert!(
        !dom.contains("<img src=\"x\""),
        "no element was injected: {dom}"
    );
}

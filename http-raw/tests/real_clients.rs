//! http-raw driven by the real `curl`, as a learner does. Ignored by a plain
//! `cargo test` because it needs curl installed; `.ci/run` runs it with
//! `--ignored`, and then a missing curl is a failure.

use testkit::process;

use process::spawn;
use tokio::process::Command;

const HTTP_RAW: &str = env!("CARGO_BIN_EXE_http-raw");

async fn curl(args: &[&str]) -> (String, String) {
    let output = tokio::time::timeout(
        process::STEP_TIMEOUT,
        Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "10"])
            .args(args)
            .output(),
    )
    .await
    .expect("curl finished")
    .expect("`curl` must be installed (Debian: apt-get install curl)");
    assert!(
        output.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
#[ignore = "needs curl; .ci/run runs it"]
async fn curl_sees_every_route_as_the_chapter_describes() {
    let mut server = spawn(HTTP_RAW, &[]);
    let port = server.listening_port("http").await;
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");

    assert_eq!(curl(&[&url("/hello")]).await.0, "Hello, world");
    assert_eq!(curl(&[&url("/seed-a-plant")]).await.0, "🌱 Plant seeded!");
    assert!(curl(&[&url("/")]).await.0.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        curl(&["-d", "some text", &url("/echo")]).await.0,
        "some text"
    );
    let chunked = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "-d",
        "chunked text",
        &url("/echo"),
    ])
    .await
    .0;
    assert_eq!(chunked, "chunked text");
    assert!(
        curl(&[&url("/headers")])
            .await
            .0
            .starts_with("GET /headers HTTP/1.1\n")
    );

    let status = |args: Vec<String>| async move {
        let mut all = vec![
            "-o".to_string(),
            "/dev/null".to_string(),
            "-w".to_string(),
            "%{http_code}".to_string(),
        ];
        all.extend(args);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        curl(&refs).await.0
    };
    assert_eq!(status(vec![url("/nope")]).await, "404");
    assert_eq!(
        status(vec!["-X".into(), "DELETE".into(), url("/hello")]).await,
        "405"
    );
    assert_eq!(status(vec!["-I".into(), url("/hello")]).await, "200");
    // curl -v shows both sides of the exchange, as the chapter does.
    let (_, verbose) = curl(&["-v", &url("/hello")]).await;
    assert!(verbose.contains("> GET /hello HTTP/1.1"), "{verbose}");
    assert!(verbose.contains("< HTTP/1.1 200 OK"), "{verbose}");
    assert!(verbose.contains("< Content-Length: 12"), "{verbose}");
    // Two URLs on one command line: curl reuses the kept-alive connection.
    let (_, reuse) = curl(&["-v", &url("/hello"), &url("/hello")]).await;
    assert!(reuse.contains("Re-using existing connection"), "{reuse}");
}

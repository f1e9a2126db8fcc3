//! http-raw judged by a client nobody here wrote: reqwest (on hyper).

mod support;

use support::*;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .expect("reqwest client")
}

#[tokio::test]
async fn get_hello() {
    let server = start_server(config()).await;
    let response = client()
        .get(server.url("/hello"))
        .send()
        .await
        .expect("GET /hello");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert!(response.headers().contains_key("date"));
    assert_eq!(response.text().await.expect("body"), "Hello, world");
}

#[tokio::test]
async fn post_a_large_body_and_get_it_back() {
    let server = start_server(config()).await;
    let body: Vec<u8> = (0..512 * 1024).map(|i| (i % 251) as u8).collect();
    let response = client()
        .post(server.url("/echo"))
        .body(body.clone())
        .send()
        .await
        .expect("POST /echo");
    assert_eq!(response.status(), 200);
    assert!(
        response.bytes().await.expect("body") == body,
        "echoed body differs"
    );
}

#[tokio::test]
async fn a_chunked_upload_is_decoded() {
    let server = start_server(config()).await;
    let pieces: Vec<Result<&'static str, std::io::Error>> =
        vec![Ok("streamed "), Ok("in "), Ok("pieces")];
    let response = client()
        .post(server.url("/echo"))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            pieces,
        )))
        .send()
        .await
        .expect("chunked POST");
    assert_eq!(response.text().await.expect("body"), "streamed in pieces");
}

#[tokio::test]
async fn head_and_errors_are_understood() {
    let server = start_server(config()).await;
    let client = client();
    let head = client
        .head(server.url("/hello"))
        .send()
        .await
        .expect("HEAD");
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], "12");
    assert_eq!(
        client
            .get(server.url("/nope"))
            .send()
            .await
            .expect("404")
            .status(),
        404
    );
    let not_allowed = client
        .delete(server.url("/hello"))
        .send()
        .await
        .expect("405");
    assert_eq!(not_allowed.status(), 405);
    assert_eq!(not_allowed.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn the_client_reuses_the_kept_alive_connection() {
    let server = start_with(config(), |request: http_raw::Request| async move {
        let port = request.peer().map(|peer| peer.port()).unwrap_or(0);
        http_raw::Response::text(200, port.to_string())
    })
    .await;
    let client = client();
    let mut ports = Vec::new();
    for _ in 0..3 {
        let response = client.get(server.url("/port")).send().await.expect("GET");
        ports.push(response.text().await.expect("body"));
    }
    assert!(
        ports.windows(2).all(|pair| pair[0] == pair[1]),
        "three requests, client ports {ports:?}: one connection expected"
    );
}

//! The demo app (the `http-server` binary) through a real HTTP client:
//! the plants API, the shared-state pitfall, panics, request ids.

use tcp_echo::testing::process;

use std::collections::HashSet;

use process::{Running, spawn};
use serde_json::{Value, json};

const HTTP_SERVER: &str = env!("CARGO_BIN_EXE_http-server");

struct Demo {
    _server: Running,
    base: String,
    client: reqwest::Client,
}

async fn start_demo() -> Demo {
    let mut server = spawn(HTTP_SERVER, &[]);
    let port = server.listening_port("http").await;
    Demo {
        _server: server,
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .timeout(process::STEP_TIMEOUT)
            .build()
            .expect("client"),
    }
}

impl Demo {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, headers, value)
    }
}

#[tokio::test]
async fn the_whole_crud_flow() {
    use reqwest::Method;
    let demo = start_demo().await;
    let (status, _, list) = demo.call(Method::GET, "/api/plants", None).await;
    assert_eq!((status, list), (200, json!([])));

    let (status, headers, created) = demo
        .call(Method::POST, "/api/plants", Some(json!({"name": "Basil"})))
        .await;
    assert_eq!(status, 201);
    let id = created["id"].as_u64().expect("an id");
    assert_eq!(created["name"], "Basil");
    assert_eq!(headers["location"], format!("/api/plants/{id}").as_str());
    assert_eq!(headers["content-type"], "application/json");

    let (status, _, fetched) = demo
        .call(Method::GET, &format!("/api/plants/{id}"), None)
        .await;
    assert_eq!((status, fetched), (200, json!({"id": id, "name": "Basil"})));

    let (status, _, renamed) = demo
        .call(
            Method::PUT,
            &format!("/api/plants/{id}"),
            Some(json!({"name": "Thai basil"})),
        )
        .await;
    assert_eq!(
        (status, renamed),
        (200, json!({"id": id, "name": "Thai basil"}))
    );

    let (status, _, list) = demo.call(Method::GET, "/api/plants", None).await;
    assert_eq!(
        (status, list),
        (200, json!([{"id": id, "name": "Thai basil"}]))
    );

    let (status, _, body) = demo
        .call(Method::DELETE, &format!("/api/plants/{id}"), None)
        .await;
    assert_eq!((status, body), (204, Value::Null));

    let (status, headers, body) = demo
        .call(Method::GET, &format!("/api/plants/{id}"), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body, json!({"error": format!("no plant with id {id}")}));
    let (status, _, _) = demo
        .call(Method::DELETE, &format!("/api/plants/{id}"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_input_is_400_json_and_unknown_ids_are_404_json() {
    use reqwest::Method;
    let demo = start_demo().await;
    for body in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": 42}),
        json!({"name": "x".repeat(101)}),
    ] {
        let (status, _, error) = demo
            .call(Method::POST, "/api/plants", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(error["error"].is_string(), "{body}: {error}");
    }
    let response = demo
        .client
        .post(demo.url("/api/plants"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.expect("JSON error");
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("invalid JSON"),
        "{error}"
    );

    for path in ["/api/plants/999", "/api/plants/abc", "/api/nothing"] {
        let (status, _, error) = demo.call(Method::GET, path, None).await;
        assert_eq!(status, 404, "{path}");
        assert!(error["error"].is_string(), "{path}: {error}");
    }
    let (status, headers, _) = demo.call(Method::PATCH, "/api/plants/1", None).await;
    assert_eq!(status, 405);
    assert_eq!(headers["allow"], "DELETE, GET, HEAD, PUT");
}

#[tokio::test]
async fn concurrent_creates_lose_nothing() {
    let demo = start_demo().await;
    let mut tasks = Vec::new();
    for client_number in 0..20 {
        let client = demo.client.clone();
        let url = demo.url("/api/plants");
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..10 {
                let response = client
                    .post(&url)
                    .json(&json!({"name": format!("plant {client_number}-{n}")}))
                    .send()
                    .await
                    .expect("POST");
                assert_eq!(response.status(), 201);
                let created: Value = response.json().await.expect("JSON");
                ids.push(created["id"].as_u64().expect("id"));
            }
            ids
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        for id in task.await.expect("task") {
            assert!(ids.insert(id), "id {id} was given out twice");
        }
    }
    let list: Vec<Value> = demo
        .client
        .get(demo.url("/api/plants"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(ids.len(), 200);
    assert_eq!(list.len(), 200, "every create is in the list");
}

#[tokio::test]
async fn process_wide_state_leaks_between_users_and_request_state_does_not() {
    let demo = start_demo().await;
    // Alice and Bob at the same moment, each waiting on the "database".
    let greet = |variant: &'static str, user: &'static str| {
        let request = demo
            .client
            .get(demo.url(&format!("/shared-state/{variant}?user={user}")));
        async move {
            request
                .send()
                .await
                .expect("GET")
                .text()
                .await
                .expect("body")
        }
    };
    let (alice, bob) = tokio::join!(greet("wrong", "alice"), greet("wrong", "bob"));
    assert!(
        alice != "Hello, alice!\n" || bob != "Hello, bob!\n",
        "the wrong version should have mixed them up: alice got {alice:?}, bob got {bob:?}"
    );
    assert_eq!(alice, bob, "both were greeted as whoever came last");

    let (alice, bob) = tokio::join!(greet("right", "alice"), greet("right", "bob"));
    assert_eq!(alice, "Hello, alice!\n");
    assert_eq!(bob, "Hello, bob!\n");
}

#[tokio::test]
async fn a_panic_is_500_with_a_request_id_and_the_next_request_is_fine() {
    let demo = start_demo().await;
    let response = demo
        .client
        .get(demo.url("/panic"))
        .send()
        .await
        .expect("GET /panic");
    assert_eq!(response.status(), 500);
    assert!(response.headers().contains_key("x-request-id"));
    let hello = demo
        .client
        .get(demo.url("/hello"))
        .send()
        .await
        .expect("GET /hello");
    assert_eq!(hello.status(), 200);
    assert!(hello.headers().contains_key("x-request-id"));
    assert_eq!(hello.text().await.expect("body"), "Hello, world");
}

#[tokio::test]
async fn the_site_and_the_api_come_from_one_process() {
    let demo = start_demo().await;
    let page = demo.client.get(demo.url("/")).send().await.expect("GET /");
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert!(page.headers().contains_key("x-request-id"));
    assert!(page.text().await.expect("body").contains("/app.js"));
    for (path, content_type) in [
        ("/style.css", "text/css; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/plant.svg", "image/svg+xml"),
    ] {
        let response = demo.client.get(demo.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
    }
}

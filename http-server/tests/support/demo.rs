//! The demo app for the tests: served by `http_server::run` in this
//! process, as the binary serves it, with a JSON client for its API.

use http_server::HttpServerConfig;
use serde_json::{Value, json};

use super::{PATIENCE, TestServer, config, run_in_process};

/// The demo app running in this process, and a client for it.
pub struct Demo {
    /// The server: its address, and raw clients (`server.client()`).
    pub server: TestServer,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub client: reqwest::Client,
}

/// The demo app with the defaults, on 127.0.0.1 and a free port.
pub async fn start_demo() -> Demo {
    start_demo_with(|_| {}).await
}

/// The demo app with the defaults changed by `change`.
pub async fn start_demo_with(change: impl FnOnce(&mut HttpServerConfig)) -> Demo {
    let mut settings = HttpServerConfig::with_defaults(config().server);
    change(&mut settings);
    let listener = tcp_echo::bind::bind_tcp(settings.http.server.addr()).expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let server = run_in_process(addr, move |shutdown| async move {
        http_server::run(listener, &settings, shutdown)
            .await
            .expect("the demo app runs");
    });
    Demo {
        server,
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(PATIENCE)
            .build()
            .expect("client"),
    }
}

impl Demo {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        self.call_with(method, path, body, &[]).await
    }

    /// `call`, with extra request headers (`Idempotency-Key`).
    pub async fn call_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self.client.request(method, self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
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

    /// `POST /api/plants` for a plant called `name`: status and body.
    pub async fn try_create(&self, name: &str) -> (u16, Value) {
        let (status, _, body) = self
            .call(
                reqwest::Method::POST,
                "/api/plants",
                Some(json!({ "name": name })),
            )
            .await;
        (status, body)
    }

    /// `POST /api/plants` for `name` with `Idempotency-Key: key`: status,
    /// headers and body.
    pub async fn create_once(
        &self,
        name: &str,
        key: &str,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        self.call_with(
            reqwest::Method::POST,
            "/api/plants",
            Some(json!({ "name": name })),
            &[("idempotency-key", key)],
        )
        .await
    }

    /// Every plant, as `(id, name)`, page after page.
    pub async fn all_plants(&self) -> Vec<(u64, String)> {
        let mut plants = Vec::new();
        let mut after = 0;
        loop {
            let path = format!("/api/plants?after={after}&limit=100");
            let (status, _, page) = self.call(reqwest::Method::GET, &path, None).await;
            assert_eq!(status, 200, "{path}: {page}");
            let page = page.as_array().expect("a JSON array").clone();
            for plant in &page {
                let id = plant["id"].as_u64().expect("an id");
                let name = plant["name"].as_str().expect("a name").to_string();
                plants.push((id, name));
                after = id;
            }
            if page.len() < 100 {
                return plants;
            }
        }
    }

    /// Creates a plant called `name`; its id.
    pub async fn create(&self, name: &str) -> u64 {
        let (status, created) = self.try_create(name).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_u64().expect("an id")
    }

    /// One page of the list: its ids, and the `Link` header's next page.
    pub async fn page(&self, path: &str) -> (Vec<u64>, Option<String>) {
        let (status, headers, list) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {list}");
        let ids = list
            .as_array()
            .expect("a JSON array")
            .iter()
            .map(|plant| plant["id"].as_u64().expect("an id"))
            .collect();
        let next = headers.get("link").map(|link| {
            let link = link.to_str().expect("ASCII");
            assert!(link.ends_with(">; rel=\"next\""), "{link}");
            link.trim_start_matches('<')
                .trim_end_matches(">; rel=\"next\"")
                .to_string()
        });
        (ids, next)
    }

    /// Every plant, page after page, following the `Link` headers.
    pub async fn all_ids(&self) -> Vec<u64> {
        let mut ids = Vec::new();
        let mut path = Some("/api/plants".to_string());
        while let Some(current) = path {
            let (page, next) = self.page(&current).await;
            ids.extend(page);
            path = next;
        }
        ids
    }
}

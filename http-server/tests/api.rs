//! The demo app (what `http_server::run` serves, as the binary does)
//! through a real HTTP client: the plants API, its cap and its pages, the
//! shared-state pitfall, panics, request ids, caching headers.

mod support;

use std::collections::HashSet;

use http_server::plants::{DEFAULT_PAGE_SIZE, MAX_NAME_CHARS, MAX_PAGE_SIZE};
use serde_json::{Value, json};
use support::demo::{start_demo, start_demo_with};

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
    assert_eq!(ids.len(), 200);
    let listed: HashSet<u64> = demo.all_ids().await.into_iter().collect();
    assert_eq!(listed, ids, "every create is in the list");
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

#[tokio::test]
async fn a_full_store_refuses_with_409_json_until_a_plant_is_deleted() {
    use reqwest::Method;
    let demo = start_demo_with(|config| config.max_plants = 3).await;
    for name in ["Basil", "Mint", "Sage"] {
        demo.create(name).await;
    }
    let (status, headers, error) = demo
        .call(Method::POST, "/api/plants", Some(json!({"name": "Thyme"})))
        .await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        error,
        json!({"error": "the store is full (3 plants); delete one first"})
    );
    assert_eq!(demo.all_ids().await, [1, 2, 3], "nothing was added");

    let (status, _, _) = demo.call(Method::DELETE, "/api/plants/2", None).await;
    assert_eq!(status, 204);
    assert_eq!(demo.create("Thyme").await, 4, "ids are never reused");
}

#[tokio::test]
async fn the_list_comes_in_pages_linked_by_a_next_header() {
    let demo = start_demo().await;
    for n in 1..=7 {
        demo.create(&format!("plant {n}")).await;
    }
    let (first, next) = demo.page("/api/plants?limit=3").await;
    assert_eq!(first, [1, 2, 3]);
    assert_eq!(next.as_deref(), Some("/api/plants?after=3&limit=3"));
    // A plant deleted and one created meanwhile: the walk neither repeats
    // nor skips one, since pages are found by id, not by position.
    demo.call(reqwest::Method::DELETE, "/api/plants/2", None)
        .await;
    demo.create("plant 8").await;
    let (second, next) = demo.page(&next.expect("a next page")).await;
    assert_eq!(second, [4, 5, 6]);
    let (last, next) = demo.page(&next.expect("a next page")).await;
    assert_eq!(last, [7, 8]);
    assert_eq!(next, None, "the last page has no Link");
}

#[tokio::test]
async fn without_a_limit_a_page_has_the_default_size() {
    let demo = start_demo().await;
    for n in 0..=DEFAULT_PAGE_SIZE {
        demo.create(&format!("plant {n}")).await;
    }
    let (page, next) = demo.page("/api/plants").await;
    assert_eq!(page.len(), DEFAULT_PAGE_SIZE);
    let after = DEFAULT_PAGE_SIZE;
    assert_eq!(
        next.as_deref(),
        Some(format!("/api/plants?after={after}&limit={DEFAULT_PAGE_SIZE}").as_str())
    );
    assert_eq!(demo.all_ids().await.len(), DEFAULT_PAGE_SIZE + 1);
}

#[tokio::test]
async fn names_and_page_sizes_hold_at_their_limits() {
    let demo = start_demo().await;
    // A name of 99 or 100 characters (counted as characters, not bytes) is
    // taken; 101 is refused.
    for (chars, status) in [
        (MAX_NAME_CHARS - 1, 201),
        (MAX_NAME_CHARS, 201),
        (MAX_NAME_CHARS + 1, 400),
    ] {
        let (got, body) = demo.try_create(&"é".repeat(chars)).await;
        assert_eq!(got, status, "{chars} characters: {body}");
    }
    for (limit, status) in [
        (MAX_PAGE_SIZE - 1, 200),
        (MAX_PAGE_SIZE, 200),
        (MAX_PAGE_SIZE + 1, 400),
    ] {
        let path = format!("/api/plants?limit={limit}");
        let (got, _, body) = demo.call(reqwest::Method::GET, &path, None).await;
        assert_eq!(got, status, "limit={limit}: {body}");
    }
}

#[tokio::test]
async fn a_bad_page_query_is_400_json() {
    let demo = start_demo().await;
    let too_big = format!("limit={}", MAX_PAGE_SIZE + 1);
    for query in [
        "limit=0",
        too_big.as_str(),
        "limit=ten",
        "after=-1",
        "after=x",
    ] {
        let (status, headers, error) = demo
            .call(reqwest::Method::GET, &format!("/api/plants?{query}"), None)
            .await;
        assert_eq!(status, 400, "{query}: {error}");
        assert_eq!(headers["content-type"], "application/json", "{query}");
        assert!(error["error"].is_string(), "{query}: {error}");
    }
}

#[tokio::test]
async fn the_largest_page_stays_under_its_stated_bound() {
    // Plants with the longest names, of the widest characters UTF-8 has
    // (four bytes each): the worst case a client can make.
    let demo = start_demo().await;
    let widest = "🌱".repeat(MAX_NAME_CHARS);
    for _ in 0..MAX_PAGE_SIZE {
        demo.create(&widest).await;
    }
    let response = demo
        .client
        .get(demo.url(&format!("/api/plants?limit={MAX_PAGE_SIZE}")))
        .send()
        .await
        .expect("GET");
    let body = response.bytes().await.expect("body");
    assert!(
        body.len() <= MAX_PAGE_SIZE * 440,
        "a page of {MAX_PAGE_SIZE} is {} bytes",
        body.len()
    );
}

#[tokio::test]
async fn names_with_control_characters_are_400() {
    let demo = start_demo().await;
    let (status, _, error) = demo
        .call(
            reqwest::Method::POST,
            "/api/plants",
            Some(json!({"name": "bad\u{0}name"})),
        )
        .await;
    assert_eq!(status, 400, "{error}");
}

#[tokio::test]
async fn api_responses_are_no_store_and_static_files_are_not() {
    let demo = start_demo().await;
    for path in ["/api/plants", "/api/plants/99", "/api/nothing"] {
        let response = demo.client.get(demo.url(path)).send().await.expect("GET");
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .map(|v| v.as_bytes()),
            Some(&b"no-store"[..]),
            "{path}"
        );
    }
    for path in ["/", "/style.css", "/hello"] {
        let response = demo.client.get(demo.url(path)).send().await.expect("GET");
        assert_eq!(response.headers().get("cache-control"), None, "{path}");
    }
}

#[tokio::test]
async fn sleep_refuses_one_ms_more_than_its_own_bound_and_names_it() {
    use http_server::demo::MAX_SLEEP_MS;
    let demo = start_demo().await;
    let get = |ms: String| {
        let request = demo.client.get(demo.url(&format!("/sleep?ms={ms}")));
        async move {
            let response = request.send().await.expect("a response");
            let status = response.status().as_u16();
            (status, response.text().await.expect("a body"))
        }
    };
    let (status, body) = get("0".to_string()).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "slept 0 ms without blocking anyone\n")
    );
    let (status, body) = get((MAX_SLEEP_MS + 1).to_string()).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains(&format!("from 0 to {MAX_SLEEP_MS}")),
        "the refusal names the bound: {body}"
    );
}

#[tokio::test]
async fn a_repeat_with_the_same_idempotency_key_gets_the_first_answer_and_creates_nothing() {
    let demo = start_demo().await;
    let (status, headers, first) = demo.create_once("Basil", "k-basil").await;
    assert_eq!(status, 201, "{first}");
    assert!(headers.get("idempotent-replayed").is_none());
    // Concurrent repeats too: the key is checked and recorded under the
    // store's lock, in the same step as the create.
    let repeats = (0..8).map(|_| demo.create_once("Basil", "k-basil"));
    for (status, headers, again) in futures_util::future::join_all(repeats).await {
        assert_eq!((status, &again), (201, &first));
        assert_eq!(headers["idempotent-replayed"], "true");
        assert_eq!(
            headers["location"],
            format!("/api/plants/{}", first["id"]).as_str()
        );
    }
    assert_eq!(demo.all_plants().await.len(), 1);

    // The key names one request: another name with it is 422, and stores nothing.
    let (status, _, error) = demo.create_once("Thyme", "k-basil").await;
    assert_eq!(status, 422, "{error}");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("Idempotency-Key"))
    );
    // Another key is another change.
    assert_eq!(demo.create_once("Basil", "k-other").await.0, 201);
    assert_eq!(demo.all_plants().await.len(), 2);
}

#[tokio::test]
async fn a_rename_repeated_with_its_key_answers_as_first_and_changes_nothing() {
    use reqwest::Method;
    let demo = start_demo().await;
    let id = demo.create("Basil").await;
    let path = format!("/api/plants/{id}");
    let key = [("Idempotency-Key", "rename-1")];
    let body = json!({"name": "Thai basil"});
    let (status, _, first) = demo
        .call_with(Method::PUT, &path, Some(body.clone()), &key)
        .await;
    assert_eq!(
        (status, &first),
        (200, &json!({"id": id, "name": "Thai basil"}))
    );
    demo.call(Method::PUT, &path, Some(json!({"name": "Holy basil"})))
        .await;
    let (status, headers, again) = demo.call_with(Method::PUT, &path, Some(body), &key).await;
    assert_eq!((status, again), (200, first));
    assert_eq!(headers["idempotent-replayed"], "true");
    let (_, _, now) = demo.call(Method::GET, &path, None).await;
    assert_eq!(
        now["name"], "Holy basil",
        "the repeat renamed the plant again"
    );

    // A 404 is an answer too, and is remembered.
    let missing = [("Idempotency-Key", "rename-missing")];
    let body = json!({"name": "Sage"});
    let (status, _, error) = demo
        .call_with(Method::PUT, "/api/plants/999", Some(body.clone()), &missing)
        .await;
    assert_eq!(status, 404, "{error}");
    let (status, headers, _) = demo
        .call_with(Method::PUT, "/api/plants/999", Some(body), &missing)
        .await;
    assert_eq!(status, 404);
    assert_eq!(headers["idempotent-replayed"], "true");
}

#[tokio::test]
async fn an_idempotency_key_of_1_to_64_visible_ascii_is_accepted_and_anything_else_is_400_json() {
    let demo = start_demo().await;
    let longest = "k".repeat(64);
    for (n, key) in ["k", &longest[1..], &longest].into_iter().enumerate() {
        let (status, _, body) = demo.create_once(&format!("plant {n}"), key).await;
        assert_eq!(status, 201, "a key of {} bytes: {body}", key.len());
    }
    let too_long = "k".repeat(65);
    for key in [too_long.as_str(), "has space", ""] {
        let (status, headers, body) = demo.create_once("nope", key).await;
        assert_eq!(status, 400, "{key:?}: {body}");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(
            body,
            json!({"error": "Idempotency-Key must be 1 to 64 visible ASCII characters"})
        );
    }
    assert_eq!(
        demo.all_plants().await.len(),
        3,
        "a refused key stored something"
    );
}

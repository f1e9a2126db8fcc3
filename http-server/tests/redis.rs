//! Plants in a real Redis (`REDIS_URL`): two copies of the server act as
//! one, the cap and the pages still hold, and losing Redis costs a 503, not
//! the server. The tests that start a `redis-server` are ignored in a plain
//! `cargo test` (a fresh machine has none): `.ci/run` installs it and runs
//! them with `-- --ignored`.

mod support;
use testkit::process;
use testkit::redis::{RedisServer as Redis, free_port};

use std::collections::HashSet;
use std::time::{Duration, Instant};

use http_server::HttpServerConfig;
use http_server::redis_store::REDIS_WAIT;
use serde_json::json;
use support::demo::{Demo, start_demo_with};

const HTTP_SERVER: &str = env!("CARGO_BIN_EXE_http-server");

/// One copy of the demo server, with its plants in the Redis at `url`.
async fn start_copy(url: &str, change: impl FnOnce(&mut HttpServerConfig)) -> Demo {
    start_demo_with(|config| {
        config.redis_url = Some(url.to_string());
        change(config);
    })
    .await
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn two_copies_with_one_redis_act_as_one_server() {
    use reqwest::Method;
    let redis = Redis::start().await;
    let one = start_copy(&redis.url(), |config| {
        config.instance_name = Some("one".into())
    })
    .await;
    let two = start_copy(&redis.url(), |config| {
        config.instance_name = Some("two".into())
    })
    .await;

    let (status, created) = one.try_create("Basil").await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_u64().expect("an id");
    let path = format!("/api/plants/{id}");

    let (status, headers, fetched) = two.call(Method::GET, &path, None).await;
    assert_eq!((status, fetched), (200, json!({"id": id, "name": "Basil"})));
    assert_eq!(headers["x-instance"], "two");
    let (status, _, renamed) = two
        .call(Method::PUT, &path, Some(json!({"name": "Thai basil"})))
        .await;
    assert_eq!(
        (status, renamed),
        (200, json!({"id": id, "name": "Thai basil"}))
    );
    let (status, headers, list) = one.call(Method::GET, "/api/plants", None).await;
    assert_eq!(
        (status, list),
        (200, json!([{"id": id, "name": "Thai basil"}]))
    );
    assert_eq!(headers["x-instance"], "one");
    let (status, _, _) = two.call(Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    let (status, _, error) = one.call(Method::GET, &path, None).await;
    assert_eq!(
        (status, error),
        (404, json!({"error": format!("no plant with id {id}")}))
    );
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn ids_are_unique_across_copies_creating_at_once() {
    let redis = Redis::start().await;
    let copies = [
        start_copy(&redis.url(), |_| {}).await,
        start_copy(&redis.url(), |_| {}).await,
    ];
    let creates = copies.iter().flat_map(|copy| {
        (0..25).map(move |n| async move {
            let (status, created) = copy.try_create(&format!("plant {n}")).await;
            assert_eq!(status, 201, "{created}");
            created["id"].as_u64().expect("an id")
        })
    });
    let ids: Vec<u64> = futures_util::future::join_all(creates).await;
    let unique: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 50, "an id was given out twice: {ids:?}");
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn the_cap_and_the_pages_hold_across_copies() {
    let redis = Redis::start().await;
    let one = start_copy(&redis.url(), |config| config.max_plants = 3).await;
    let two = start_copy(&redis.url(), |config| config.max_plants = 3).await;
    assert_eq!(one.try_create("a").await.0, 201);
    assert_eq!(two.try_create("b").await.0, 201);
    assert_eq!(one.try_create("c").await.0, 201);
    let (status, error) = two.try_create("d").await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(
        error,
        json!({"error": "the store is full (3 plants); delete one first"})
    );

    let (status, headers, page) = two
        .call(reqwest::Method::GET, "/api/plants?limit=2", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        page,
        json!([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    );
    assert_eq!(
        headers["link"],
        "</api/plants?after=2&limit=2>; rel=\"next\""
    );
    let (_, headers, page) = one
        .call(reqwest::Method::GET, "/api/plants?after=2&limit=2", None)
        .await;
    assert_eq!(page, json!([{"id": 3, "name": "c"}]));
    assert!(headers.get("link").is_none(), "the last page has no Link");
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn losing_redis_is_a_503_with_retry_after_and_it_is_found_again() {
    let redis = Redis::start().await;
    let copy = start_copy(&redis.url(), |_| {}).await;
    assert_eq!(copy.try_create("before").await.0, 201);

    let port = redis.kill().await;
    for _ in 0..2 {
        let asked = Instant::now();
        let (status, headers, error) = copy.call(reqwest::Method::GET, "/api/plants", None).await;
        assert_eq!(status, 503, "{error}");
        assert_eq!(headers["retry-after"], "1");
        assert!(error["error"].is_string(), "{error}");
        assert!(
            asked.elapsed() < REDIS_WAIT + Duration::from_secs(3),
            "a request waited {:?} for a Redis that is gone",
            asked.elapsed()
        );
    }
    // What does not need Redis is not affected.
    let (status, _, _) = copy.call(reqwest::Method::GET, "/hello", None).await;
    assert_eq!(status, 200);

    // Redis comes back (empty: it saves nothing) on the same port; the
    // copy finds it by itself. Each try is bounded; so is the whole wait.
    let _redis = Redis::start_on(port).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = copy.try_create("after").await;
        if status == 201 {
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(
            Instant::now() < deadline,
            "Redis was back, but the copy did not find it within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_unreachable_redis_at_start_is_one_line_and_a_non_zero_exit() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    let mut server = process::spawn(HTTP_SERVER, &[("REDIS_URL", &url)]);
    let (status, stderr) = server.exit_and_stderr().await;
    assert!(!status.success(), "{stderr:#?}");
    assert_eq!(stderr.len(), 1, "{stderr:#?}");
    assert!(
        stderr[0].contains("REDIS_URL") && stderr[0].contains(&url),
        "{stderr:#?}"
    );
}

#[tokio::test]
async fn a_malformed_redis_url_is_a_bad_setting() {
    process::assert_rejects_config(HTTP_SERVER, "REDIS_URL", "not a url").await;
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_redis_that_stops_answering_costs_a_bounded_wait_not_a_hang() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let redis = Redis::start().await;
    let copy = start_copy(&redis.url(), |_| {}).await;
    assert_eq!(copy.try_create("before").await.0, 201);
    let pid = Pid::from_raw(redis.pid());
    // Frozen, not gone: the connection stays open and nothing answers.
    kill(pid, Signal::SIGSTOP).expect("stop our redis-server");
    let asked = Instant::now();
    let (status, headers, _) = copy.call(reqwest::Method::GET, "/api/plants", None).await;
    let waited = asked.elapsed();
    kill(pid, Signal::SIGCONT).expect("continue our redis-server");
    assert_eq!(status, 503);
    assert_eq!(headers["retry-after"], "1");
    assert!(
        waited >= REDIS_WAIT && waited < REDIS_WAIT + Duration::from_secs(3),
        "waited {waited:?}"
    );
}

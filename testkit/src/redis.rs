//! A `redis-server` of the test's own, for the lessons that share state
//! through Redis (http-server's plants, ws-chat's rooms).
//!
//! What to notice: each test starts its own server on a free port, so tests
//! run in parallel without seeing each other's keys, nothing is saved to
//! disk, and the server is killed by its PID (never by name) when the test
//! is done with it, or on purpose, to show what losing Redis does.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::process::STEP_TIMEOUT;

/// A `redis-server` on 127.0.0.1, killed (by its PID) when dropped.
pub struct RedisServer {
    /// The port it listens on.
    pub port: u16,
    child: Child,
}

/// A port nothing listens on just now: bound, read, released.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

impl RedisServer {
    /// Starts one on a free port.
    pub async fn start() -> RedisServer {
        RedisServer::start_on(free_port()).await
    }

    /// Starts `redis-server` on `port` and waits until it says it is ready.
    pub async fn start_on(port: u16) -> RedisServer {
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "redis-server must be installed (Debian: apt-get install redis-server): {error}; \
                     a test that starts one is #[ignore = \"needs redis-server; ...\"]"
                )
            });
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(STEP_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(
            ready,
            Ok(true),
            "redis-server on port {port} did not get ready"
        );
        // Keep draining its log so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        RedisServer { port, child }
    }

    /// `redis://127.0.0.1:PORT`, for `REDIS_URL`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its process id (to stop and continue it with signals).
    pub fn pid(&self) -> i32 {
        let id = self.child.id().expect("redis-server runs");
        i32::try_from(id).expect("a pid fits an i32")
    }

    /// Kills it (SIGKILL, by PID), waits until it is gone, and returns its
    /// port, for a new one to start on.
    pub async fn kill(mut self) -> u16 {
        self.child.start_kill().expect("kill redis-server");
        tokio::time::timeout(STEP_TIMEOUT, self.child.wait())
            .await
            .expect("redis-server did not exit")
            .expect("wait for redis-server");
        self.port
    }
}

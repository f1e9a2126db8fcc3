//! A server running inside the test process, stopped when the test says so.
//!
//! Every lesson's tests use this: bind 127.0.0.1:0, hand `serve` a shutdown
//! future, and later trigger it and wait for `serve` to return, as Ctrl+C
//! and the end of `main` would.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long [`InProcess::connect`] waits: generous, for a loaded machine.
pub const CONNECT_PATIENCE: Duration = Duration::from_secs(10);

/// What the server is given as its shutdown signal.
pub type ShutdownSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A server task, its address, and its shutdown trigger.
pub struct InProcess<T> {
    /// Where the server listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<T>,
}

/// Spawns `serve(shutdown)` for a server listening on `addr`.
pub fn run_in_process<T, F>(
    addr: SocketAddr,
    serve: impl FnOnce(ShutdownSignal) -> F,
) -> InProcess<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown: ShutdownSignal = Box::pin(async move {
        let _ = stopped.await;
    });
    InProcess {
        addr,
        stop: Some(stop),
        task: tokio::spawn(serve(shutdown)),
    }
}

impl<T> InProcess<T> {
    /// What Ctrl+C does to the binary.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits for the server to return; fails the test after `within`.
    pub async fn wait_stopped(self, within: Duration) -> T {
        tokio::time::timeout(within, self.task)
            .await
            .unwrap_or_else(|_| panic!("the server did not stop within {within:?} of shutdown"))
            .expect("server task panicked")
    }
}

impl<E: std::fmt::Debug> InProcess<Result<(), E>> {
    /// Waits for a server whose `run` returns a `Result` to stop, and checks
    /// it returned `Ok`.
    pub async fn stopped_cleanly(self, within: Duration) {
        self.wait_stopped(within)
            .await
            .expect("the server returned an error");
    }
}

impl<T> InProcess<T> {
    /// Opens a TCP connection to the server, failing the test after
    /// [`CONNECT_PATIENCE`].
    pub async fn connect(&self) -> TcpStream {
        tokio::time::timeout(CONNECT_PATIENCE, TcpStream::connect(self.addr))
            .await
            .unwrap_or_else(|_| {
                panic!("connecting to {} took over {CONNECT_PATIENCE:?}", self.addr)
            })
            .unwrap_or_else(|error| panic!("cannot connect to {}: {error}", self.addr))
    }
}

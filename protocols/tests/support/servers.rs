//! The three servers, started inside the test process on 127.0.0.1, port 0.
//!
//! What to notice: each test passes its own configuration (shorter
//! timeouts, smaller limits) and its own shutdown trigger, the way Ctrl+C
//! reaches `main`; [`InProcess::stop`] checks that `run` returned.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use protocols::dns::{self, DnsConfig};
use protocols::ftp::{self, FtpConfig};
use protocols::smtp::{self, SmtpConfig};
use tcp_echo::bind::bind_tcp;
use tcp_echo::config::ServerConfig;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::PATIENCE;

/// A server task, its address, and its shutdown trigger.
pub struct InProcess {
    /// Where it listens (DNS: UDP and TCP both).
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl InProcess {
    fn spawn<F: Future<Output = ()> + Send + 'static>(
        addr: SocketAddr,
        serve: impl FnOnce(oneshot::Receiver<()>) -> F,
    ) -> InProcess {
        let (stop, stopped) = oneshot::channel();
        InProcess {
            addr,
            stop: Some(stop),
            task: tokio::spawn(serve(stopped)),
        }
    }

    /// What Ctrl+C does to the binary.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Whether `run` has returned.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for `run` to return, failing the test after `within`.
    pub async fn stopped(self, within: Duration) {
        tokio::time::timeout(within, self.task)
            .await
            .unwrap_or_else(|_| panic!("the server did not stop within {within:?}"))
            .expect("the server task panicked");
    }

    /// Shuts the server down and waits for it.
    pub async fn stop(mut self) {
        self.begin_shutdown();
        self.stopped(PATIENCE).await;
    }
}

/// Where every test server listens.
pub fn localhost() -> ServerConfig {
    ServerConfig::localhost_any_port()
}

/// An SMTP server storing into `mail_dir`, with `configure` applied to the
/// defaults.
pub fn start_smtp(mail_dir: &Path, configure: impl FnOnce(&mut SmtpConfig)) -> InProcess {
    let mut config = SmtpConfig::with_defaults(localhost(), mail_dir.to_path_buf());
    configure(&mut config);
    let mailbox = smtp::open_mailbox(&config).expect("a writable mail folder");
    let listener = bind_tcp(config.server.addr()).expect("bind");
    let addr = listener.local_addr().expect("addr");
    InProcess::spawn(addr, move |stopped| async move {
        smtp::run(listener, &config, mailbox, async move {
            let _ = stopped.await;
        })
        .await;
    })
}

/// An FTP server serving `root`, with `configure` applied to the defaults.
pub fn start_ftp(root: &Path, configure: impl FnOnce(&mut FtpConfig)) -> InProcess {
    let mut config = FtpConfig::with_defaults(localhost(), root.to_path_buf());
    configure(&mut config);
    let jail = ftp::open_root(&config).expect("a servable folder");
    let listener = bind_tcp(config.server.addr()).expect("bind");
    let addr = listener.local_addr().expect("addr");
    InProcess::spawn(addr, move |stopped| async move {
        ftp::run(listener, &config, jail, async move {
            let _ = stopped.await;
        })
        .await;
    })
}

/// A DNS server for the crate's `plants.test` zone (or `configure`'s).
pub async fn start_dns(configure: impl FnOnce(&mut DnsConfig)) -> InProcess {
    let mut config = DnsConfig::with_defaults(localhost());
    configure(&mut config);
    let zone = dns::load_zone(&config).expect("a valid zone");
    let sockets = dns::bind_dns(config.server.addr()).await.expect("bind");
    let addr = sockets.udp.local_addr().expect("addr");
    InProcess::spawn(addr, move |stopped| async move {
        dns::run(sockets, &config, zone, async move {
            let _ = stopped.await;
        })
        .await;
    })
}

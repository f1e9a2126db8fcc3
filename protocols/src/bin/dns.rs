//! `cargo run -p protocols --bin dns`: an authoritative DNS server for `plants.test`, ready for dig.
//!
//! Read config, load the zone, bind UDP and TCP on one port, say where we
//! listen, answer until Ctrl+C or SIGTERM. Everything else lives in the
//! library (`dns/mod.rs`).
//!
//! One thread (`current_thread`), unlike the other lessons: every answer
//! comes from memory in microseconds, so a second thread only adds work,
//! waking one thread from another for each burst of datagrams. Measured
//! with `protocols/bench/run.py dns`: on tokio's default, multi-threaded
//! runtime, 0.8 times dnsmasq's queries per CPU-second; on one thread, 1.2
//! times. dnsmasq, NSD and Knot also answer each query on the thread that
//! received it.

use std::process::ExitCode;

use protocols::dns::{self, DnsConfig};
use tcp_echo::logging;
use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::startup::{announce_bound, fail};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = match DnsConfig::from_env() {
        Ok(config) => config,
        Err(error) => return fail("dns", error, 2),
    };
    let zone = match dns::load_zone(&config) {
        Ok(zone) => zone,
        Err(error) => return fail("dns", error, 2),
    };
    logging::init_logging();
    // Listen for Ctrl+C and SIGTERM from now on, before anyone knows our port.
    let shutdown = shutdown_signal();
    let sockets = match dns::bind_dns(config.server.addr()).await {
        Ok(sockets) => sockets,
        Err(error) => return fail("dns", error, 1),
    };
    let try_it = |local: std::net::SocketAddr| {
        format!("dig @{} -p {} www.plants.test", local.ip(), local.port())
    };
    if let Err(status) = announce_bound("dns", "dns", sockets.udp.local_addr(), try_it) {
        return status;
    }
    tracing::info!(zone = %zone.origin(), file = %config.zone_file.display(), "dns ready: UDP and TCP");
    dns::run(sockets, &config, zone, shutdown).await;
    ExitCode::SUCCESS
}

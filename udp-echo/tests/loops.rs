//! Datagrams that must get no echo, because answering them starts a loop,
//! and a shutdown that wins however busy the socket is. Forged sender
//! addresses are made honestly on loopback: a test binds a socket, sends
//! from it (so the datagram really carries that address), and only then hands
//! the socket to a server.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tcp_echo::config::ServerConfig;
use tokio::net::UdpSocket;
use udp_echo::{EchoSummary, MAX_DATAGRAM, UdpEchoConfig};

use testkit::in_process;

use in_process::{InProcess, run_in_process};

const PATIENCE: Duration = Duration::from_secs(10);

type Server = InProcess<io::Result<EchoSummary>>;

fn config() -> UdpEchoConfig {
    UdpEchoConfig {
        server: ServerConfig::localhost_any_port(),
        buffer_size: MAX_DATAGRAM,
        // A minute, not half a second: however slow this machine is today,
        // an echo coming back is still recognised.
        loop_window: Duration::from_secs(60),
    }
}

async fn bind(addr: &str) -> UdpSocket {
    UdpSocket::bind(addr)
        .await
        .unwrap_or_else(|error| panic!("bind {addr}: {error}"))
}

/// Runs udp-echo on a socket the test has already used.
fn serve_on(socket: UdpSocket) -> Server {
    let addr = socket.local_addr().expect("local_addr");
    let config = config();
    run_in_process(addr, move |shutdown| async move {
        udp_echo::run(socket, &config, shutdown).await
    })
}

/// Sends `data` to `server` from a fresh client and waits for the echo. A
/// server handles its datagrams in order, so once the echo is back, every
/// datagram that reached it earlier has been dealt with.
async fn round_trip(server: SocketAddr, data: &[u8]) {
    let client = bind("127.0.0.1:0").await;
    client.send_to(data, server).await.expect("send");
    let mut buf = [0u8; 256];
    let (n, from) = tokio::time::timeout(PATIENCE, client.recv_from(&mut buf))
        .await
        .expect("no echo within the patience")
        .expect("recv");
    assert_eq!((&buf[..n], from), (data, server));
}

async fn stop(mut server: Server) -> EchoSummary {
    server.begin_shutdown();
    server.wait_stopped(PATIENCE).await.expect("run returns Ok")
}

#[tokio::test]
async fn a_datagram_from_the_servers_own_address_gets_no_echo_and_shutdown_still_wins() {
    let socket = bind("127.0.0.1:0").await;
    let own = socket.local_addr().expect("local_addr");
    // A datagram whose sender is the server's own address, waiting for it.
    socket.send_to(b"echo me forever", own).await.expect("send");
    let server = serve_on(socket);

    round_trip(own, b"a real client").await;
    let summary = stop(server).await;
    assert_eq!(
        (summary.echoed, summary.refused),
        (1, 1),
        "only the real client's datagram is echoed: {summary:?}"
    );
}

#[tokio::test]
async fn two_echo_servers_on_the_same_port_do_not_play_ping_pong() {
    let first_socket = bind("127.0.0.1:0").await;
    let port = first_socket.local_addr().expect("local_addr").port();
    let first = serve_on(first_socket);
    // A second server on the same port, at another loopback address, as on
    // another machine. The datagram it sends the first carries its address,
    // exactly as a forged one would.
    let second_socket = bind(&format!("127.0.0.2:{port}")).await;
    second_socket
        .send_to(b"ping", first.addr)
        .await
        .expect("send");
    let second = serve_on(second_socket);

    round_trip(first.addr, b"after the ping").await;
    round_trip(second.addr, b"after the ping").await;
    let (first, second) = (stop(first).await, stop(second).await);
    assert_eq!((first.echoed, first.refused), (1, 1), "first: {first:?}");
    assert_eq!(
        (second.echoed, second.refused),
        (1, 0),
        "second: {second:?}"
    );
}

#[tokio::test]
async fn a_ping_pong_between_two_echo_servers_on_any_ports_stops_after_one_round() {
    let first = serve_on(bind("127.0.0.1:0").await);
    let second_socket = bind("127.0.0.1:0").await;
    // "ping" from the second server's address: the first echoes it there.
    second_socket
        .send_to(b"ping", first.addr)
        .await
        .expect("send");
    let mut buf = [0u8; 16];
    tokio::time::timeout(PATIENCE, second_socket.peek_from(&mut buf))
        .await
        .expect("the first server's echo arrives")
        .expect("peek");
    // The second server starts with that echo waiting, and echoes it back;
    // the first sees its own echo return from where it sent it: a loop.
    let second = serve_on(second_socket);
    round_trip(second.addr, b"after the echo").await;
    round_trip(first.addr, b"after the loop").await;

    let (first, second) = (stop(first).await, stop(second).await);
    assert_eq!((first.echoed, first.refused), (2, 1), "first: {first:?}");
    assert_eq!(
        (second.echoed, second.refused),
        (2, 0),
        "second: {second:?}"
    );
}

#[tokio::test]
async fn shutdown_wins_while_datagrams_pour_in() {
    let server = serve_on(bind("127.0.0.1:0").await);
    let target = server.addr;
    // A client that sends as fast as it can and never reads the echoes,
    // bounded in count and time.
    let flood = tokio::spawn(async move {
        let client = bind("127.0.0.1:0").await;
        let started = tokio::time::Instant::now();
        for i in 0u32..2_000_000 {
            if client.send_to(&i.to_le_bytes(), target).await.is_err()
                || started.elapsed() > PATIENCE
            {
                break;
            }
        }
    });
    round_trip(target, b"busy?").await;
    stop(server).await;
    flood.abort();
}

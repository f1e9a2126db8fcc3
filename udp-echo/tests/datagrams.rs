//! What a UDP echo server promises, on real sockets: each datagram back to its sender,
//! unchanged, boundaries kept, up to 65507 bytes. Run with `cargo test -p udp-echo`.

use std::net::SocketAddr;
use std::time::Duration;

use tcp_echo::config::ServerConfig;
use tokio::net::UdpSocket;
use udp_echo::{MAX_DATAGRAM, UdpEchoConfig, bind_udp};

const PATIENCE: Duration = Duration::from_secs(10);

/// "Message too long": EMSGSIZE on Unix, WSAEMSGSIZE on Windows.
#[cfg(unix)]
const EMSGSIZE: i32 = nix::libc::EMSGSIZE;
#[cfg(windows)]
const EMSGSIZE: i32 = 10040;

fn config() -> UdpEchoConfig {
    UdpEchoConfig {
        server: ServerConfig::localhost_any_port(),
        buffer_size: MAX_DATAGRAM,
        loop_window: udp_echo::loop_guard::LOOP_WINDOW,
    }
}

use testkit::in_process;

use in_process::{InProcess, run_in_process};

async fn start_server(config: UdpEchoConfig) -> InProcess<std::io::Result<udp_echo::EchoSummary>> {
    let socket = bind_udp(config.server.addr())
        .await
        .expect("bind 127.0.0.1:0");
    let addr = socket.local_addr().expect("local_addr");
    run_in_process(addr, move |shutdown| async move {
        udp_echo::run(socket, &config, shutdown).await
    })
}

/// A client socket on its own port, "connected" to the server so that
/// `send`/`recv` need no address and only the server's datagrams arrive.
async fn client(server: SocketAddr) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind client");
    socket.connect(server).await.expect("connect client");
    socket
}

async fn receive(socket: &UdpSocket) -> Vec<u8> {
    let mut buf = vec![0u8; 70_000];
    let n = tokio::time::timeout(PATIENCE, socket.recv(&mut buf))
        .await
        .expect("no datagram came back (UDP may lose datagrams, but not on loopback)")
        .expect("recv");
    buf.truncate(n);
    buf
}

#[tokio::test]
async fn a_datagram_comes_back_unchanged() {
    let server = start_server(config()).await;
    let socket = client(server.addr).await;
    let data: Vec<u8> = (0..=255u8).chain([0, 0xff, b'\n']).collect();
    socket.send(&data).await.expect("send");
    assert_eq!(receive(&socket).await, data);
}

#[tokio::test]
async fn boundaries_are_kept_one_datagram_in_one_out() {
    let server = start_server(config()).await;
    let socket = client(server.addr).await;
    let sizes = [1usize, 5, 0, 1400, 9000];
    for (i, size) in sizes.iter().enumerate() {
        socket.send(&vec![i as u8; *size]).await.expect("send");
    }
    // Unlike a TCP stream, five datagrams are never merged or split: five
    // come back, of the same sizes (in order here; loopback does not reorder).
    for (i, size) in sizes.iter().enumerate() {
        assert_eq!(receive(&socket).await, vec![i as u8; *size], "datagram {i}");
    }
}

#[tokio::test]
async fn the_largest_datagram_65507_bytes_goes_through_and_so_does_one_byte_less() {
    let server = start_server(config()).await;
    let socket = client(server.addr).await;
    for len in [MAX_DATAGRAM - 1, MAX_DATAGRAM] {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        socket.send(&data).await.expect("send");
        let echoed = receive(&socket).await;
        assert_eq!(echoed.len(), len);
        assert!(echoed == data, "the {len}-byte echo differs");
    }
}

#[tokio::test]
async fn one_byte_more_fails_at_the_sender_with_emsgsize() {
    let server = start_server(config()).await;
    let socket = client(server.addr).await;
    let error = socket
        .send(&vec![0u8; MAX_DATAGRAM + 1])
        .await
        .expect_err("65508 bytes cannot fit in one IPv4 UDP datagram");
    assert_eq!(error.raw_os_error(), Some(EMSGSIZE), "{error}");
}

#[tokio::test]
async fn each_client_gets_its_own_replies() {
    let server = start_server(config()).await;
    let alice = client(server.addr).await;
    let bob = client(server.addr).await;
    alice.send(b"from alice").await.expect("send");
    bob.send(b"from bob").await.expect("send");
    // The reply goes to the address each datagram came from.
    assert_eq!(receive(&bob).await, b"from bob");
    assert_eq!(receive(&alice).await, b"from alice");
}

#[tokio::test]
async fn a_small_buffer_truncates_bigger_datagrams() {
    let mut config = config();
    config.buffer_size = 16;
    let server = start_server(config).await;
    let socket = client(server.addr).await;
    socket
        .send(b"0123456789abcdefTHIS PART IS LOST")
        .await
        .expect("send");
    assert_eq!(receive(&socket).await, b"0123456789abcdef");
    // A datagram that fits is untouched: one byte less than the buffer,
    // exactly the buffer; one byte more loses its last byte. (Every echo
    // differs: the loop guard drops an echo identical to one just sent.)
    for (sent, echoed) in [
        (&b"0123456789abcde"[..], &b"0123456789abcde"[..]),
        (b"0123456789ABCDEF", b"0123456789ABCDEF"),
        (b"fedcba9876543210g", b"fedcba9876543210"),
    ] {
        socket.send(sent).await.expect("send");
        assert_eq!(receive(&socket).await, echoed, "{} bytes", sent.len());
    }
}

#[tokio::test]
async fn tcp_and_udp_port_7007_are_two_different_ports() {
    // Take a TCP port, then bind UDP on the very same number: no conflict.
    let tcp = tcp_echo::bind::bind_tcp("127.0.0.1:0".parse().expect("addr")).expect("bind tcp");
    let port = tcp.local_addr().expect("tcp addr").port();
    let mut config = config();
    config.server.port = port;
    let server = start_server(config).await;
    assert_eq!(server.addr.port(), port);
    let socket = client(server.addr).await;
    socket.send(b"udp").await.expect("send");
    assert_eq!(receive(&socket).await, b"udp");
}

#[tokio::test]
async fn shutdown_stops_the_loop() {
    let mut server = start_server(config()).await;
    let socket = client(server.addr).await;
    socket.send(b"before").await.expect("send");
    assert_eq!(receive(&socket).await, b"before");
    server.begin_shutdown();
    let summary = server.wait_stopped(PATIENCE).await.expect("run returns Ok");
    assert_eq!(summary.echoed, 1);
}

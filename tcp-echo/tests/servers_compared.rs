//! The point of lesson 1: the blocking server serves one client at a time,
//! the other two serve everyone at once.

mod support;

use support::*;
use tcp_echo::EchoMode;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn blocking_server_makes_the_second_client_wait_for_the_first() {
    let server = start_server(config(EchoMode::Blocking)).await;
    let mut first = server.connect().await;
    assert_echoes(&mut first, b"first").await;

    // The second `nc`: connected (the kernel did the handshake), but unserved.
    let mut second = server.connect().await;
    second.write_all(b"second").await.expect("write");
    assert_no_reply_yet(&mut second, "blocking server, first client still connected").await;

    // The first client leaves; now the server gets to the second.
    drop(first);
    assert_eq!(read_n(&mut second, 6).await, b"second");
}

#[tokio::test]
async fn threads_and_async_servers_serve_two_clients_at_once() {
    for mode in [EchoMode::Threads, EchoMode::Async] {
        let server = start_server(config(mode)).await;
        let mut first = server.connect().await;
        let mut second = server.connect().await;
        // Interleaved, with both connections open the whole time.
        assert_echoes(&mut first, b"one").await;
        assert_echoes(&mut second, b"two").await;
        assert_echoes(&mut first, b"three").await;
    }
}

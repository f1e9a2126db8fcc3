//! What an echo server promises, and its limits, on real sockets, for all three servers
//! where it applies. Run with `cargo test -p tcp-echo`.

mod support;

use std::time::{Duration, Instant};

use support::*;
use tcp_echo::EchoMode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn every_byte_comes_back_unchanged() {
    for mode in ALL_MODES {
        let server = start_server(config(mode)).await;
        let mut client = server.connect().await;
        assert_echoes(&mut client, b"hello\r\n").await;
        // NUL, invalid UTF-8, every byte value: echo is binary-safe.
        assert_echoes(&mut client, &binary_pattern(4096)).await;
        assert_echoes(&mut client, &[0, 0xff, 0xfe, b'\n', 0]).await;
    }
}

#[tokio::test]
async fn writes_around_the_64_kib_buffer_come_back_whole_also_in_two_writes() {
    use tcp_echo::server_async::MAX_BUFFER_SIZE;
    for mode in ALL_MODES {
        let server = start_server(config(mode)).await;
        let mut client = server.connect().await;
        // Reads that fill the buffer exactly make it grow; at the cap it
        // stays, and nothing is lost or repeated on either side of it.
        for len in [MAX_BUFFER_SIZE - 1, MAX_BUFFER_SIZE, MAX_BUFFER_SIZE + 1] {
            let data = binary_pattern(len);
            assert_echoes(&mut client, &data).await;
            let (first, second) = data.split_at(len / 2);
            client.write_all(first).await.expect("write");
            client.write_all(second).await.expect("write");
            assert_eq!(
                read_n(&mut client, len).await,
                data,
                "{mode}: {len} in two writes"
            );
        }
    }
}

#[tokio::test]
async fn half_close_gets_the_rest_of_the_echo_then_eof() {
    for mode in ALL_MODES {
        let server = start_server(config(mode)).await;
        let mut client = server.connect().await;
        let data = binary_pattern(100_000);
        client.write_all(&data).await.expect("write");
        // "I am done sending" (what `nc -N` does at the end of its input).
        client.shutdown().await.expect("half-close");
        let mut echoed = Vec::new();
        tokio::time::timeout(PATIENCE, client.read_to_end(&mut echoed))
            .await
            .unwrap_or_else(|_| panic!("{mode}: no EOF after half-close"))
            .expect("read");
        assert_eq!(
            echoed.len(),
            data.len(),
            "{mode}: echo length after half-close"
        );
        assert!(echoed == data, "{mode}: echo differs after half-close");
    }
}

#[tokio::test]
async fn one_mib_round_trip_written_and_read_concurrently() {
    for mode in ALL_MODES {
        let server = start_server(config(mode)).await;
        let client = server.connect().await;
        let (mut reader, mut writer) = client.into_split();
        let data = binary_pattern(1 << 20);
        let sent = data.clone();
        // Write and read at the same time, as a real client must: writing all
        // of it first could deadlock once every buffer on the way is full.
        let writing = tokio::spawn(async move {
            writer.write_all(&sent).await.expect("write");
            writer.shutdown().await.expect("half-close");
        });
        let mut echoed = Vec::with_capacity(data.len());
        tokio::time::timeout(PATIENCE, reader.read_to_end(&mut echoed))
            .await
            .unwrap_or_else(|_| panic!("{mode}: 1 MiB echo timed out"))
            .expect("read");
        writing.await.expect("writer task");
        assert!(
            echoed == data,
            "{mode}: 1 MiB echo differs ({} bytes back)",
            echoed.len()
        );
    }
}

#[tokio::test]
async fn two_hundred_clients_at_once() {
    for mode in [EchoMode::Async, EchoMode::Threads] {
        let server = start_server(config(mode)).await;
        let mut clients = Vec::new();
        for i in 0..200u32 {
            let addr = server.addr;
            clients.push(tokio::spawn(async move {
                let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
                let message = format!("client {i} says hello\n").repeat(10);
                assert_echoes(&mut stream, message.as_bytes()).await;
                stream
            }));
        }
        // Keep all 200 open until every one has had its echo.
        let mut open = Vec::new();
        for client in clients {
            open.push(client.await.expect("client task"));
        }
        assert_eq!(open.len(), 200, "{mode}");
    }
}

#[tokio::test]
async fn idle_connection_is_closed_after_the_idle_timeout() {
    for mode in ALL_MODES {
        let mut config = config(mode);
        config.idle_timeout = Duration::from_millis(300);
        let server = start_server(config).await;
        let mut client = server.connect().await;
        assert_echoes(&mut client, b"still here?").await;
        let last_activity = Instant::now();
        assert_closed_by_server(&mut client).await;
        assert!(
            last_activity.elapsed() >= Duration::from_millis(250),
            "{mode}: closed after {:?}, before the 300 ms idle timeout",
            last_activity.elapsed()
        );
    }
}

#[tokio::test]
async fn at_max_connections_the_next_client_waits_for_a_free_slot() {
    for mode in [EchoMode::Async, EchoMode::Threads] {
        let mut config = config(mode);
        config.max_connections = 2;
        let server = start_server(config).await;
        let mut first = server.connect().await;
        let mut second = server.connect().await;
        assert_echoes(&mut first, b"1").await;
        assert_echoes(&mut second, b"2").await;

        // The kernel completes the third connection, but the server does not
        // accept it while two are open.
        let mut third = server.connect().await;
        third.write_all(b"3").await.expect("write");
        assert_no_reply_yet(
            &mut third,
            &format!("{mode}: third connection over the limit of 2"),
        )
        .await;

        drop(first);
        assert_eq!(
            read_n(&mut third, 1).await,
            b"3",
            "{mode}: third client after a slot freed"
        );
        assert_echoes(&mut second, b"still fine").await;
    }
}

#[tokio::test]
async fn a_client_that_never_reads_is_held_back_not_buffered() {
    for mode in ALL_MODES {
        let server = start_server(config(mode)).await;
        let mut hog = server.connect().await;
        let chunk = binary_pattern(64 * 1024);
        let mut sent = Vec::new();
        // Write until our writes stop going through: the server stopped
        // reading because we are not reading its echo (backpressure).
        loop {
            match tokio::time::timeout(Duration::from_millis(500), hog.write(&chunk)).await {
                Ok(Ok(n)) => sent.extend_from_slice(&chunk[..n]),
                Ok(Err(error)) => panic!("{mode}: write failed: {error}"),
                Err(_stalled) => break,
            }
            assert!(
                sent.len() < 256 << 20,
                "{mode}: the server took 256 MiB from a client that never reads"
            );
        }
        // Only the kernel's socket buffers hold the data (a few MiB on
        // loopback), not the server.
        assert!(
            sent.len() < 64 << 20,
            "{mode}: {} bytes accepted before backpressure",
            sent.len()
        );

        // Nobody else is harmed (the blocking server serves one client at a
        // time, so it has no one else to serve).
        if mode != EchoMode::Blocking {
            let mut other = server.connect().await;
            assert_echoes(&mut other, b"not stuck").await;
        }

        // And every byte is still echoed, in order, once the hog reads.
        let echoed = read_n(&mut hog, sent.len()).await;
        assert!(echoed == sent, "{mode}: echo of the backed-up data differs");
    }
}

#[tokio::test]
async fn shutdown_lets_open_connections_finish_then_closes_them_after_the_grace_period() {
    for mode in ALL_MODES {
        let mut config = config(mode);
        config.server.shutdown_grace = Duration::from_millis(500);
        let mut server = start_server(config).await;
        let mut client = server.connect().await;
        assert_echoes(&mut client, b"before").await;

        server.begin_shutdown();
        // In the grace period the connection still works...
        assert_echoes(&mut client, b"during grace").await;
        // ...then the server closes it and `run` returns.
        assert_closed_by_server(&mut client).await;
        let addr = server.addr;
        server.stopped_cleanly(PATIENCE).await;
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "{mode}: still accepting after shutdown"
        );
    }
}

#[tokio::test]
async fn shutdown_ends_as_soon_as_the_last_client_leaves() {
    for mode in ALL_MODES {
        let mut config = config(mode);
        config.server.shutdown_grace = Duration::from_secs(60);
        let mut server = start_server(config).await;
        let mut client = server.connect().await;
        assert_echoes(&mut client, b"hi").await;
        server.begin_shutdown();
        drop(client);
        // Far sooner than the 60 s grace period.
        server.stopped_cleanly(PATIENCE).await;
    }
}

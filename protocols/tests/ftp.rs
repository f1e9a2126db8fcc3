//! The FTP server on real sockets: login, folders, the data connection and
//! its limits, the jail, timeouts, the connection limit and shutdown.

// Elsewhere than Unix the tests that send signals (or need what only Unix
// has) are compiled out, and what only they use is unused.
#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use protocols::ftp::limits::MAX_COMMAND_LINE;
use support::PATIENCE;
use support::line_client::{LineClient, Reply};
use support::servers::start_ftp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A folder to serve: `hello.txt`, `sub/inner.txt`, and `outside`'s files
/// beside it (not in it).
struct Folders {
    root: tempfile::TempDir,
    outside: tempfile::TempDir,
}

fn folders() -> Folders {
    let root = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(root.path().join("hello.txt"), "hello, ftp\n").expect("write");
    std::fs::create_dir(root.path().join("sub")).expect("mkdir");
    std::fs::write(root.path().join("sub/inner.txt"), "inside\n").expect("write");
    std::fs::write(outside.path().join("secret.txt"), "not for you\n").expect("write");
    Folders { root, outside }
}

/// Greeted and logged in as anonymous.
async fn logged_in(addr: SocketAddr) -> LineClient {
    let mut client = LineClient::greeted(addr, 220).await;
    client.command("USER anonymous", 331).await;
    client.command("PASS me@example.com", 230).await;
    client
}

/// `PASV`, and the address its reply names.
async fn pasv(client: &mut LineClient) -> SocketAddr {
    let reply = client.command("PASV", 227).await;
    let text = reply.text();
    let numbers: Vec<u16> = text
        .split(['(', ')'])
        .nth(1)
        .unwrap_or_else(|| panic!("227 without (h,h,h,h,p,p): {text}"))
        .split(',')
        .map(|n| n.parse().expect("a number"))
        .collect();
    let ip = std::net::Ipv4Addr::new(
        numbers[0] as u8,
        numbers[1] as u8,
        numbers[2] as u8,
        numbers[3] as u8,
    );
    SocketAddr::from((ip, numbers[4] * 256 + numbers[5]))
}

/// `EPSV`, and the port its reply names.
async fn epsv(client: &mut LineClient) -> u16 {
    let reply = client.command("EPSV", 229).await;
    let text = reply.text();
    text.split("|||")
        .nth(1)
        .and_then(|rest| rest.split('|').next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("229 without (|||port|): {text}"))
}

/// Connects to the data port.
async fn connect_data(addr: SocketAddr) -> TcpStream {
    tokio::time::timeout(PATIENCE, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect to the data port")
}

/// Sends `command` (a RETR, LIST or NLST) after `PASV`; returns the bytes
/// of the data connection and the final reply.
async fn download(client: &mut LineClient, command: &str) -> (Vec<u8>, Reply) {
    let data_addr = pasv(client).await;
    client.command(command, 150).await;
    let mut data = connect_data(data_addr).await;
    let mut bytes = Vec::new();
    tokio::time::timeout(PATIENCE, data.read_to_end(&mut bytes))
        .await
        .expect("the whole transfer in time")
        .expect("read the data connection");
    (bytes, client.reply().await)
}

/// Sends `content` with `STOR name`; returns the final reply.
async fn upload(client: &mut LineClient, name: &str, pieces: &[&[u8]]) -> Reply {
    let data_addr = pasv(client).await;
    client.command(&format!("STOR {name}"), 150).await;
    let mut data = connect_data(data_addr).await;
    for piece in pieces {
        // A refused upload may be closed by the server before we finish.
        if data.write_all(piece).await.is_err() {
            break;
        }
    }
    let _ = data.shutdown().await;
    client.reply().await
}

#[tokio::test]
async fn anonymous_login_then_moving_between_folders() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |_| {});
    let mut client = LineClient::greeted(server.addr, 220).await;
    client.command("USER bob", 530).await;
    client.command("PASS secret", 503).await;
    client.command("USER anonymous", 331).await;
    client.command("PASS me@example.com", 230).await;
    client.command("SYST", 215).await;
    assert!(client.command("PWD", 257).await.text().starts_with("\"/\""));
    client.command("CWD sub", 250).await;
    assert!(
        client
            .command("PWD", 257)
            .await
            .text()
            .starts_with("\"/sub\"")
    );
    client.command("CDUP", 250).await;
    assert!(client.command("PWD", 257).await.text().starts_with("\"/\""));
    client.command("CWD hello.txt", 550).await;
    client.command("CWD nowhere", 550).await;
    client.command("QUIT", 221).await;
    client.assert_closed().await;
    server.stop().await;
}

#[tokio::test]
async fn commands_that_touch_files_need_a_login_first() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |_| {});
    let mut client = LineClient::greeted(server.addr, 220).await;
    for command in [
        "PWD",
        "CWD sub",
        "PASV",
        "EPSV",
        "LIST",
        "RETR hello.txt",
        "SIZE hello.txt",
        "STOR x",
    ] {
        client.command(command, 530).await;
    }
    client.command("NOOP", 200).await;
    server.stop().await;
}

#[tokio::test]
async fn feat_lists_the_extensions_in_rfc_2389s_format() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |_| {});
    let mut client = LineClient::greeted(server.addr, 220).await;
    let feat = client.command("FEAT", 211).await;
    assert!(feat.lines.contains(&" EPSV".to_string()), "{feat:?}");
    assert!(feat.lines.contains(&" SIZE".to_string()), "{feat:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_file_comes_over_a_passive_data_connection_pasv_or_epsv() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |_| {});
    let mut client = logged_in(server.addr).await;
    client.command("TYPE I", 200).await;
    assert_eq!(client.command("SIZE hello.txt", 213).await.text(), "11");
    let (bytes, done) = download(&mut client, "RETR hello.txt").await;
    assert_eq!(bytes, b"hello, ftp\n");
    assert_eq!(done.code, 226, "{done:?}");
    assert!(done.text().contains("11 bytes"), "{done:?}");

    let port = epsv(&mut client).await;
    client.command("RETR /sub/inner.txt", 150).await;
    let mut data = connect_data(SocketAddr::from(([127, 0, 0, 1], port))).await;
    let mut bytes = Vec::new();
    data.read_to_end(&mut bytes).await.expect("read");
    assert_eq!(bytes, b"inside\n");
    client.expect(226).await;
    server.stop().await;
}

#[tokio::test]
async fn the_passive_port_is_on_the_address_the_client_reached() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |_| {});
    let mut client = logged_in(server.addr).await;
    let data_addr = pasv(&mut client).await;
    assert_eq!(data_addr.ip(), server.addr.ip());
    assert_ne!(data_addr.port(), server.addr.port());
    server.stop().await;
}

#[tokio::test]
async fn list_sends_ls_lines_and_nlst_bare_names() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |_| {});
    let mut client = logged_in(server.addr).await;
    let (listing, done) = download(&mut client, "LIST").await;
    assert_eq!(done.code, 226);
    let listing = String::from_utf8(listing).expect("UTF-8");
    let lines: Vec<&str> = listing.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 2, "{listing:?}");
    assert!(
        lines[0].starts_with("-rw") && lines[0].ends_with(" hello.txt"),
        "{listing:?}"
    );
    assert!(
        lines[1].starts_with('d') && lines[1].ends_with(" sub"),
        "{listing:?}"
    );
    let (names, _) = download(&mut client, "NLST sub").await;
    assert_eq!(names, b"inner.txt\r\n");
    let (names, _) = download(&mut client, "LIST -la sub").await;
    assert!(String::from_utf8_lossy(&names).ends_with(" inner.txt\r\n"));
    server.stop().await;
}

#[tokio::test]
async fn a_transfer_without_pasv_gets_425_and_a_missing_file_550_before_any_connection() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |_| {});
    let mut client = logged_in(server.addr).await;
    client.command("RETR hello.txt", 425).await;
    client.command("LIST", 425).await;
    let server_data_addr = pasv(&mut client).await;
    client.command("RETR nothing.txt", 550).await;
    client.command("RETR sub", 550).await;
    // The passive port is still there for the next transfer.
    client.command("RETR hello.txt", 150).await;
    let mut data = connect_data(server_data_addr).await;
    let mut bytes = Vec::new();
    data.read_to_end(&mut bytes).await.expect("read");
    assert_eq!(bytes, b"hello, ftp\n");
    client.expect(226).await;
    server.stop().await;
}

// Unix only: making a symbolic link on Windows needs administrator
// rights or developer mode.
#[cfg(unix)]
#[tokio::test]
async fn no_path_leaves_the_served_folder_dot_dot_absolute_or_through_links() {
    let folders = folders();
    let root = folders.root.path();
    std::os::unix::fs::symlink(folders.outside.path(), root.join("escape")).expect("link");
    std::os::unix::fs::symlink(
        folders.outside.path().join("secret.txt"),
        root.join("secret.txt"),
    )
    .expect("link");
    std::os::unix::fs::symlink(root.join("hello.txt"), root.join("alias.txt")).expect("link");
    let server = start_ftp(root, |_| {});
    let mut client = logged_in(server.addr).await;

    client.command("CWD ../../..", 250).await;
    assert!(
        client.command("PWD", 257).await.text().starts_with("\"/\""),
        "still at the top"
    );
    let outside = folders.outside.path().display().to_string();
    for command in [
        "SIZE ../../etc/passwd".to_string(),
        "SIZE /etc/passwd".to_string(),
        format!("SIZE {outside}/secret.txt"),
        "SIZE escape/secret.txt".to_string(),
        "SIZE secret.txt".to_string(),
        "CWD escape".to_string(),
        "RETR secret.txt".to_string(),
        "RETR escape/secret.txt".to_string(),
        "LIST escape".to_string(),
    ] {
        pasv(&mut client).await;
        client.command(&command, 550).await;
    }
    // A link that stays inside is followed.
    let (bytes, _) = download(&mut client, "RETR alias.txt").await;
    assert_eq!(bytes, b"hello, ftp\n");
    // Links out are not even listed.
    let (names, _) = download(&mut client, "NLST").await;
    assert_eq!(names, b"alias.txt\r\nhello.txt\r\nsub\r\n");
    server.stop().await;
}

#[tokio::test]
async fn stor_is_refused_unless_ftp_writable() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |_| {});
    let mut client = logged_in(server.addr).await;
    pasv(&mut client).await;
    let refused = client.command("STOR new.txt", 550).await;
    assert!(refused.text().contains("FTP_WRITABLE"), "{refused:?}");
    assert!(!folders.root.path().join("new.txt").exists());
    server.stop().await;
}

#[tokio::test]
async fn stor_with_ftp_writable_stores_the_file_and_leaves_no_temporary_behind() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |config| config.writable = true);
    let mut client = logged_in(server.addr).await;
    let done = upload(
        &mut client,
        "sub/new.txt",
        &[b"uploaded ", b"in two pieces\n"],
    )
    .await;
    assert_eq!(done.code, 226, "{done:?}");
    let stored = std::fs::read(folders.root.path().join("sub/new.txt")).expect("stored");
    assert_eq!(stored, b"uploaded in two pieces\n");
    let (names, _) = download(&mut client, "NLST sub").await;
    assert_eq!(names, b"inner.txt\r\nnew.txt\r\n");
    let entries = std::fs::read_dir(folders.root.path().join("sub"))
        .expect("read")
        .count();
    assert_eq!(entries, 2, "no temporary file left");
    // A name that is no file name, and a folder, are refused.
    pasv(&mut client).await;
    client.command("STOR /", 553).await;
    client.command("STOR sub", 550).await;
    // `..` cannot climb out: this lands at the top of the served folder.
    let done = upload(&mut client, "../../escape.txt", &[b"x"]).await;
    assert_eq!(done.code, 226, "{done:?}");
    assert!(folders.root.path().join("escape.txt").exists());
    assert!(
        !folders
            .root
            .path()
            .parent()
            .expect("parent")
            .join("escape.txt")
            .exists()
    );
    server.stop().await;
}

#[tokio::test]
async fn uploads_up_to_the_limit_are_stored_one_byte_more_gets_552_and_leaves_nothing() {
    let folders = folders();
    let max = 1000u64;
    let server = start_ftp(folders.root.path(), |config| {
        config.writable = true;
        config.data.max_upload_bytes = max;
    });
    let mut client = logged_in(server.addr).await;
    for (size, code) in [(max - 1, 226), (max, 226), (max + 1, 552)] {
        let content = vec![b'u'; size as usize];
        // Across two writes, so the limit is crossed inside a read or between reads.
        let (first, second) = content.split_at(600);
        let name = format!("up-{size}.bin");
        let done = upload(&mut client, &name, &[first, second]).await;
        assert_eq!(done.code, code, "{size} bytes: {done:?}");
        let path = folders.root.path().join(&name);
        assert_eq!(path.exists(), code == 226, "{size} bytes");
    }
    let leftovers: Vec<_> = std::fs::read_dir(folders.root.path())
        .expect("read")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_never_opens_the_data_connection_gets_425() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |config| {
        config.data.accept_timeout = Duration::from_millis(300)
    });
    let mut client = logged_in(server.addr).await;
    pasv(&mut client).await;
    client.command("RETR hello.txt", 150).await;
    client.expect(425).await;
    client.command("NOOP", 200).await;
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_gets_426_and_keeps_its_session() {
    let folders = folders();
    // Larger than every socket buffer on the way, so the server's writes block.
    std::fs::write(
        folders.root.path().join("big.bin"),
        vec![7u8; 32 * 1024 * 1024],
    )
    .expect("write");
    let server = start_ftp(folders.root.path(), |config| {
        config.data.stall_timeout = Duration::from_millis(300)
    });
    let mut client = logged_in(server.addr).await;
    let data_addr = pasv(&mut client).await;
    client.command("RETR big.bin", 150).await;
    let data = connect_data(data_addr).await;
    let reply = client.expect(426).await;
    assert!(reply.text().contains("no progress"), "{reply:?}");
    drop(data);
    client.command("NOOP", 200).await;
    server.stop().await;
}

#[tokio::test]
async fn a_data_connection_from_another_address_is_closed_and_the_client_still_gets_its_file() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |_| {});
    let mut client = logged_in(server.addr).await;
    let data_addr = pasv(&mut client).await;
    client.command("RETR hello.txt", 150).await;
    // Another host (127.0.0.2 is loopback too) guesses the port first.
    let thief = TcpSocket::new_v4().expect("socket");
    thief
        .bind("127.0.0.2:0".parse().expect("addr"))
        .expect("bind 127.0.0.2");
    let mut thief = thief
        .connect(data_addr)
        .await
        .expect("the kernel completes the handshake");
    let mut stolen = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, thief.read_to_end(&mut stolen))
        .await
        .expect("closed in time");
    assert!(stolen.is_empty(), "nothing for the thief");
    let mut data = connect_data(data_addr).await;
    let mut bytes = Vec::new();
    data.read_to_end(&mut bytes).await.expect("read");
    assert_eq!(bytes, b"hello, ftp\n");
    client.expect(226).await;
    server.stop().await;
}

#[tokio::test]
async fn active_mode_is_refused_with_the_reason() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |_| {});
    let mut client = logged_in(server.addr).await;
    let reply = client.command("PORT 127,0,0,1,200,10", 502).await;
    assert!(reply.text().contains("PASV or EPSV"), "{reply:?}");
    client.command("EPRT |1|127.0.0.1|51210|", 502).await;
    client.command("DELE hello.txt", 502).await;
    client.command("XYZZY", 500).await;
    server.stop().await;
}

#[tokio::test]
async fn a_command_line_of_4096_bytes_is_read_4097_gets_500() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |_| {});
    let mut client = logged_in(server.addr).await;
    for (wire_len, code) in [
        (MAX_COMMAND_LINE - 1, 200),
        (MAX_COMMAND_LINE, 200),
        (MAX_COMMAND_LINE + 1, 500),
    ] {
        let line = format!("NOOP {}", "x".repeat(wire_len - "NOOP ".len() - 2));
        client.command(&line, code).await;
        let bytes = format!("{line}\r\n");
        let (first, second) = bytes.split_at(1000);
        client.send_raw(first.as_bytes()).await;
        client.send_raw(second.as_bytes()).await;
        assert_eq!(
            client.reply().await.code,
            code,
            "{wire_len} bytes in two writes"
        );
    }
    client.command("PWD", 257).await;
    server.stop().await;
}

#[tokio::test]
async fn an_idle_session_hears_421_and_is_closed() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |config| {
        config.idle_timeout = Duration::from_secs(1)
    });
    let mut client = logged_in(server.addr).await;
    client.expect(421).await;
    client.assert_closed().await;
    server.stop().await;
}

#[tokio::test]
async fn a_client_past_max_connections_hears_421_and_the_others_carry_on() {
    let folders = folders();
    let server = start_ftp(folders.root.path(), |config| config.max_connections = 1);
    let mut first = logged_in(server.addr).await;
    let mut second = LineClient::connect(server.addr).await;
    second.expect(421).await;
    second.assert_closed().await;
    let (bytes, _) = download(&mut first, "RETR hello.txt").await;
    assert_eq!(bytes, b"hello, ftp\n");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_a_transfer_finish_and_sends_idle_sessions_421() {
    let folders = folders();
    let big = vec![3u8; 8 * 1024 * 1024];
    std::fs::write(folders.root.path().join("big.bin"), &big).expect("write");
    let mut server = start_ftp(folders.root.path(), |_| {});
    let mut idle = logged_in(server.addr).await;
    let mut busy = logged_in(server.addr).await;
    let data_addr = pasv(&mut busy).await;
    busy.command("RETR big.bin", 150).await;
    let mut data = connect_data(data_addr).await;
    // A first piece arrives: the transfer is under way.
    let mut received = vec![0u8; 1024];
    data.read_exact(&mut received).await.expect("the first KiB");

    server.begin_shutdown();
    idle.expect(421).await;
    idle.assert_closed().await;
    data.read_to_end(&mut received).await.expect("the rest");
    assert_eq!(received.len(), big.len(), "the whole file");
    busy.expect(226).await;
    busy.expect(421).await;
    server.stopped(PATIENCE).await;
}

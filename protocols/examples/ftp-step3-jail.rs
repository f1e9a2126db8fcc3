//! Build it yourself, FTP step 3: tokio, a jail, and deadlines for the second connection.
//!
//! What to notice: step 2 on tokio, with what it got wrong put right.
//! Paths are *virtual* (`/` is `FTP_ROOT`): `..` is resolved in words and
//! can never climb above `/`, and the real path, every link followed
//! (`canonicalize`), must still be inside the folder. `EPSV` names only a
//! port, which works behind NAT and over IPv6. The data connection has its
//! own deadlines (connect within 30 s, every write within 60 s), and only the
//! client that asked may connect to the passive port. Command lines are
//! read through `take`, so they cannot grow past 4 KiB.
//!
//! Checker: passes stages 1-12, then fails stage 13 (`SIZE` and `CDUP` are the
//! lesson's server's).
//!
//! Try it: `FTP_ROOT=protocols/ftp-root cargo run -p protocols --example ftp-step3-jail`,
//! then `curl --path-as-is ftp://127.0.0.1:2121/../Cargo.toml` (refused).

// ANCHOR: all
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// A command line, CRLF included: room for the longest Linux path.
const MAX_COMMAND_LINE: u64 = 4096;
/// The client must connect to the passive port within this long.
const DATA_ACCEPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Each write of a transfer must finish within this long.
const DATA_STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// No command for this long: `421`.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "2121".to_string());
    let root = std::env::var("FTP_ROOT").unwrap_or_else(|_| ".".to_string());
    // Canonical once: absolute, no `..`, no links, to compare paths with.
    let root = Arc::new(Path::new(&root).canonicalize()?);
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on ftp://{}", listener.local_addr()?);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    eprintln!("accept failed: {error}");
                    continue;
                }
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let root = Arc::clone(&root);
        tokio::spawn(async move {
            if let Err(error) = converse(stream, peer, &root).await {
                eprintln!("{peer}: {error}");
            }
        });
    }
}

/// The virtual path `argument` names from the folder `cwd`: `..` stops at `/`.
fn virtual_path(cwd: &str, argument: &str) -> String {
    let start = if argument.starts_with('/') { "" } else { cwd };
    let mut parts: Vec<&str> = Vec::new();
    for part in start.split('/').chain(argument.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The real path of an existing file or folder, if it is inside `root`
/// once every link is followed.
fn resolve(root: &Path, virtual_path: &str) -> Option<PathBuf> {
    let real = root
        .join(virtual_path.trim_start_matches('/'))
        .canonicalize()
        .ok()?;
    real.starts_with(root).then_some(real)
}

async fn converse(stream: TcpStream, peer: SocketAddr, root: &Path) -> std::io::Result<()> {
    let local_ip = stream.local_addr()?.ip();
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    writer.write_all(b"220 step 3 FTP ready\r\n").await?;
    let mut logged_in = false;
    let mut cwd = "/".to_string();
    let mut passive: Option<TcpListener> = None;
    loop {
        let mut line = Vec::new();
        let mut limited = (&mut reader).take(MAX_COMMAND_LINE);
        match timeout(IDLE_TIMEOUT, limited.read_until(b'\n', &mut line)).await {
            Err(_) => {
                writer.write_all(b"421 timed out\r\n").await?;
                return Ok(());
            }
            Ok(read) => read?,
        };
        if !line.ends_with(b"\n") {
            // Closed, or a line over the limit: either way, we are done.
            return Ok(());
        }
        let line = String::from_utf8_lossy(&line);
        let command = line.trim_end_matches(['\r', '\n']);
        let (verb, argument) = command.split_once(' ').unwrap_or((command, ""));
        let path = virtual_path(&cwd, argument);
        let reply = match verb.to_ascii_uppercase().as_str() {
            "USER" if argument == "anonymous" => "331 any password will do".to_string(),
            "USER" => "530 only anonymous".to_string(),
            "PASS" => {
                logged_in = true;
                "230 logged in".to_string()
            }
            "SYST" => "215 UNIX Type: L8".to_string(),
            "QUIT" => {
                writer.write_all(b"221 goodbye\r\n").await?;
                return Ok(());
            }
            _ if !logged_in => "530 log in first".to_string(),
            "PWD" => format!("257 \"{cwd}\""),
            "TYPE" => "200 type set".to_string(),
            "CWD" => match resolve(root, &path) {
                Some(real) if real.is_dir() => {
                    cwd = path;
                    format!("250 now in {cwd}")
                }
                _ => "550 no such folder".to_string(),
            },
            "PASV" | "EPSV" => match TcpListener::bind((local_ip, 0))
                .await
                .and_then(|l| Ok((l.local_addr()?.port(), l)))
            {
                Err(error) => format!("425 cannot open a port: {error}"),
                Ok((port, listener)) => {
                    passive = Some(listener);
                    match (verb.to_ascii_uppercase().as_str(), local_ip) {
                        ("PASV", IpAddr::V4(ip)) => {
                            let [a, b, c, d] = ip.octets();
                            format!(
                                "227 Entering Passive Mode ({a},{b},{c},{d},{},{})",
                                port >> 8,
                                port & 0xff
                            )
                        }
                        ("PASV", _) => "425 PASV is for IPv4; use EPSV".to_string(),
                        _ => format!("229 Entering Extended Passive Mode (|||{port}|)"),
                    }
                }
            },
            "LIST" | "NLST" | "RETR" => {
                let content = match resolve(root, &path) {
                    None => Err("550 no such file, or not yours to see".to_string()),
                    Some(real) if verb.eq_ignore_ascii_case("RETR") => tokio::fs::read(&real)
                        .await
                        .map_err(|_| "550 not a readable file".to_string()),
                    Some(real) => list(root, &real).map_err(|_| "550 not a folder".to_string()),
                };
                match (content, passive.take()) {
                    (Err(reply), _) => reply,
                    (Ok(_), None) => "425 use PASV or EPSV first".to_string(),
                    (Ok(content), Some(listener)) => {
                        writer
                            .write_all(b"150 opening the data connection\r\n")
                            .await?;
                        send(listener, peer.ip(), &content).await
                    }
                }
            }
            _ => "502 not implemented".to_string(),
        };
        writer.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}

/// Accepts the client's data connection (from its own address only, within
/// the deadline), sends `content`, closes; returns the final reply.
async fn send(listener: TcpListener, client: IpAddr, content: &[u8]) -> String {
    let accept = async {
        loop {
            match listener.accept().await {
                Ok((data, from)) if from.ip() == client => return Ok(data),
                Ok((_, from)) => eprintln!("refused a data connection from {from}"),
                Err(error) => return Err(error),
            }
        }
    };
    let mut data = match timeout(DATA_ACCEPT_TIMEOUT, accept).await {
        Ok(Ok(data)) => data,
        _ => return "425 no data connection".to_string(),
    };
    for piece in content.chunks(64 * 1024) {
        match timeout(DATA_STALL_TIMEOUT, data.write_all(piece)).await {
            Ok(Ok(())) => {}
            _ => return "426 transfer aborted".to_string(),
        }
    }
    let _ = data.shutdown().await;
    format!("226 sent {} bytes", content.len())
}

/// The names in a folder that stay inside `root`, one per line.
fn list(root: &Path, folder: &Path) -> std::io::Result<Vec<u8>> {
    let mut names: Vec<String> = std::fs::read_dir(folder)?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let inside = entry.path().canonicalize().ok()?.starts_with(root);
            inside
                .then(|| entry.file_name().into_string().ok())
                .flatten()
        })
        .collect();
    names.sort();
    Ok(names
        .iter()
        .map(|name| format!("{name}\r\n"))
        .collect::<String>()
        .into_bytes())
}
// ANCHOR_END: all

//! Build it yourself, FTP step 2: the second connection.
//!
//! What to notice: `PASV` opens a new listening socket on a port the OS
//! picks, and tells the client its address as six numbers: the four of the
//! IP address, and the port's high and low byte. The next `LIST`, `NLST`
//! or `RETR` answers `150`, accepts one connection on that port, sends the
//! listing or the file, *closes* it (the close is the end of the file), and
//! answers `226` on the control connection. `CWD` moves between folders of
//! `FTP_ROOT` (default: the current folder).
//!
//! A shortcut, on purpose (step 3 removes it): paths are joined to the
//! folder as the client wrote them, `..` included.
//!
//! Checker: passes stages 1-9, then fails stage 10 (no `EPSV`: step 3).
//!
//! Try it: `FTP_ROOT=protocols/ftp-root cargo run -p protocols --example ftp-step2-passive`,
//! then `curl ftp://127.0.0.1:2121/` and `curl ftp://127.0.0.1:2121/README.txt`.

// ANCHOR: all
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "2121".to_string());
    let root = PathBuf::from(std::env::var("FTP_ROOT").unwrap_or_else(|_| ".".to_string()));
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on ftp://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let root = root.clone();
        std::thread::spawn(move || {
            if let Err(error) = converse(stream, root) {
                eprintln!("connection ended: {error}");
            }
        });
    }
    Ok(())
}

fn converse(stream: TcpStream, root: PathBuf) -> std::io::Result<()> {
    let local_ip = stream.local_addr()?.ip();
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    writer.write_all(b"220 step 2 FTP ready\r\n")?;
    let mut logged_in = false;
    let mut cwd = root.clone();
    // The port opened by PASV, waiting for the next transfer.
    let mut passive: Option<TcpListener> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let (verb, argument) = command.split_once(' ').unwrap_or((command, ""));
        let reply = match verb.to_ascii_uppercase().as_str() {
            "USER" if argument == "anonymous" => "331 any password will do".to_string(),
            "USER" => "530 only anonymous".to_string(),
            "PASS" => {
                logged_in = true;
                "230 logged in".to_string()
            }
            "SYST" => "215 UNIX Type: L8".to_string(),
            "QUIT" => {
                writer.write_all(b"221 goodbye\r\n")?;
                return Ok(());
            }
            _ if !logged_in => "530 log in first".to_string(),
            "PWD" => format!(
                "257 \"/{}\"",
                cwd.strip_prefix(&root).unwrap_or(&cwd).display()
            ),
            "TYPE" => "200 type set".to_string(),
            "CWD" if cwd.join(argument).is_dir() => {
                cwd = cwd.join(argument); // the shortcut: `..` climbs out of FTP_ROOT
                "250 folder changed".to_string()
            }
            "CWD" => "550 no such folder".to_string(),
            "PASV" => match pasv(local_ip) {
                Ok((listener, reply)) => {
                    passive = Some(listener);
                    reply
                }
                Err(error) => format!("425 cannot open a port: {error}"),
            },
            "LIST" | "NLST" | "RETR" => {
                let Some(listener) = passive.take() else {
                    writer.write_all(b"425 use PASV first\r\n")?;
                    continue;
                };
                let content = match verb.to_ascii_uppercase().as_str() {
                    "RETR" => std::fs::read(cwd.join(argument)),
                    _ => list(&cwd.join(argument)),
                };
                match content {
                    Err(error) => format!("550 {error}"),
                    Ok(content) => {
                        writer.write_all(b"150 opening the data connection\r\n")?;
                        let (mut data, _) = listener.accept()?;
                        data.write_all(&content)?;
                        drop(data); // the close tells the client the file ended
                        format!("226 sent {} bytes", content.len())
                    }
                }
            }
            _ => "502 not implemented".to_string(),
        };
        writer.write_all(format!("{reply}\r\n").as_bytes())?;
    }
}

/// Opens a port for the next transfer; the reply names it (RFC 959 4.1.2).
fn pasv(local_ip: IpAddr) -> std::io::Result<(TcpListener, String)> {
    let IpAddr::V4(ip) = local_ip else {
        return Err(std::io::Error::other("PASV is for IPv4"));
    };
    let listener = TcpListener::bind((ip, 0))?;
    let port = listener.local_addr()?.port();
    let [a, b, c, d] = ip.octets();
    let reply = format!(
        "227 Entering Passive Mode ({a},{b},{c},{d},{},{})",
        port >> 8,
        port & 0xff
    );
    Ok((listener, reply))
}

/// The names in a folder, one per line: what `NLST` sends (and, here, `LIST`).
fn list(folder: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let mut names: Vec<String> = std::fs::read_dir(folder)?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names
        .iter()
        .map(|name| format!("{name}\r\n"))
        .collect::<String>()
        .into_bytes())
}
// ANCHOR_END: all

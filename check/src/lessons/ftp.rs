//! `cargo run -p check -- ftp ADDR`: lesson 6's FTP stages: what an anonymous, read-only FTP server must do (RFC 959).
//!
//! What to notice: the checker is an FTP client with two kinds of
//! connection, as every FTP client has. The control connection is a
//! conversation of numbered replies (SMTP's, in `conversation.rs`); each
//! listing and each file comes on a second connection, to the port the
//! server names in its `227` (PASV) or `229` (EPSV) reply, and ends when the
//! server closes it. The server must serve the lesson's sample folder,
//! `protocols/ftp-root` (`FTP_ROOT=protocols/ftp-root`), read-only: the
//! stages know its names and one file's bytes. They follow the build-along
//! (`docs/src/ftp-build.md`): the control connection (1-4), the second
//! connection (5-9), then what a real server adds (10-14).

// A stage's `Failure` is its report, four strings: it is made at most once
// per stage, so its size costs nothing, and the helpers that check a part of
// a stage return it as the stages do.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::conversation::{Conversation, Reply};
use crate::escape::show;
use crate::runner::{Failure, Stage};
use crate::target::Target;
use crate::tcp::{self, ReplyEnd};

/// The stages, in order.
pub const STAGES: &[Stage<Target>] = &[
    Stage {
        name: "greeting: 220",
        check: |target| Box::pin(greeting(target)),
    },
    Stage {
        name: "anonymous login",
        check: |target| Box::pin(anonymous_login(target)),
    },
    Stage {
        name: "SYST, PWD and TYPE",
        check: |target| Box::pin(syst_pwd_type(target)),
    },
    Stage {
        name: "QUIT",
        check: |target| Box::pin(quit(target)),
    },
    Stage {
        name: "CWD",
        check: |target| Box::pin(cwd(target)),
    },
    Stage {
        name: "PASV: a second connection",
        check: |target| Box::pin(pasv(target)),
    },
    Stage {
        name: "NLST and LIST",
        check: |target| Box::pin(nlst_and_list(target)),
    },
    Stage {
        name: "RETR, byte for byte in binary mode",
        check: |target| Box::pin(retr(target)),
    },
    Stage {
        name: "2 clients at once",
        check: |target| Box::pin(two_clients(target)),
    },
    Stage {
        name: "EPSV",
        check: |target| Box::pin(epsv(target)),
    },
    Stage {
        name: "no path leaves the folder",
        check: |target| Box::pin(jail(target)),
    },
    Stage {
        name: "STOR refused: read-only",
        check: |target| Box::pin(stor_refused(target)),
    },
    Stage {
        name: "SIZE",
        check: |target| Box::pin(size(target)),
    },
    Stage {
        name: "CDUP",
        check: |target| Box::pin(cdup(target)),
    },
];

/// The names at the top of the sample folder, `protocols/ftp-root`.
pub const ROOT_NAMES: [&str; 2] = ["README.txt", "plants"];

/// The names in its folder `plants`.
pub const PLANT_NAMES: [&str; 3] = ["basil.txt", "mint.txt", "rosemary.txt"];

/// `plants/mint.txt`, byte for byte: a file with a line feed, which a
/// server converting line ends in binary mode would change.
pub const MINT: &[u8] = b"Mint: spreads everywhere; keep it in a pot.\n";

/// A listing or a file may be at most this large (the sample folder's are
/// a few hundred bytes).
const MAX_DATA_BYTES: usize = 1024 * 1024;

/// What the checker sends as its password: anonymous FTP asks for an email
/// address, by custom.
const PASSWORD: &str = "checker@example.com";

/// The name stage 12 tries to upload.
const UPLOAD_NAME: &str = "checker-upload.txt";

const GREETING_HINT: &str = "in FTP the server speaks first: as soon as a client connects, \
     write `220 ready\\r\\n`, before reading anything";

const PASSIVE_HINT: &str = "open a new listening socket on a port the OS picks (port 0), on the \
     address the client reached you on, before replying; accept one connection on it for the \
     next transfer";

/// Connects and reads the `220` greeting.
async fn greeted(target: &Target) -> Result<Conversation, Failure> {
    greeted_by(target).await.map(|(ftp, _)| ftp)
}

/// [`greeted`], and the greeting.
async fn greeted_by(target: &Target) -> Result<(Conversation, Reply), Failure> {
    let mut ftp = Conversation::open(target).await?;
    let greeting = ftp.expect_greeting("FTP", GREETING_HINT).await?;
    Ok((ftp, greeting))
}

/// Connects, is greeted, and logs in as `anonymous`.
async fn logged_in(target: &Target) -> Result<Conversation, Failure> {
    let (mut ftp, greeting) = greeted_by(target).await?;
    let user = ftp
        .ask(
            "USER anonymous",
            &[331, 230],
            "`331` (send a password) or `230` (logged in)",
            "anonymous FTP: answer `USER anonymous` with `331 send any password`",
        )
        .await
        .map_err(|mut failure| {
            // SMTP servers greet with `220` too, and say SMTP or ESMTP.
            if greeting.text().to_ascii_uppercase().contains("SMTP") {
                failure.hint = format!(
                    "this is an SMTP server (its greeting says so), not FTP: check it with \
                     `cargo run -p check -- smtp {}`",
                    target.addr()
                );
            }
            failure
        })?;
    if user.code == 331 {
        ftp.ask(
            &format!("PASS {PASSWORD}"),
            &[230, 202],
            "`230`: logged in",
            "after `USER anonymous`, any password logs in: answer `PASS` with `230`",
        )
        .await?;
    }
    Ok(ftp)
}

/// The path in a `257 "/plants" is the current folder` reply (RFC 959
/// section 7: a quote inside the path is doubled).
fn quoted_path(text: &str) -> Option<String> {
    let start = text.find('"')? + 1;
    let mut path = String::new();
    let mut chars = text[start..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if chars.peek() == Some(&'"') => {
                chars.next();
                path.push('"');
            }
            '"' => return Some(path),
            c => path.push(c),
        }
    }
    None
}

/// Sends `PWD` and expects `257 "folder"` naming `folder`.
async fn expect_pwd(ftp: &mut Conversation, folder: &str, hint: &str) -> Result<(), Failure> {
    let expected = format!("`257 \"{folder}\"`");
    let reply = ftp.ask("PWD", &[257], &expected, hint).await?;
    let path = quoted_path(reply.text());
    let trimmed = path.as_deref().map(|path| {
        if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        }
    });
    match trimmed {
        Some(path) if path == folder => Ok(()),
        Some(_) => Err(ftp.failure(expected, reply.describe(), hint)),
        None => Err(ftp.failure(
            expected,
            reply.describe(),
            "put the folder in double quotes: `257 \"/\" is the current folder` (RFC 959 section 7)",
        )),
    }
}

/// The six numbers of a `227` reply, `h1,h2,h3,h4,p1,p2`, as an address.
pub fn parse_pasv(text: &str) -> Option<SocketAddr> {
    let bytes = text.as_bytes();
    (0..bytes.len())
        .filter(|&at| bytes[at].is_ascii_digit() && (at == 0 || !bytes[at - 1].is_ascii_digit()))
        .find_map(|at| {
            let numbers: Vec<u8> = text[at..]
                .split(',')
                .take(6)
                .enumerate()
                .map_while(|(index, part)| {
                    // The last number ends where its digits do: `...,217)`.
                    let digits = if index == 5 {
                        let end = part
                            .find(|c: char| !c.is_ascii_digit())
                            .unwrap_or(part.len());
                        &part[..end]
                    } else {
                        part
                    };
                    digits.parse::<u8>().ok()
                })
                .collect();
            let [a, b, c, d, high, low] = numbers[..] else {
                return None;
            };
            let port = u16::from(high) << 8 | u16::from(low);
            Some(SocketAddr::from(([a, b, c, d], port)))
        })
}

/// The port of a `229 Entering Extended Passive Mode (|||46553|)` reply
/// (RFC 2428 section 3: the delimiter may be any character, `|` by custom).
pub fn parse_epsv(text: &str) -> Option<u16> {
    let inside = &text[text.find('(')? + 1..];
    let mut chars = inside.chars();
    let delimiter = chars.next()?;
    if chars.next()? != delimiter || chars.next()? != delimiter {
        return None;
    }
    let rest = chars.as_str();
    let (port, after) = rest.split_once(delimiter)?;
    after.starts_with(')').then_some(())?;
    port.parse().ok().filter(|&port| port != 0)
}

/// Sends `PASV` and checks the address it names: the one this connection
/// reached.
async fn ask_pasv(ftp: &mut Conversation) -> Result<SocketAddr, Failure> {
    let reply = ftp
        .ask(
            "PASV",
            &[227],
            "`227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`",
            PASSIVE_HINT,
        )
        .await?;
    let Some(named) = parse_pasv(reply.text()) else {
        return Err(ftp.failure(
            "`227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`: the address's four numbers, the port's high and low byte",
            reply.describe(),
            "write the address and the port as six numbers: port 46553 is 181,217 (181 * 256 + 217)",
        ));
    };
    let server = ftp.server_addr().map(|addr| addr.ip());
    if server != Some(named.ip()) {
        let reached = server
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "?".into());
        return Err(ftp.failure(
            format!("`227` naming {reached}, the address the client reached"),
            reply.describe(),
            "name the address the client reached you on (the control connection's local \
             address), not 0.0.0.0 or another interface's: clients connect where PASV says",
        ));
    }
    Ok(named)
}

/// Sends `EPSV` and returns the address to connect to: the server's, with
/// the port it names.
async fn ask_epsv(ftp: &mut Conversation) -> Result<SocketAddr, Failure> {
    let expected = "`229 Entering Extended Passive Mode (|||PORT|)`";
    let hint = "answer EPSV with `229 Entering Extended Passive Mode (|||PORT|)` (RFC 2428): only \
                the port, since the client connects to the address it already reached";
    let reply = ftp.ask("EPSV", &[229], expected, hint).await?;
    epsv_addr(ftp, &reply, expected, hint)
}

fn epsv_addr(
    ftp: &Conversation,
    reply: &Reply,
    expected: &str,
    hint: &str,
) -> Result<SocketAddr, Failure> {
    let (Some(port), Some(server)) = (parse_epsv(reply.text()), ftp.server_addr()) else {
        return Err(ftp.failure(expected, reply.describe(), hint));
    };
    Ok(SocketAddr::new(server.ip(), port))
}

/// A passive port, as curl gets one: `EPSV`, and `PASV` when the server
/// does not know `EPSV` (a `5xx`).
async fn passive(ftp: &mut Conversation) -> Result<SocketAddr, Failure> {
    let expected =
        "`229 Entering Extended Passive Mode (|||PORT|)`, or a `5xx` and then `227` for PASV";
    ftp.send_line("EPSV").await?;
    let reply = ftp
        .expect(&[229, 500, 501, 502, 504], expected, PASSIVE_HINT)
        .await?;
    if reply.code == 229 {
        return epsv_addr(ftp, &reply, expected, PASSIVE_HINT);
    }
    ask_pasv(ftp).await
}

/// Opens the data connection to a passive port.
async fn connect_data(ftp: &Conversation, addr: SocketAddr) -> Result<TcpStream, Failure> {
    match timeout(ftp.timeout(), TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(error)) => Err(ftp.failure(
            format!("a data connection to {addr}, the port the server named"),
            format!("the connection failed: {error}"),
            PASSIVE_HINT,
        )),
        Err(_) => Err(ftp.failure(
            format!("a data connection to {addr}, the port the server named"),
            "no answer to the connection",
            PASSIVE_HINT,
        )),
    }
}

/// One transfer: connect to the passive port at `addr`, send `command`,
/// expect `150`, read the data to its close, expect `226`. Returns the data.
async fn transfer(
    ftp: &mut Conversation,
    addr: SocketAddr,
    command: &str,
) -> Result<Vec<u8>, Failure> {
    let mut data = connect_data(ftp, addr).await?;
    ftp.ask(
        command,
        &[150, 125],
        "`150`: the data comes on the second connection",
        "answer with `150` once the data connection is ready, then send on it",
    )
    .await?;
    let came = tcp::read_to_close(&mut data, MAX_DATA_BYTES, ftp.timeout()).await;
    if !matches!(came.end, ReplyEnd::Closed) {
        return Err(ftp.failure(
            "the data, then the data connection closed: in stream mode the close is the end of the data",
            came.describe(),
            "close the data connection after the last byte (RFC 959 section 3.4.1): that is how the \
             client knows the data ended",
        ));
    }
    ftp.expect(
        &[226, 250],
        "`226`: transfer complete",
        "after the last byte and the close, reply `226` on the control connection",
    )
    .await?;
    Ok(came.bytes)
}

/// Names in an `NLST` listing: a line each, the last part of each path
/// (some servers answer `NLST plants` with `plants/basil.txt`).
fn listed_names(data: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(data)
        .split('\n')
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.is_empty())
        .map(|line| line.rsplit('/').next().unwrap_or(line).to_string())
        .collect()
}

/// Checks a listing names each of `names`.
fn expect_names(
    ftp: &Conversation,
    data: &[u8],
    names: &[&str],
    what: &str,
    hint: &str,
) -> Result<(), Failure> {
    let listed = listed_names(data);
    if names
        .iter()
        .all(|name| listed.iter().any(|line| line == name))
    {
        return Ok(());
    }
    Err(ftp.failure(
        format!("{what}: {}, one per line", names.join(", ")),
        format!("on the data connection: {}", show(data)),
        hint,
    ))
}

/// Sends `command` with a passive port open, and expects a refusal (`4xx`
/// or `5xx`), never the `150` that starts a transfer.
async fn expect_refused(
    ftp: &mut Conversation,
    command: &str,
    expected: &str,
    hint: &str,
) -> Result<Reply, Failure> {
    let addr = passive(ftp).await?;
    let mut data = connect_data(ftp, addr).await?;
    ftp.send_line(command).await?;
    let reply = match ftp.read_reply().await {
        Ok(reply) => reply,
        Err(no_reply) => return Err(ftp.failure(expected, no_reply.got, hint)),
    };
    if (400..600).contains(&reply.code) {
        return Ok(reply);
    }
    let mut got = reply.describe();
    if matches!(reply.code, 100..=199) {
        // Nothing to send (an upload ends at our close): see what comes.
        let _ = data.shutdown().await;
        let came = tcp::read_to_close(&mut data, MAX_DATA_BYTES, ftp.timeout()).await;
        got = format!("{got}, then on the data connection: {}", came.describe());
    }
    Err(ftp.failure(expected, got, hint))
}

/// Stage 1: the server speaks first, with `220`.
async fn greeting(target: &mut Target) -> Result<(), Failure> {
    greeted(target).await.map(drop)
}

/// Stage 2: `USER anonymous`, any password: logged in.
async fn anonymous_login(target: &mut Target) -> Result<(), Failure> {
    logged_in(target).await.map(drop)
}

/// Stage 3: `SYST`, `PWD` at the top (`/`), `TYPE I` and `TYPE A`.
async fn syst_pwd_type(target: &mut Target) -> Result<(), Failure> {
    let mut ftp = logged_in(target).await?;
    ftp.ask(
        "SYST",
        &[215],
        "`215`: the system type",
        "answer SYST with `215 UNIX Type: L8`, as almost every server does (clients expect `ls -l` listings from it)",
    )
    .await?;
    expect_pwd(
        &mut ftp,
        "/",
        "the client sees the served folder as `/`: answer PWD with `257 \"/\"` after login",
    )
    .await?;
    for kind in ["I", "A"] {
        ftp.ask(
            &format!("TYPE {kind}"),
            &[200],
            "`200`",
            "accept `TYPE I` (binary, what curl asks for) and `TYPE A` (text, what Python's ftplib asks for) with `200`",
        )
        .await?;
    }
    Ok(())
}

/// Stage 4: `QUIT` gets `221`, then the server closes.
async fn quit(target: &mut Target) -> Result<(), Failure> {
    let mut ftp = logged_in(target).await?;
    ftp.ask(
        "QUIT",
        &[221],
        "`221`",
        "answer QUIT with `221`, then close the connection",
    )
    .await?;
    ftp.expect_close(
        "the server to close the connection after `221`",
        "after `221`, close the control connection",
    )
    .await
}

/// Stage 5: `CWD plants` moves into the folder, `PWD` says so; a missing
/// folder gets `550`.
async fn cwd(target: &mut Target) -> Result<(), Failure> {
    let mut ftp = logged_in(target).await?;
    ftp.ask(
        "CWD plants",
        &[250],
        "`250`: now in /plants",
        "`CWD NAME` moves into a folder of the current one: check it exists, remember it, answer `250`",
    )
    .await?;
    expect_pwd(
        &mut ftp,
        "/plants",
        "after `CWD plants`, PWD names the new folder: `257 \"/plants\"`",
    )
    .await?;
    ftp.ask(
        "CWD no-such-folder",
        &[550],
        "`550`: no such folder",
        "a folder that does not exist gets `550`, and the current folder stays as it was",
    )
    .await?;
    expect_pwd(
        &mut ftp,
        "/plants",
        "a refused CWD leaves the current folder as it was",
    )
    .await
}

/// Stage 6: `PASV` names a port on the address the client reached; `NLST`
/// comes on a connection to it.
async fn pasv(target: &mut Target) -> Result<(), Failure> {
    let mut ftp = logged_in(target).await?;
    if matches!(ftp.server_addr(), Some(addr) if addr.is_ipv6()) {
        // PASV has room for an IPv4 address only (RFC 2428 section 1).
        ftp.ask(
            "PASV",
            &[421, 425, 500, 501, 502, 504, 522],
            "a refusal: PASV cannot name an IPv6 address",
            "over IPv6 answer PASV with an error (`425 PASV is for IPv4; use EPSV`)",
        )
        .await?;
        return Ok(());
    }
    let addr = ask_pasv(&mut ftp).await?;
    let data = transfer(&mut ftp, addr, "NLST").await?;
    expect_names(
        &ftp,
        &data,
        &ROOT_NAMES,
        "the names at the top of the served folder",
        "NLST sends the current folder's names, one per line (`README.txt\\r\\n`), on the data \
         connection; serve protocols/ftp-root (FTP_ROOT=protocols/ftp-root)",
    )
}

/// Stage 7: `NLST plants` and `LIST plants` name the folder's files.
async fn nlst_and_list(target: &mut Target) -> Result<(), Failure> {
    let mut ftp = logged_in(target).await?;
    let addr = passive(&mut ftp).await?;
    let names = transfer(&mut ftp, addr, "NLST plants").await?;
    expect_names(
        &ftp,
        &names,
        &PLANT_NAMES,
        "the names in /plants",
        "`NLST FOLDER` lists that folder's names, one per line, relative to the current folder",
    )?;
    let addr = passive(&mut ftp).await?;
    let listing = transfer(&mut ftp, addr, "LIST plants").await?;
    let text = String::from_utf8_lossy(&listing);
    let named = |name: &&str| {
        text.lines()
            .any(|line| line.split_ascii_whitespace().last() == Some(name))
    };
    if PLANT_NAMES.iter().all(named) {
        return Ok(());
    }
    Err(ftp.failure(
        "the listing of /plants: a line per file, ending with its name (`ls -l`'s format)",
        format!("on the data connection: {}", show(&listing)),
        "`LIST FOLDER` sends a line per entry, for people: `-rw-r--r-- 1 ftp ftp 44 Jan 01 12:00 mint.txt`",
    ))
}

/// Stage 8: `RETR plants/mint.txt` in `TYPE I` sends its 44 bytes exactly;
/// a missing file gets `550` and no transfer.
async fn retr(target: &mut Target) -> Result<(), Failure> {
    let mut ftp = logged_in(target).await?;
    ftp.ask(
        "TYPE I",
        &[200],
        "`200`",
        "accept `TYPE I` (binary) with `200`",
    )
    .await?;
    let addr = passive(&mut ftp).await?;
    let file = transfer(&mut ftp, addr, "RETR plants/mint.txt").await?;
    if file != MINT {
        let got = tcp::Reply {
            bytes: file,
            end: ReplyEnd::Closed,
        }
        .describe_against(MINT);
        return Err(ftp.failure(
            format!(
                "on the data connection, plants/mint.txt byte for byte: {}",
                show(MINT)
            ),
            got,
            "send the file's bytes as they are on disk: read it as bytes, not text, and change no \
             line end in binary mode (TYPE I)",
        ));
    }
    expect_refused(
        &mut ftp,
        "RETR plants/no-such-file.txt",
        "`550`: no such file",
        "check the file exists before answering `150`: a missing file gets `550`",
    )
    .await?;
    Ok(())
}

/// Stage 9: a client idle in the middle of its session does not hold up
/// another's transfer.
async fn two_clients(target: &mut Target) -> Result<(), Failure> {
    let mut first = logged_in(target).await?;
    let mut second = logged_in(target).await.map_err(|mut failure| {
        failure.sent = format!("client 2, while client 1 is logged in: {}", failure.sent);
        failure.hint =
            "serve each client on its own (a thread or a task per connection): client 2 \
                        waited while client 1 was connected"
                .into();
        failure
    })?;
    let addr = passive(&mut second).await?;
    transfer(&mut second, addr, "RETR plants/mint.txt").await?;
    expect_pwd(
        &mut first,
        "/",
        "each connection has its own session: client 2's commands must not change client 1's",
    )
    .await
}

/// Stage 10: `EPSV` names a port; `NLST plants` comes on a connection to it.
async fn epsv(target: &mut Target) -> Result<(), Failure> {
    let mut ftp = logged_in(target).await?;
    let addr = ask_epsv(&mut ftp).await?;
    let data = transfer(&mut ftp, addr, "NLST plants").await?;
    expect_names(
        &ftp,
        &data,
        &PLANT_NAMES,
        "the names in /plants",
        "`NLST FOLDER` lists that folder's names, one per line",
    )
}

/// Stage 11: `..` never climbs above `/`, `/` is the served folder, and a
/// path out of it is refused.
async fn jail(target: &mut Target) -> Result<(), Failure> {
    let mut ftp = logged_in(target).await?;
    let hint = "resolve `..` in the client's path, and never above `/`: the client's `/` is the \
                served folder, and no path may lead out of it";
    for up in ["CWD ..", "CWD ../../../../../.."] {
        ftp.ask(up, &[250, 550], "`550`, or `250` and still in /", hint)
            .await?;
        expect_pwd(&mut ftp, "/", hint).await?;
    }
    let addr = passive(&mut ftp).await?;
    let listed = transfer(&mut ftp, addr, "NLST").await?;
    expect_names(
        &ftp,
        &listed,
        &ROOT_NAMES,
        "still the names at the top of the served folder",
        hint,
    )?;
    for path in ["../../../../../../../../etc/passwd", "/etc/passwd"] {
        expect_refused(
            &mut ftp,
            &format!("RETR {path}"),
            "`550`: not a file in the served folder",
            hint,
        )
        .await?;
    }
    ftp.ask(
        "CWD /plants",
        &[250],
        "`250`: /plants is the served folder's plants",
        "a path starting with `/` starts at the served folder: `/plants` is FTP_ROOT/plants",
    )
    .await?;
    expect_pwd(&mut ftp, "/plants", hint).await
}

/// Stage 12: `STOR` is refused, since the server is read-only.
async fn stor_refused(target: &mut Target) -> Result<(), Failure> {
    let mut ftp = logged_in(target).await?;
    expect_refused(
        &mut ftp,
        &format!("STOR {UPLOAD_NAME}"),
        "`550` (or another refusal): the folder is read-only",
        "unless FTP_WRITABLE=1, refuse STOR with `550` before any data connection: anonymous \
         users must not write to the folder",
    )
    .await
    .map(drop)
}

/// Stage 13: `SIZE` of a file is its size in bytes; of a folder or a
/// missing file, `550`.
async fn size(target: &mut Target) -> Result<(), Failure> {
    let mut ftp = logged_in(target).await?;
    ftp.ask(
        "TYPE I",
        &[200],
        "`200`",
        "accept `TYPE I` (binary) with `200`",
    )
    .await?;
    let expected = format!("`213 {}`", MINT.len());
    let reply = ftp
        .ask(
            "SIZE plants/mint.txt",
            &[213],
            &expected,
            "answer `SIZE FILE` with `213` and the file's size in bytes (RFC 3659 section 4): curl asks before every download",
        )
        .await?;
    if reply.text().trim() != MINT.len().to_string() {
        return Err(ftp.failure(
            expected,
            reply.describe(),
            "after `213 `, the size in bytes alone, as a decimal number",
        ));
    }
    for path in ["plants", "plants/no-such-file.txt"] {
        ftp.ask(
            &format!("SIZE {path}"),
            &[550],
            "`550`: not a file",
            "SIZE is for files: a folder, or a name that does not exist, gets `550`",
        )
        .await?;
    }
    Ok(())
}

/// Stage 14: `CDUP` goes up one folder, and not above `/`.
async fn cdup(target: &mut Target) -> Result<(), Failure> {
    let mut ftp = logged_in(target).await?;
    ftp.ask(
        "CWD plants",
        &[250],
        "`250`",
        "`CWD NAME` moves into a folder of the current one: answer `250`",
    )
    .await?;
    let hint =
        "CDUP is `CWD ..`: go up one folder and answer `200` (or `250`); at `/`, stay at `/`";
    ftp.ask("CDUP", &[200, 250], "`200`", hint).await?;
    expect_pwd(&mut ftp, "/", hint).await?;
    ftp.ask(
        "CDUP",
        &[200, 250, 550],
        "`200`, or `550`, and still in /",
        hint,
    )
    .await?;
    expect_pwd(&mut ftp, "/", hint).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passive_replies_are_read_in_their_usual_forms() {
        let local = |port| Some(SocketAddr::from(([127, 0, 0, 1], port)));
        assert_eq!(
            parse_pasv("Entering Passive Mode (127,0,0,1,181,217)."),
            local(46553)
        );
        assert_eq!(
            parse_pasv("Entering Passive Mode 127,0,0,1,4,1"),
            local(1025)
        );
        assert_eq!(parse_pasv("=127,0,0,1,0,21"), local(21));
        assert_eq!(parse_pasv("Entering Passive Mode (127,0,0,1,300,1)"), None);
        assert_eq!(parse_pasv("Entering Passive Mode (127,0,0,1)"), None);
        assert_eq!(
            parse_epsv("Entering Extended Passive Mode (|||46553|)"),
            Some(46553)
        );
        assert_eq!(parse_epsv("ok (!!!2121!)"), Some(2121));
        assert_eq!(parse_epsv("(|||46553)"), None);
        assert_eq!(parse_epsv("(||46553|)"), None);
    }

    #[test]
    fn quoted_paths_undouble_their_quotes() {
        assert_eq!(
            quoted_path("\"/\" is the current folder").as_deref(),
            Some("/")
        );
        assert_eq!(
            quoted_path("\"/a \"\"b\"\"\" here").as_deref(),
            Some("/a \"b\"")
        );
        assert_eq!(quoted_path("/plants").as_deref(), None);
    }

    #[test]
    fn listings_give_the_last_part_of_each_path() {
        assert_eq!(
            listed_names(b"plants/basil.txt\r\nmint.txt\n\r\n"),
            ["basil.txt", "mint.txt"]
        );
    }
}

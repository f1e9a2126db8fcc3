//! A deliberately flawed FTP server, for proving the ftp checker fair.
//!
//! One small anonymous, read-only server that passes every stage, serving a
//! copy of the lesson's sample folder made in a temporary folder, and a
//! [`Flaw`] for each stage that breaks exactly that stage with a mistake
//! people really make (a greeting that waits for the client, `0,0,0,0` in
//! `PASV`, line ends changed in binary mode, `..` joined to the folder as
//! it comes, `STOR` taken).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use check::lessons::ftp::{MINT, PLANT_NAMES};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};

/// One mistake; the comment says which stage catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// None: passes every stage.
    None,
    /// Stage 1: waits for the client to speak before greeting (HTTP's order).
    GreetsAfterTheClient,
    /// Stage 2: refuses `USER anonymous`.
    NoAnonymous,
    /// Stage 3: `257 /`, the folder without its quotes.
    PwdWithoutQuotes,
    /// Stage 4: answers `QUIT` with `200`.
    QuitWith200,
    /// Stage 5: `CWD` moves anywhere, even into a folder that does not exist.
    CwdChecksNothing,
    /// Stage 6: `PASV` names 0.0.0.0, the address its socket is bound to.
    PasvNamesAnyAddress,
    /// Stage 7: `NLST` lists the current folder, whatever it is asked.
    NlstIgnoresItsArgument,
    /// Stage 8: sends files with CRLF line ends, even in binary mode.
    RetrChangesLineEnds,
    /// Stage 9: serves one connection at a time.
    OneClientAtATime,
    /// Stage 10: no `EPSV`.
    NoEpsv,
    /// Stage 11: joins the client's path to the folder as it comes, `..` and all.
    NoJail,
    /// Stage 12: takes uploads.
    TakesStor,
    /// Stage 13: answers `SIZE` of a folder too.
    SizeOfFolders,
    /// Stage 14: no `CDUP`.
    NoCdup,
}

/// Every flaw with the stage that must catch it.
pub const FLAWS: &[(Flaw, usize)] = &[
    (Flaw::GreetsAfterTheClient, 1),
    (Flaw::NoAnonymous, 2),
    (Flaw::PwdWithoutQuotes, 3),
    (Flaw::QuitWith200, 4),
    (Flaw::CwdChecksNothing, 5),
    (Flaw::PasvNamesAnyAddress, 6),
    (Flaw::NlstIgnoresItsArgument, 7),
    (Flaw::RetrChangesLineEnds, 8),
    (Flaw::OneClientAtATime, 9),
    (Flaw::NoEpsv, 10),
    (Flaw::NoJail, 11),
    (Flaw::TakesStor, 12),
    (Flaw::SizeOfFolders, 13),
    (Flaw::NoCdup, 14),
];

/// A command line of at most this many bytes.
const MAX_LINE: u64 = 4096;

/// The client must connect to a passive port within this long.
const ACCEPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The served folder: a copy of `protocols/ftp-root`'s names, made here (the
/// checker's tests depend on no lesson, not even on its files), with
/// `plants/mint.txt` byte for byte.
pub fn sample_folder() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(
        root.path().join("README.txt"),
        "A copy of the sample folder.\n",
    )
    .expect("write");
    std::fs::create_dir(root.path().join("plants")).expect("mkdir");
    for name in PLANT_NAMES {
        let bytes: &[u8] = if name == "mint.txt" {
            MINT
        } else {
            b"A plant.\n"
        };
        std::fs::write(root.path().join("plants").join(name), bytes).expect("write");
    }
    root
}

/// Starts a server with `flaw` serving `root` on 127.0.0.1:0.
pub async fn start(flaw: Flaw, root: &Path) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let root = Arc::new(root.canonicalize().expect("the folder exists"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let session = Session::new(flaw, Arc::clone(&root));
            if flaw == Flaw::OneClientAtATime {
                let _ = session.serve(stream).await;
            } else {
                tokio::spawn(session.serve(stream));
            }
        }
    });
    addr
}

/// One client's session.
struct Session {
    flaw: Flaw,
    root: Arc<PathBuf>,
    /// The current folder, as the client sees it (`/plants`).
    cwd: String,
    /// The passive port opened for the next transfer.
    passive: Option<TcpListener>,
}

async fn reply(writer: &mut OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    writer.write_all(format!("{text}\r\n").as_bytes()).await
}

impl Session {
    fn new(flaw: Flaw, root: Arc<PathBuf>) -> Session {
        Session {
            flaw,
            root,
            cwd: "/".into(),
            passive: None,
        }
    }

    /// The client's path `argument`, from the current folder, as a virtual
    /// path: `..` stops at `/` (or, with `NoJail`, is kept as it came).
    fn virtual_path(&self, argument: &str) -> String {
        let start = if argument.starts_with('/') {
            ""
        } else {
            self.cwd.as_str()
        };
        if self.flaw == Flaw::NoJail {
            return format!("{}/{argument}", start.trim_end_matches('/'));
        }
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

    /// The real path of a virtual one.
    fn real(&self, virtual_path: &str) -> PathBuf {
        self.root.join(virtual_path.trim_start_matches('/'))
    }

    async fn serve(mut self, stream: TcpStream) -> std::io::Result<()> {
        let local_ip = stream.local_addr()?.ip();
        let (reader, mut writer) = stream.into_split();
        let mut reader = BufReader::new(reader);
        let mut greeted = false;
        if self.flaw != Flaw::GreetsAfterTheClient {
            reply(&mut writer, "220 flawed FTP ready").await?;
            greeted = true;
        }
        loop {
            let mut line = Vec::new();
            let n = (&mut reader)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)
                .await?;
            if n == 0 {
                return Ok(());
            }
            if !greeted {
                reply(&mut writer, "220 flawed FTP ready").await?;
                greeted = true;
            }
            let line = String::from_utf8_lossy(&line);
            let command = line.trim_end_matches(['\r', '\n']);
            let (verb, argument) = command.split_once(' ').unwrap_or((command, ""));
            let verb = verb.to_ascii_uppercase();
            let text = match verb.as_str() {
                "USER" if self.flaw == Flaw::NoAnonymous => "530 no anonymous users".into(),
                "USER" => "331 any password will do".into(),
                "PASS" => "230 logged in".into(),
                "SYST" => "215 UNIX Type: L8".into(),
                "TYPE" => "200 type set".into(),
                "NOOP" => "200 OK".into(),
                "QUIT" if self.flaw == Flaw::QuitWith200 => "200 bye".into(),
                "QUIT" => {
                    reply(&mut writer, "221 goodbye").await?;
                    return Ok(());
                }
                "PWD" if self.flaw == Flaw::PwdWithoutQuotes => format!("257 {}", self.cwd),
                "PWD" => format!("257 \"{}\" is the current folder", self.cwd),
                "CWD" => self.change_folder(argument),
                "CDUP" if self.flaw == Flaw::NoCdup => "502 not implemented".into(),
                "CDUP" => match self.change_folder("..") {
                    text if text.starts_with("250") => "200 OK".into(),
                    text => text,
                },
                "PASV" => self.open_passive(local_ip, false).await,
                "EPSV" if self.flaw == Flaw::NoEpsv => "502 not implemented".into(),
                "EPSV" => self.open_passive(local_ip, true).await,
                "SIZE" => {
                    let real = self.real(&self.virtual_path(argument));
                    match std::fs::metadata(&real) {
                        Ok(meta) if meta.is_file() || self.flaw == Flaw::SizeOfFolders => {
                            format!("213 {}", meta.len())
                        }
                        _ => "550 not a file".into(),
                    }
                }
                "NLST" | "LIST" | "RETR" | "STOR" => {
                    self.transfer(&verb, argument, &mut writer).await?
                }
                _ => "502 not implemented".into(),
            };
            reply(&mut writer, &text).await?;
        }
    }

    fn change_folder(&mut self, argument: &str) -> String {
        let path = self.virtual_path(argument);
        if self.flaw == Flaw::CwdChecksNothing || self.real(&path).is_dir() {
            self.cwd = path;
            return format!("250 now in {}", self.cwd);
        }
        "550 no such folder".into()
    }

    async fn open_passive(&mut self, local_ip: IpAddr, extended: bool) -> String {
        let bind_ip = if self.flaw == Flaw::PasvNamesAnyAddress {
            IpAddr::from([0, 0, 0, 0])
        } else {
            local_ip
        };
        let listener = match TcpListener::bind((bind_ip, 0)).await {
            Ok(listener) => listener,
            Err(error) => return format!("425 {error}"),
        };
        let port = listener.local_addr().map(|addr| addr.port()).unwrap_or(0);
        self.passive = Some(listener);
        match bind_ip {
            _ if extended => format!("229 Entering Extended Passive Mode (|||{port}|)"),
            IpAddr::V4(ip) => {
                let [a, b, c, d] = ip.octets();
                format!(
                    "227 Entering Passive Mode ({a},{b},{c},{d},{},{})",
                    port >> 8,
                    port & 0xff
                )
            }
            IpAddr::V6(_) => "425 PASV is for IPv4".into(),
        }
    }

    /// A transfer on the passive port; returns the final reply.
    async fn transfer(
        &mut self,
        verb: &str,
        argument: &str,
        writer: &mut OwnedWriteHalf,
    ) -> std::io::Result<String> {
        let argument = if verb == "NLST" && self.flaw == Flaw::NlstIgnoresItsArgument {
            ""
        } else {
            argument
        };
        let real = self.real(&self.virtual_path(argument));
        let content = match verb {
            "STOR" if self.flaw != Flaw::TakesStor => return Ok("550 read-only".into()),
            "STOR" => Vec::new(),
            "RETR" => match std::fs::read(&real) {
                Ok(bytes) if self.flaw == Flaw::RetrChangesLineEnds => {
                    String::from_utf8_lossy(&bytes)
                        .replace('\n', "\r\n")
                        .into_bytes()
                }
                Ok(bytes) => bytes,
                Err(_) => return Ok("550 no such file".into()),
            },
            _ => match list(&real, verb == "LIST") {
                Some(listing) => listing,
                None => return Ok("550 no such folder".into()),
            },
        };
        let Some(listener) = self.passive.take() else {
            return Ok("425 use PASV or EPSV first".into());
        };
        reply(writer, "150 here it comes").await?;
        let Ok(Ok((mut data, _))) = tokio::time::timeout(ACCEPT_TIMEOUT, listener.accept()).await
        else {
            return Ok("425 no data connection".into());
        };
        if verb == "STOR" {
            let mut upload = Vec::new();
            let _ = (&mut data).take(1024 * 1024).read_to_end(&mut upload).await;
        } else if data.write_all(&content).await.is_err() {
            return Ok("426 transfer aborted".into());
        }
        let _ = data.shutdown().await;
        Ok("226 transfer complete".into())
    }
}

/// A folder's names, one per line (`LIST`: with a size in front).
fn list(folder: &Path, long: bool) -> Option<Vec<u8>> {
    let mut names: Vec<(String, u64)> = std::fs::read_dir(folder)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let size = entry.metadata().ok()?.len();
            Some((entry.file_name().into_string().ok()?, size))
        })
        .collect();
    names.sort();
    let lines: String = names
        .iter()
        .map(|(name, size)| match long {
            true => format!("-rw-r--r-- 1 ftp ftp {size} Jan 01 12:00 {name}\r\n"),
            false => format!("{name}\r\n"),
        })
        .collect();
    Some(lines.into_bytes())
}

//! One FTP session: the login, the current folder, and each command carried out.
//!
//! What to notice:
//! - **State lives on the control connection**: who logged in, the current
//!   folder (`CWD`), the transfer type, and the passive port opened for the
//!   next transfer. HTTP keeps none of that between requests; FTP's commands
//!   mean different things depending on what came before.
//! - **A transfer is three replies on the control connection around one data
//!   connection**: `150` (open it now), the bytes on the data connection, then
//!   `226` (done) or a 4xx (failed). The client waits for the last one before
//!   it trusts the file; the close of the data connection alone cannot tell
//!   a whole file from a cut one.
//! - Every path goes through the jail (`paths.rs`) before the file system
//!   sees it, and errors are checked *before* `150`, so a missing file is one
//!   `550` and no data connection at all.
//! - `TYPE A` (text) is accepted but files go byte for byte either way, as
//!   vsftpd does by default: converting line endings would make `SIZE`
//!   depend on the type, and every client today asks for `TYPE I`.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncWrite, BufWriter};
use tokio::time::timeout;
use tracing::{debug, info};

use crate::ftp::command::{Command, parse_command, without_list_options};
use crate::ftp::data_connection::{DataConnection, DataError, DataLimits, PassiveListener};
use crate::ftp::listing::{self, Format, mdtm_time};
use crate::ftp::paths::{Jail, PathError, virtual_path};
use crate::reply::{Reply, ReplyWriter};

/// What every session shares: the served folder and its rules.
#[derive(Debug)]
pub struct FtpSettings {
    /// The served folder.
    pub jail: Jail,
    /// `FTP_WRITABLE=1`: `STOR` is allowed.
    pub writable: bool,
    /// The data connections' bounds.
    pub data: DataLimits,
}

/// Where the login is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Login {
    /// Nothing yet.
    None,
    /// `USER anonymous` accepted; `PASS` next.
    UserGiven,
    /// Logged in.
    LoggedIn,
}

/// What the connection does after a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Read the next command.
    Continue,
    /// The client said `QUIT` (and was answered): close.
    Quit,
}

/// Counts for the connection's "closed" log line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Transfers {
    /// Transfers completed (listings included).
    pub completed: u64,
    /// Bytes sent on data connections.
    pub sent: u64,
    /// Bytes received on data connections.
    pub received: u64,
}

/// Numbers temporary upload files, so two uploads never share one.
static NEXT_UPLOAD: AtomicU64 = AtomicU64::new(1);

/// One session's state.
#[derive(Debug)]
pub struct Session {
    settings: Arc<FtpSettings>,
    /// The address the client reached us on: passive ports open there.
    local_ip: IpAddr,
    /// The client's address: the only one its data connections may come from.
    client_ip: IpAddr,
    login: Login,
    /// The current folder, as a virtual path (`/` is the served folder).
    cwd: String,
    /// The port opened by the last `PASV`/`EPSV`, for the next transfer.
    passive: Option<PassiveListener>,
    /// What was transferred, for the logs.
    pub transfers: Transfers,
}

impl Session {
    /// A new session for a client at `client_ip`, who reached us at `local_ip`.
    pub fn new(settings: Arc<FtpSettings>, local_ip: IpAddr, client_ip: IpAddr) -> Session {
        Session {
            settings,
            local_ip,
            client_ip,
            login: Login::None,
            cwd: "/".to_string(),
            passive: None,
            transfers: Transfers::default(),
        }
    }

    /// The first reply, before the client says anything.
    pub fn greeting(&self) -> Reply {
        let mode = if self.settings.writable {
            "uploads allowed"
        } else {
            "read-only"
        };
        Reply::new(220, format!("netlessons FTP ready (anonymous, {mode})"))
    }

    // ANCHOR: handle
    /// Carries out one command line: queues its replies on `replies`, and
    /// for a transfer also sends the `150` and moves the bytes.
    pub async fn handle<W: AsyncWrite + Unpin>(
        &mut self,
        line: &[u8],
        replies: &mut ReplyWriter<W>,
    ) -> io::Result<Flow> {
        let Some(command) = parse_command(line) else {
            replies.push(&Reply::new(501, "commands and file names must be UTF-8"));
            return Ok(Flow::Continue);
        };
        let allowed_before_login = matches!(
            command,
            Command::User(_)
                | Command::Pass
                | Command::Quit
                | Command::Syst
                | Command::Feat
                | Command::Opts(_)
                | Command::Help
                | Command::Noop
                | Command::Unknown
                | Command::NotImplemented(_)
        );
        if self.login != Login::LoggedIn && !allowed_before_login {
            replies.push(&Reply::new(530, "log in first: USER anonymous"));
            return Ok(Flow::Continue);
        }
        let reply = match command {
            Command::User(name) => self.user(name),
            Command::Pass => self.pass(),
            Command::Quit => {
                replies.push(&Reply::new(221, "goodbye"));
                return Ok(Flow::Quit);
            }
            Command::Syst => Reply::new(215, "UNIX Type: L8"),
            Command::Feat => Reply::new(
                211,
                "Extensions supported:\n EPSV\n MDTM\n PASV\n SIZE\n UTF8\nEnd",
            ),
            Command::Opts(option) if option.eq_ignore_ascii_case("UTF8 ON") => {
                Reply::new(200, "UTF-8 is always on")
            }
            Command::Opts(_) => Reply::new(501, "the only option is UTF8 ON"),
            Command::Help => Reply::new(
                214,
                "commands: USER PASS SYST FEAT PWD CWD CDUP TYPE PASV EPSV LIST NLST RETR STOR SIZE MDTM NOOP QUIT\n\
                 files move on a second connection: PASV or EPSV first, then LIST, RETR or STOR",
            ),
            Command::Noop => Reply::new(200, "OK"),
            Command::Pwd => Reply::new(
                257,
                format!(
                    "\"{}\" is the current folder",
                    self.cwd.replace('"', "\"\"")
                ),
            ),
            Command::Cwd(path) => self.cwd(path),
            Command::Cdup => self.cwd(".."),
            Command::Type(kind) => transfer_type(kind),
            Command::Mode(mode) if mode.eq_ignore_ascii_case("S") => {
                Reply::new(200, "mode S (stream)")
            }
            Command::Mode(_) => Reply::new(504, "only MODE S (stream) is implemented"),
            Command::Stru(structure) if structure.eq_ignore_ascii_case("F") => {
                Reply::new(200, "structure F (file)")
            }
            Command::Stru(_) => Reply::new(504, "only STRU F (file) is implemented"),
            Command::Pasv => self.pasv().await,
            Command::Epsv(argument) => self.epsv(argument).await,
            Command::Size(path) => self.size(path),
            Command::Mdtm(path) => self.mdtm(path),
            Command::List(argument) => self.list(argument, Format::Long, replies).await?,
            Command::Nlst(argument) => self.list(argument, Format::Names, replies).await?,
            Command::Retr(path) => self.retr(path, replies).await?,
            Command::Stor(path) => self.stor(path, replies).await?,
            Command::Abor => Reply::new(225, "no transfer in progress"),
            Command::Allo => Reply::new(202, "no storage allocation needed"),
            Command::Active => Reply::new(
                502,
                "active mode (PORT, EPRT) is not supported: the server would have to connect back \
                 to you, which firewalls and NAT prevent; use passive mode (PASV or EPSV)",
            ),
            Command::NotImplemented(verb) => {
                Reply::new(502, format!("{verb} is not implemented here"))
            }
            Command::Unknown => Reply::new(500, "command not recognized"),
        };
        replies.push(&reply);
        Ok(Flow::Continue)
    }
    // ANCHOR_END: handle

    /// `USER`: only anonymous logins.
    fn user(&mut self, name: &str) -> Reply {
        if name.eq_ignore_ascii_case("anonymous") || name.eq_ignore_ascii_case("ftp") {
            self.login = Login::UserGiven;
            Reply::new(
                331,
                "anonymous login: send any password (your email address, by custom)",
            )
        } else {
            self.login = Login::None;
            Reply::new(530, "only anonymous login here: USER anonymous")
        }
    }

    /// `PASS`: any password completes an anonymous login.
    fn pass(&mut self) -> Reply {
        match self.login {
            Login::None => Reply::new(503, "send USER first"),
            Login::LoggedIn => Reply::new(230, "already logged in"),
            Login::UserGiven => {
                self.login = Login::LoggedIn;
                if self.settings.writable {
                    Reply::new(230, "logged in; uploads allowed")
                } else {
                    Reply::new(230, "logged in; read-only")
                }
            }
        }
    }

    /// `CWD` and `CDUP`.
    fn cwd(&mut self, argument: &str) -> Reply {
        let path = virtual_path(&self.cwd, argument);
        match self.settings.jail.resolve(&path) {
            Ok(real) if real.is_dir() => {
                self.cwd = path;
                Reply::new(250, format!("now in {}", self.cwd))
            }
            Ok(_) => Reply::new(550, format!("{path}: not a folder")),
            Err(error) => path_error(&path, &error),
        }
    }

    // ANCHOR: pasv
    /// `PASV`: open a port and give its address as six numbers: the four of
    /// the IPv4 address and the port's high and low byte (RFC 959 section 4.1.2).
    async fn pasv(&mut self) -> Reply {
        let IpAddr::V4(ip) = self.local_ip else {
            return Reply::new(425, "PASV cannot name an IPv6 address: use EPSV");
        };
        let port = match self.open_passive().await {
            Ok(port) => port,
            Err(reply) => return reply,
        };
        let [a, b, c, d] = ip.octets();
        let (high, low) = (port >> 8, port & 0xff);
        Reply::new(
            227,
            format!("Entering Passive Mode ({a},{b},{c},{d},{high},{low})"),
        )
    }

    /// `EPSV`: the same, with only the port: the client connects to the
    /// address it already reached us on (RFC 2428 section 3).
    async fn epsv(&mut self, argument: &str) -> Reply {
        if argument.eq_ignore_ascii_case("ALL") {
            return Reply::new(
                200,
                "EPSV ALL: fine, passive mode only (it is the only one here)",
            );
        }
        if !matches!(argument, "" | "1" | "2") {
            return Reply::new(501, "EPSV takes no argument, 1, 2 or ALL");
        }
        match self.open_passive().await {
            Ok(port) => Reply::new(229, format!("Entering Extended Passive Mode (|||{port}|)")),
            Err(reply) => reply,
        }
    }
    // ANCHOR_END: pasv

    /// Opens the passive port for the next transfer, closing any earlier one.
    async fn open_passive(&mut self) -> Result<u16, Reply> {
        self.passive = None;
        let listener = PassiveListener::open(self.local_ip, self.client_ip)
            .await
            .and_then(|listener| Ok((listener.local_addr()?, listener)));
        match listener {
            Ok((addr, listener)) => {
                debug!(%addr, "passive port open");
                self.passive = Some(listener);
                Ok(addr.port())
            }
            Err(error) => {
                info!(%error, "cannot open a passive port");
                Err(Reply::new(425, "cannot open a data port"))
            }
        }
    }

    /// `SIZE`: a plain file's size in bytes.
    fn size(&self, argument: &str) -> Reply {
        match self.existing_file(argument) {
            Ok((_, metadata)) => Reply::new(213, metadata.len().to_string()),
            Err(reply) => reply,
        }
    }

    /// `MDTM`: a plain file's modification time.
    fn mdtm(&self, argument: &str) -> Reply {
        match self.existing_file(argument) {
            Ok((_, metadata)) => match metadata.modified() {
                Ok(modified) => Reply::new(213, mdtm_time(modified)),
                Err(_) => Reply::new(550, "modification time unknown"),
            },
            Err(reply) => reply,
        }
    }

    /// `LIST` and `NLST`: the listing goes on a data connection.
    async fn list<W: AsyncWrite + Unpin>(
        &mut self,
        argument: &str,
        format: Format,
        replies: &mut ReplyWriter<W>,
    ) -> io::Result<Reply> {
        let path = virtual_path(&self.cwd, without_list_options(argument));
        let real = match self.settings.jail.resolve(&path) {
            Ok(real) => real,
            Err(error) => return Ok(path_error(&path, &error)),
        };
        let Some(passive) = self.passive.take() else {
            return Ok(no_passive());
        };
        let settings = Arc::clone(&self.settings);
        let listing =
            tokio::task::spawn_blocking(move || listing::list(&settings.jail, &real, format)).await;
        let listing = match listing {
            Ok(Ok(listing)) => listing,
            Ok(Err(error)) => {
                debug!(%error, ?path, "cannot list");
                return Ok(Reply::new(450, format!("{path}: cannot be listed now")));
            }
            Err(error) => return Err(io::Error::other(error)),
        };
        self.begin_transfer(replies, format!("here comes the listing of {path}"))
            .await?;
        let sent = match passive.accept(self.settings.data).await {
            Ok(data) => data.send_bytes(&listing.bytes).await,
            Err(error) => Err(error),
        };
        Ok(match sent {
            Ok(()) => {
                self.transfers.completed += 1;
                self.transfers.sent += listing.bytes.len() as u64;
                let cut = if listing.cut {
                    " (cut: the folder holds more)"
                } else {
                    ""
                };
                Reply::new(
                    226,
                    format!("listing sent: {} entries{cut}", listing.entries),
                )
            }
            Err(error) => failed(&error),
        })
    }

    // ANCHOR: retr
    /// `RETR`: a file, sent on a data connection.
    async fn retr<W: AsyncWrite + Unpin>(
        &mut self,
        argument: &str,
        replies: &mut ReplyWriter<W>,
    ) -> io::Result<Reply> {
        let (real, metadata) = match self.existing_file(argument) {
            Ok(found) => found,
            Err(reply) => return Ok(reply),
        };
        let Some(passive) = self.passive.take() else {
            return Ok(no_passive());
        };
        let file = match tokio::fs::File::open(&real).await {
            Ok(file) => file,
            Err(error) => {
                debug!(%error, path = ?real, "cannot open");
                return Ok(Reply::new(550, "the file cannot be opened"));
            }
        };
        let path = virtual_path(&self.cwd, argument);
        self.begin_transfer(
            replies,
            format!("sending {path} ({} bytes)", metadata.len()),
        )
        .await?;
        let sent = match passive.accept(self.settings.data).await {
            Ok(data) => data.send_from(file).await,
            Err(error) => Err(error),
        };
        Ok(match sent {
            Ok(bytes) => {
                self.transfers.completed += 1;
                self.transfers.sent += bytes;
                info!(?path, bytes, "file sent");
                Reply::new(226, format!("transfer complete: {bytes} bytes"))
            }
            Err(error) => failed(&error),
        })
    }
    // ANCHOR_END: retr

    // ANCHOR: stor
    /// `STOR`: a file received on a data connection, written under a hidden
    /// name and renamed into place once complete, so no one ever sees
    /// half an upload.
    async fn stor<W: AsyncWrite + Unpin>(
        &mut self,
        argument: &str,
        replies: &mut ReplyWriter<W>,
    ) -> io::Result<Reply> {
        if !self.settings.writable {
            return Ok(Reply::new(
                550,
                "read-only: the server runs without FTP_WRITABLE=1",
            ));
        }
        if argument.is_empty() {
            return Ok(Reply::new(501, "STOR needs a file name"));
        }
        let path = virtual_path(&self.cwd, argument);
        let target = match self.settings.jail.resolve_new(&path) {
            Ok(target) if target.is_dir() => {
                return Ok(Reply::new(550, format!("{path}: is a folder")));
            }
            Ok(target) => target,
            Err(PathError::BadName) => return Ok(Reply::new(553, "file name not allowed")),
            Err(error) => return Ok(path_error(&path, &error)),
        };
        let Some(passive) = self.passive.take() else {
            return Ok(no_passive());
        };
        let temporary = target.with_file_name(format!(
            ".upload-{}-{}.tmp",
            std::process::id(),
            NEXT_UPLOAD.fetch_add(1, Ordering::Relaxed)
        ));
        let file = match tokio::fs::File::create_new(&temporary).await {
            Ok(file) => file,
            Err(error) => {
                debug!(%error, path = ?temporary, "cannot create");
                return Ok(Reply::new(550, "cannot create the file here"));
            }
        };
        self.begin_transfer(replies, format!("ready to receive {path}"))
            .await?;
        let received = self.receive(passive, file).await;
        let stored = match received {
            Ok(bytes) => tokio::fs::rename(&temporary, &target)
                .await
                .map(|()| bytes)
                .map_err(DataError::File),
            Err(error) => Err(error),
        };
        Ok(match stored {
            Ok(bytes) => {
                self.transfers.completed += 1;
                self.transfers.received += bytes;
                info!(?path, bytes, "file stored");
                Reply::new(
                    226,
                    format!("transfer complete: {bytes} bytes stored as {path}"),
                )
            }
            Err(error) => {
                let _ = tokio::fs::remove_file(&temporary).await;
                failed(&error)
            }
        })
    }
    // ANCHOR_END: stor

    /// Accepts the data connection and receives into `file`, flushed to disk.
    async fn receive(
        &self,
        passive: PassiveListener,
        file: tokio::fs::File,
    ) -> Result<u64, DataError> {
        let data: DataConnection = passive.accept(self.settings.data).await?;
        let mut writer = BufWriter::new(file);
        let bytes = data
            .receive_into(&mut writer, self.settings.data.max_upload_bytes)
            .await?;
        writer
            .into_inner()
            .sync_all()
            .await
            .map_err(DataError::File)?;
        Ok(bytes)
    }

    /// Sends `150` at once: the client opens the data connection when it
    /// reads it (not before, for many clients).
    async fn begin_transfer<W: AsyncWrite + Unpin>(
        &self,
        replies: &mut ReplyWriter<W>,
        what: String,
    ) -> io::Result<()> {
        replies.push(&Reply::new(150, what));
        match timeout(self.settings.data.stall_timeout, replies.flush()).await {
            Ok(flushed) => flushed,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client does not read its replies",
            )),
        }
    }

    /// An existing plain file, checked, with its metadata; or the reply
    /// that says why not.
    fn existing_file(
        &self,
        argument: &str,
    ) -> Result<(std::path::PathBuf, std::fs::Metadata), Reply> {
        if argument.is_empty() {
            return Err(Reply::new(501, "which file?"));
        }
        let path = virtual_path(&self.cwd, argument);
        let real = self
            .settings
            .jail
            .resolve(&path)
            .map_err(|error| path_error(&path, &error))?;
        match std::fs::metadata(&real) {
            Ok(metadata) if metadata.is_file() => Ok((real, metadata)),
            Ok(_) => Err(Reply::new(550, format!("{path}: not a plain file"))),
            Err(error) => Err(path_error(&path, &error.into())),
        }
    }
}

/// `TYPE`: A (text) or I (binary); both send bytes as they are.
fn transfer_type(kind: &str) -> Reply {
    let kind = kind.to_ascii_uppercase();
    match kind.as_str() {
        "I" | "L 8" => Reply::new(200, "type set to I (binary)"),
        "A" | "A N" => Reply::new(200, "type set to A (files are still sent byte for byte)"),
        _ => Reply::new(504, "only TYPE A and TYPE I are implemented"),
    }
}

/// `425` for a transfer without a passive port.
fn no_passive() -> Reply {
    Reply::new(
        425,
        "use PASV or EPSV first: files move on a second connection",
    )
}

/// `550` for a path that cannot be used, and why.
fn path_error(path: &str, error: &PathError) -> Reply {
    Reply::new(550, format!("{path}: {error}"))
}

/// The reply for a failed transfer, logged.
fn failed(error: &DataError) -> Reply {
    info!(%error, "transfer failed");
    error.reply()
}

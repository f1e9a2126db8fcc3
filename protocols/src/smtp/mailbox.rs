//! The mailbox: each message accepted is one file in `MAIL_DIR`.
//!
//! What to notice:
//! - **`250` after the final dot is a promise**: from then on the message is
//!   ours to deliver, and the client forgets it (RFC 5321 section 6.1: a
//!   server must not lose a message it accepted, even if it crashes). So the
//!   file is written *and flushed to disk* (`sync_all`) before the reply.
//!   If storing fails, the client hears `451` and keeps the message to try
//!   again later: never a `250` for mail we do not have.
//! - **A reader never sees half a message.** The file is written under a
//!   hidden temporary name and renamed when complete; a rename within one
//!   folder is atomic. Maildir, the format most mail servers store in, does
//!   the same with its `tmp/` and `new/` folders.
//! - **The envelope goes into the file**: `Return-Path:` (the sender, RFC
//!   5321 section 4.4), one `Delivered-To:` per recipient (a `Bcc` recipient
//!   appears nowhere else), and a `Received:` line saying who handed us the
//!   message and when. Each server a message passes adds one on top, which is
//!   how a message's route can be read from its head.
//! - The disk work runs on tokio's blocking-thread pool (`spawn_blocking`),
//!   so that a slow disk stalls this message's reply, not every connection
//!   on the same worker thread.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::smtp::session::{Envelope, SERVER_NAME};

/// Where messages are stored.
#[derive(Debug)]
pub struct Mailbox {
    dir: PathBuf,
    /// Numbers the messages of this run, for their file names.
    next: AtomicU64,
}

/// A message stored.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its id: the file name without `.eml`.
    pub id: String,
    /// Where it is.
    pub path: PathBuf,
}

/// Who handed us a message, for its `Received:` line.
#[derive(Debug, Clone)]
pub struct Sender<'a> {
    /// The name given in `EHLO`/`HELO`.
    pub client_name: &'a str,
    /// The address it connected from.
    pub peer: SocketAddr,
}

impl Mailbox {
    /// Opens `dir` for storing, creating it (and its parents) if needed.
    pub fn open(dir: &Path) -> io::Result<Mailbox> {
        fs::create_dir_all(dir)?;
        // A folder we cannot write to would fail every message with 451;
        // better to say so once, at startup.
        let probe = dir.join(format!(".probe-{}", std::process::id()));
        File::create(&probe)?;
        fs::remove_file(&probe)?;
        Ok(Mailbox {
            dir: dir.to_path_buf(),
            next: AtomicU64::new(1),
        })
    }

    /// The folder messages go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    // ANCHOR: store
    /// Stores `message` with its envelope; returns once it is on disk.
    pub async fn store(
        &self,
        envelope: &Envelope,
        sender: Sender<'_>,
        message: Vec<u8>,
    ) -> io::Result<Stored> {
        let id = self.next_id();
        let head = trace_lines(envelope, &sender, &id);
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            let temporary = dir.join(format!(".{id}.tmp"));
            let path = dir.join(format!("{id}.eml"));
            let write = || -> io::Result<()> {
                // `create_new`: never overwrite anything, even our own.
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&temporary)?;
                file.write_all(&head)?;
                file.write_all(&message)?;
                file.sync_all()?;
                fs::rename(&temporary, &path)
            };
            match write() {
                Ok(()) => Ok(Stored { id, path }),
                Err(error) => {
                    // Best effort: a failed write leaves no half file behind.
                    let _ = fs::remove_file(&temporary);
                    Err(error)
                }
            }
        })
        .await
        .map_err(io::Error::other)?
    }
    // ANCHOR_END: store

    /// A new id: seconds since 1970, this process, and a count, so that two
    /// runs, or two copies, never choose the same name.
    fn next_id(&self) -> String {
        let seconds = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or_default();
        let count = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{seconds}-{}-{count}", std::process::id())
    }
}

/// The lines we put above the message: its envelope and its route.
fn trace_lines(envelope: &Envelope, sender: &Sender<'_>, id: &str) -> Vec<u8> {
    let mut head = format!("Return-Path: <{}>\r\n", envelope.from);
    for to in &envelope.to {
        head.push_str(&format!("Delivered-To: {to}\r\n"));
    }
    // RFC 5322 dates accept "GMT" as a zone, so HTTP's date format fits.
    let date = httpdate::fmt_http_date(SystemTime::now());
    head.push_str(&format!(
        "Received: from {} ({}) by {SERVER_NAME} with ESMTP id {id}; {date}\r\n",
        sender.client_name,
        sender.peer.ip()
    ));
    head.into_bytes()
}

//! A client for line protocols (SMTP, FTP): send a line, read a numbered reply.
//!
//! What to notice: a reply may span several lines (`250-...` then
//! `250 ...`); [`LineClient::reply`] reads up to the line whose fourth
//! character is a space, as every SMTP and FTP client does, and each read
//! has a timeout.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::PATIENCE;

/// A numbered reply.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Its code.
    pub code: u16,
    /// Its lines, each without the code and separator.
    pub lines: Vec<String>,
}

impl Reply {
    /// All of its text, lines joined with `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// One connection to a line-protocol server.
pub struct LineClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl LineClient {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> LineClient {
        let stream = tokio::time::timeout(PATIENCE, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let (reader, writer) = stream.into_split();
        LineClient {
            reader: BufReader::new(reader),
            writer,
        }
    }

    /// Connects and reads the greeting, which must have `code`.
    pub async fn greeted(addr: SocketAddr, code: u16) -> LineClient {
        let mut client = LineClient::connect(addr).await;
        client.expect(code).await;
        client
    }

    /// Sends `line` and CRLF.
    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    /// Sends bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        tokio::time::timeout(PATIENCE, self.writer.write_all(bytes))
            .await
            .expect("send in time")
            .expect("send");
    }

    /// Reads one reply; fails the test on a close or a timeout.
    pub async fn reply(&mut self) -> Reply {
        self.try_reply()
            .await
            .expect("the server closed the connection instead of replying")
    }

    /// Reads one reply; `None` if the server closed the connection first.
    pub async fn try_reply(&mut self) -> Option<Reply> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(PATIENCE, self.reader.read_line(&mut line))
                .await
                .expect("a reply in time")
                .expect("read");
            if n == 0 {
                assert!(
                    lines.is_empty(),
                    "closed in the middle of a reply: {lines:?}"
                );
                return None;
            }
            let line = line
                .strip_suffix("\r\n")
                .unwrap_or_else(|| panic!("a reply line must end with CRLF: {line:?}"));
            // FTP allows middle lines without a code, starting with a space.
            if lines.is_empty() || !line.starts_with(' ') {
                let code: u16 = line
                    .get(..3)
                    .and_then(|code| code.parse().ok())
                    .unwrap_or_else(|| panic!("not a reply line: {line:?}"));
                let last = line.as_bytes().get(3) == Some(&b' ') || line.len() == 3;
                lines.push(line.get(4..).unwrap_or_default().to_string());
                if last {
                    return Some(Reply { code, lines });
                }
            } else {
                lines.push(line.to_string());
            }
        }
    }

    /// Reads a reply that must have `code`.
    pub async fn expect(&mut self, code: u16) -> Reply {
        let reply = self.reply().await;
        assert_eq!(reply.code, code, "expected {code}, got {reply:?}");
        reply
    }

    /// Sends `line` and reads a reply that must have `code`.
    pub async fn command(&mut self, line: &str, code: u16) -> Reply {
        self.send(line).await;
        let reply = self.reply().await;
        assert_eq!(reply.code, code, "{line}: expected {code}, got {reply:?}");
        reply
    }

    /// Waits for the server to close the connection, with nothing more
    /// sent; fails the test otherwise.
    pub async fn assert_closed(&mut self) {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(PATIENCE, self.reader.read_to_end(&mut rest))
            .await
            .expect("the server should close the connection");
        // A reset also means closed.
        if read.is_ok() {
            assert!(
                rest.is_empty(),
                "more after the last reply: {:?}",
                String::from_utf8_lossy(&rest)
            );
        }
    }
}

//! Lesson 6: mail, files and names by hand: SMTP, FTP and DNS.
//!
//! Three protocols older than the web, each a small server here, each run on
//! its own: `cargo run -p protocols --bin smtp`, `--bin ftp`, `--bin dns`.
//! Put side by side with HTTP (lesson 3) they show what the internet's
//! protocols share and where they differ:
//!
//! - **SMTP and FTP are conversations of lines** on a TCP connection, like
//!   HTTP/1.1: the client sends a command line, the server answers with a
//!   three-digit code and some text (`250 OK`, `550 no such file`). The codes
//!   are FTP's, borrowed by SMTP and later by HTTP; so is the idea that the
//!   first digit alone tells a program what happened. Both read lines with
//!   the same reader (`line_reader.rs`) and answer with the same writer
//!   (`reply.rs`).
//! - **FTP opens a second connection** for every file and every listing (the
//!   data connection, `ftp/data_connection.rs`): the reason it fights
//!   firewalls and NAT, and one reason the web chose HTTP instead.
//! - **DNS is a binary request and answer in one UDP datagram** (lesson 2),
//!   with a length-prefixed TCP fallback (lesson 1) for answers too large.
//!   Its messages are bytes with offsets in them, which is where parsers go
//!   wrong: `dns/name.rs` follows compression pointers without ever looping.
//!
//! Each server is built on lessons 1 and 2 as the HTTP lessons are: the
//! settings, the `listening on` line, the accept loop with its connection
//! limit, and the graceful shutdown come from `tcp_echo`; DNS binds its UDP
//! socket with `udp_echo`.
//!
//! Reading order: `smtp/mod.rs` (and down from there), then `ftp/mod.rs`,
//! then `dns/mod.rs`; `line_reader.rs` and `reply.rs` when SMTP first uses
//! them.
//!
//! Try it: `cargo run -p protocols --bin smtp`, then `nc -C 127.0.0.1 2525`
//! and type `EHLO me`.

pub mod dns;
pub mod ftp;
pub mod line_reader;
pub mod reply;
pub mod smtp;

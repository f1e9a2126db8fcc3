//! Every limit the SMTP server enforces, each with its reason and its reply.
//!
//! What to notice: RFC 5321 section 4.5.3 gives most of these numbers as the
//! *least* a server must accept, so that any client that keeps to them is
//! served everywhere. We accept exactly that much, and say so with the reply
//! the RFC names when a client sends more. The message size and the
//! timeouts are settings (`MAX_MESSAGE_BYTES`, `IDLE_TIMEOUT_SECS`), with
//! their defaults here.

use std::time::Duration;

/// Longest command line, CRLF included (RFC 5321 section 4.5.3.1.4: 512
/// octets). Longer: `500 line too long`, and the connection goes on.
pub const MAX_COMMAND_LINE: usize = 512;

/// Longest line of a message, CRLF included (section 4.5.3.1.6: 1000
/// octets). Longer: the message is read to its end and refused with
/// `500 line too long` (section 4.5.3.1.10).
pub const MAX_TEXT_LINE: usize = 1000;

/// Longest mailbox path, `<` and `>` included (section 4.5.3.1.3: 256
/// octets). Longer: `501`.
pub const MAX_PATH: usize = 256;

/// Longest name a client gives in `EHLO` or `HELO`: a domain name has at
/// most 255 octets (RFC 1035 section 2.3.4). Longer: `501`.
pub const MAX_DOMAIN: usize = 255;

/// Most recipients of one message (section 4.5.3.1.8: at least 100 must be
/// accepted). The next one gets `452 too many recipients`, and the client
/// sends the message to the others and tries again later for the rest
/// (section 4.5.3.1.10).
pub const MAX_RECIPIENTS: usize = 100;

/// The largest message by default, after dot-unstuffing, CRLFs included:
/// 10 MiB, which `EHLO` announces as `SIZE 10485760` (RFC 1870). Larger:
/// `552`, at `MAIL FROM` if the client declared its size, else once the
/// message has been read to its end. A message is held in memory until it
/// is stored, so this is also the most memory one connection takes.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// How long the server waits for the next command by default (section
/// 4.5.3.2.7: at least 5 minutes). Then `421` and the connection closes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a whole message may take to arrive after `354`. RFC 5321 gives
/// the client 3 minutes per block of data and 10 to hear our verdict; a
/// total bound on the server's side means a client sending a byte a minute
/// cannot hold a connection (and its buffer) for ever. Then `421`.
pub const DATA_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// After this many failed commands the client is told `421` and
/// disconnected (Postfix's `smtpd_hard_error_limit` is also 20): a program
/// that speaks something else (an HTTP client pointed at the wrong port)
/// is sent away instead of getting an error for every line.
pub const MAX_ERRORS: u32 = 20;

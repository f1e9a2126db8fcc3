//! Every lesson the toolbox checks, found by name: one entry each in
//! [`LESSONS`], one file each beside this one.
//!
//! What to notice: a lesson is a name (the crate's, `tcp-echo`), a line
//! saying what it checks, an example ADDR, and its checker: usually
//! [`Stages`], the lesson's stage table (`tcp_echo.rs`'s `STAGES`) and the
//! context its stages share, run by `runner.rs`. To add a lesson, write
//! `NAME.rs` with its stages and add its entry here; the command line, the
//! help and the usage lines pick it up from the table. A tool that is not a
//! table of stages implements [`Checker`] itself.

pub mod dns;
pub mod ftp;
pub mod http_raw;
pub mod http_server;
pub mod smtp;
pub mod tcp_echo;
pub mod udp_echo;
pub mod ws_chat;

use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;

use crate::runner::{self, Stage, Verdict};
use crate::target::Target;

/// Every lesson, in the book's order.
pub const LESSONS: &[Lesson] = &[
    Lesson {
        name: "tcp-echo",
        about: "lesson 1, a TCP echo server (RFC 862)",
        example_addr: "127.0.0.1:7007",
        checker: &Stages {
            stages: tcp_echo::STAGES,
            context: |target| target,
        },
    },
    Lesson {
        name: "udp-echo",
        about: "lesson 2, a UDP echo server",
        example_addr: "127.0.0.1:7007",
        checker: &Stages {
            stages: udp_echo::STAGES,
            context: udp_echo::UdpClient::new,
        },
    },
    Lesson {
        name: "http-raw",
        about: "lesson 3, an HTTP/1.1 server",
        example_addr: "127.0.0.1:3000",
        checker: &Stages {
            stages: http_raw::STAGES,
            context: crate::http::Target::from,
        },
    },
    Lesson {
        name: "http-server",
        about: "lesson 4, a web app: routes, a JSON API, static files",
        example_addr: "127.0.0.1:4000",
        checker: &Stages {
            stages: http_server::STAGES,
            context: crate::http::Target::from,
        },
    },
    Lesson {
        name: "ws-chat",
        about: "lesson 5, a WebSocket chat",
        example_addr: "127.0.0.1:8080",
        checker: &Stages {
            stages: ws_chat::STAGES,
            context: crate::ws::ChatTarget::new,
        },
    },
    Lesson {
        name: "smtp",
        about: "lesson 6, an SMTP server receiving mail (RFC 5321)",
        example_addr: "127.0.0.1:2525",
        checker: &Stages {
            stages: smtp::STAGES,
            context: |target| target,
        },
    },
    Lesson {
        name: "ftp",
        about: "lesson 6, an anonymous read-only FTP server serving protocols/ftp-root (RFC 959)",
        example_addr: "127.0.0.1:2121",
        checker: &Stages {
            stages: ftp::STAGES,
            context: |target| target,
        },
    },
    Lesson {
        name: "dns",
        about: "lesson 6, an authoritative DNS server for plants.test, UDP and TCP (RFC 1035)",
        example_addr: "127.0.0.1:1053",
        checker: &Stages {
            stages: dns::STAGES,
            context: dns::DnsClient::new,
        },
    },
];

/// The lesson called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Lesson> {
    LESSONS.iter().find(|lesson| lesson.name == name)
}

/// One entry of the table.
pub struct Lesson {
    /// What the learner types: the lesson's crate name.
    pub name: &'static str,
    /// A few words for `--help`: which lesson, what server.
    pub about: &'static str,
    /// An ADDR for the usage line: where the lesson's own server listens.
    pub example_addr: &'static str,
    /// What runs when this lesson is named.
    pub checker: &'static dyn Checker,
}

/// What a lesson's checker returns: how the run ended, or an error writing
/// the report (stdout closed).
pub type RunFuture<'a> = Pin<Box<dyn Future<Output = io::Result<Verdict>> + 'a>>;

/// What the command line can do with a table entry.
pub trait Checker: Sync {
    /// The names of its stages, in order (for `--help`).
    fn stage_names(&self) -> Vec<&'static str>;

    /// Runs on `args`, the command line after LESSON: report lines to `out`,
    /// one-sentence errors to `err`.
    fn run<'a>(
        &'a self,
        lesson: &'a Lesson,
        args: &'a [String],
        out: &'a mut dyn Write,
        err: &'a mut dyn Write,
    ) -> RunFuture<'a>;
}

/// A lesson checked stage by stage: its table of stages, and how to make
/// the context they share from the target.
pub struct Stages<C: 'static> {
    /// The stages, in order.
    pub stages: &'static [Stage<C>],
    /// Makes the stages' context from ADDR, resolved.
    pub context: fn(Target) -> C,
}

impl<C: 'static> Checker for Stages<C> {
    fn stage_names(&self) -> Vec<&'static str> {
        self.stages.iter().map(|stage| stage.name).collect()
    }

    fn run<'a>(
        &'a self,
        lesson: &'a Lesson,
        args: &'a [String],
        out: &'a mut dyn Write,
        err: &'a mut dyn Write,
    ) -> RunFuture<'a> {
        Box::pin(runner::run(
            lesson.name,
            lesson.example_addr,
            args,
            self.stages,
            self.context,
            out,
            err,
        ))
    }
}

//! Test support, not a lesson: what the lessons' tests share.
//!
//! What to notice: none of this is in a lesson's library, so a learner
//! reading `tcp-echo/src` or `http-raw/src` reads only the lesson. Only
//! `[dev-dependencies]` name this crate, and it depends on no lesson: it
//! drives servers from the outside (sockets, processes, the environment).
//! A helper that needs a lesson's types (`start_server(HttpConfig)`) lives
//! beside that lesson's tests, in its `tests/support/`.
//!
//! | module | what a test gets |
//! |---|---|
//! | [`in_process`] | a server task on 127.0.0.1:0 with a shutdown the test triggers |
//! | [`process`] | a lesson's binary run as a learner runs it, its output line by line |
//! | [`redis`] | a `redis-server` of the test's own, killed by its PID |
//! | [`idle_crowd`] | thousands of idle connections, then each asked again |
//! | [`raw_client`] | an HTTP client that sends exact bytes and reads with the checker's reader |
//! | [`tls`] | a throwaway CA, a certificate for localhost, clients that trust it |
//! | [`checker`] | the toolbox's checker run in-process, its report held to what it should say |
//! | [`exercises`] | an exercise is its step with holes marked; its solution fills exactly those |
//! | [`reference`] | every setting a lesson reads has a row on the book's reference page |

pub mod checker;
pub mod exercises;
pub mod idle_crowd;
pub mod in_process;
pub mod process;
pub mod raw_client;
pub mod redis;
pub mod reference;
pub mod tls;

//! The start of every lesson's `main`: refuse bad settings, bind, announce.
//!
//! What to notice: these are promises every lesson keeps, kept in one place
//! (the book's reference page, "What every lesson promises", lists them): a
//! bad setting is one line on stderr and exit status 2; a port in use is one
//! line and exit status 1; the first line on stdout is
//! `listening on SCHEME://IP:PORT` with the port really bound, then a hint of
//! how to try it.

use std::fmt::Display;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;

use tokio::net::TcpListener;

use crate::bind::bind_tcp;

/// Prints `program: error` as the one line on stderr, and gives the exit
/// status for `main` to return: 2 for bad configuration, 1 for the rest.
pub fn fail(program: &str, error: impl Display, status: u8) -> ExitCode {
    eprintln!("{program}: {error}");
    ExitCode::from(status)
}

/// Binds `addr` and announces it: `listening on SCHEME://IP:PORT`, then
/// `try: ` and the `hint` for the address a client on this machine uses.
pub fn listen(
    program: &str,
    scheme: &str,
    addr: SocketAddr,
    hint: impl Fn(SocketAddr) -> String,
) -> Result<TcpListener, ExitCode> {
    let listener = bind_tcp(addr).map_err(|error| fail(program, error, 1))?;
    announce_bound(program, scheme, listener.local_addr(), hint)?;
    Ok(listener)
}

/// Announces a socket just bound, given its `local_addr()`; a socket that
/// cannot say where it is bound is one line and exit status 1.
pub fn announce_bound(
    program: &str,
    scheme: &str,
    bound: std::io::Result<SocketAddr>,
    hint: impl Fn(SocketAddr) -> String,
) -> Result<(), ExitCode> {
    let bound = bound.map_err(|error| {
        fail(
            program,
            format!("cannot read the bound address: {error}"),
            1,
        )
    })?;
    announce(scheme, bound, hint);
    Ok(())
}

/// Prints the first line on stdout, which scripts and tests read, and the
/// "try it" hint.
fn announce(scheme: &str, bound: SocketAddr, hint: impl Fn(SocketAddr) -> String) {
    println!("listening on {scheme}://{bound}");
    println!(
        "try: {}",
        hint(SocketAddr::new(try_it_ip(bound), bound.port()))
    );
}

/// The address to put in a "try it" hint: a server on 0.0.0.0 (every
/// interface) is reached from this machine at 127.0.0.1.
pub fn try_it_ip(addr: SocketAddr) -> IpAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}

//! What holds a TCP port on this machine: the listening sockets (with their
//! bind address and, where the OS tells, their process), the connections
//! they accepted, and the sockets in TIME_WAIT.
//!
//! What to notice: on Linux all of this is plain text under `/proc`.
//! `/proc/net/tcp` and `/proc/net/tcp6` list every TCP socket, one line
//! each: local address and port (in hex), state (`0A` = LISTEN, `06` =
//! TIME_WAIT), and an inode number; `/proc/PID/fd/` holds a link
//! `socket:[INODE]` for each socket a process has open. That is all `ss -ltnp`
//! does. A socket in TIME_WAIT belongs to no process: it is the kernel
//! remembering a closed connection for a minute, and (with `SO_REUSEADDR`,
//! which the lessons set) it does not stop a new server binding the port.
//! A live listener does. Other systems keep this elsewhere; there the doctor
//! says it cannot tell and names the command that can.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

#[cfg(target_os = "linux")]
use super::proc_net;

/// A socket on the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    /// The address and port it is bound to.
    pub local: SocketAddr,
    /// LISTEN or TIME_WAIT.
    pub state: State,
    /// For a listener: connections completed by the kernel and waiting for
    /// the program to `accept` them.
    pub waiting: u32,
    /// The process holding it, when the OS says.
    pub process: Option<Process>,
}

/// The states that matter for "who has this port".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// A live server: bound, listening, accepting (or not).
    Listen,
    /// A connection a server accepted on this port, still open.
    Established,
    /// A closed connection the kernel still remembers.
    TimeWait,
}

/// A process, by id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// Its process id.
    pub pid: u32,
    /// Its command name (`/proc/PID/comm`).
    pub name: String,
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, process {}", self.name, self.pid)
    }
}

/// What the doctor could see on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Every listener, accepted connection and TIME_WAIT socket on the port.
    // Constructed only where the OS lists sockets (Linux, from /proc).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Sockets(Vec<Socket>),
    /// This OS does not say (from here); the command that does.
    CannotTell(String),
}

/// The sockets on local `port`: listeners first.
#[cfg(target_os = "linux")]
pub fn on_port(port: u16) -> Seen {
    let mut sockets = Vec::new();
    let mut inodes = Vec::new();
    let mut tables_read = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        // A kernel without IPv6 has no tcp6: nothing listens there.
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        tables_read += 1;
        for line in text.lines().skip(1) {
            if let Some((socket, inode)) =
                proc_net::parse_line(line).filter(|(s, _)| s.local.port() == port)
            {
                sockets.push(socket);
                inodes.push(inode);
            }
        }
    }
    if tables_read == 0 {
        return Seen::CannotTell(format!(
            "cannot read /proc/net/tcp (is /proc mounted?); `ss -ltnp sport = :{port}` may tell"
        ));
    }
    for (socket, inode) in sockets.iter_mut().zip(inodes) {
        if socket.state == State::Listen {
            socket.process = proc_net::process_holding(inode);
        }
    }
    sockets.sort_by_key(|socket| socket.state != State::Listen);
    Seen::Sockets(sockets)
}

/// The sockets on local `port`: this OS does not show them to the doctor.
#[cfg(not(target_os = "linux"))]
pub fn on_port(port: u16) -> Seen {
    let command = if cfg!(windows) {
        format!(
            "netstat -ano -p tcp | findstr :{port}  (or in PowerShell: Get-NetTCPConnection -LocalPort {port})"
        )
    } else {
        format!("lsof -nP -iTCP:{port}")
    };
    Seen::CannotTell(format!(
        "the doctor reads listening sockets from Linux's /proc only; here, run: {command}"
    ))
}

/// Who can reach a server bound to `ip`, in a learner's words.
pub fn reach(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => "every IPv4 interface: this machine and others",
        IpAddr::V4(v4) if v4.is_loopback() => "loopback only, IPv4: this machine only",
        IpAddr::V6(v6) if v6.is_unspecified() => {
            "every interface, IPv6 and (on Linux, unless the program set IPV6_V6ONLY) IPv4 too"
        }
        IpAddr::V6(v6) if v6.is_loopback() => "loopback only, IPv6 only: this machine only",
        _ => "one interface only: clients must use exactly this address",
    }
}

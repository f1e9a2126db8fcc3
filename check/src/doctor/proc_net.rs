//! Linux's socket table, read as text: `/proc/net/tcp{,6}` for the sockets,
//! `/proc/PID/fd` for the process holding each.
//!
//! What to notice: this is all `ss -ltnp` does. Each line of
//! `/proc/net/tcp` is one socket: local address and port in hex, the state
//! (`0A` LISTEN, `06` TIME_WAIT), the queues (for a listener, the receive
//! queue is how many connections wait to be accepted), and an inode number;
//! a process's `/proc/PID/fd/N` links to `socket:[INODE]` for each socket it
//! holds.

use std::net::{IpAddr, SocketAddr};

use super::listeners::{Process, Socket, State};

/// One line of `/proc/net/tcp{,6}`, if its state is LISTEN, ESTABLISHED or
/// TIME_WAIT:
/// the socket and its inode.
///
/// `   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 12345 ...`
pub fn parse_line(line: &str) -> Option<(Socket, u64)> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let state = match *fields.get(3)? {
        "0A" => State::Listen,
        "01" => State::Established,
        "06" => State::TimeWait,
        _ => return None,
    };
    let local = parse_hex_addr(fields.get(1)?)?;
    let waiting = fields
        .get(4)?
        .split_once(':')
        .and_then(|(_, rx)| u32::from_str_radix(rx, 16).ok())
        .unwrap_or(0);
    let inode = fields.get(9)?.parse().ok()?;
    Some((
        Socket {
            local,
            state,
            waiting,
            process: None,
        },
        inode,
    ))
}

/// `0100007F:0BB8` → 127.0.0.1:3000. The kernel prints the address as
/// 32-bit words in the machine's own byte order, the port in plain hex.
fn parse_hex_addr(field: &str) -> Option<SocketAddr> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let mut bytes = Vec::with_capacity(16);
    for word in addr.as_bytes().chunks(8) {
        let word = u32::from_str_radix(std::str::from_utf8(word).ok()?, 16).ok()?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let ip = match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
        16 => IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The process with a file descriptor on socket `inode`, if the doctor
/// may look (another user's processes are hidden without root).
pub fn process_holding(inode: u64) -> Option<Process> {
    let wanted = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|link| link.as_os_str() == wanted.as_str())
        });
        if holds {
            let name = std::fs::read_to_string(entry.path().join("comm"))
                .map(|name| name.trim().to_string())
                .unwrap_or_else(|_| "?".to_string());
            return Some(Process { pid, name });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_tcp_lines_give_address_state_queue_and_inode() {
        let v4 = "   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000002 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0";
        let (socket, inode) = parse_line(v4).expect("a LISTEN line");
        if cfg!(target_endian = "little") {
            assert_eq!(socket.local, "127.0.0.1:3000".parse().expect("an address"));
        }
        assert_eq!(
            (socket.state, socket.waiting, inode),
            (State::Listen, 2, 4242)
        );

        let v6 = "   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 06 00000000:00000000 03:00000F4F 00000000     0        0 0 3 0000000000000000";
        let (socket, _) = parse_line(v6).expect("a TIME_WAIT line");
        if cfg!(target_endian = "little") {
            assert_eq!(socket.local, "[::1]:8080".parse().expect("an address"));
        }
        assert_eq!(socket.state, State::TimeWait);

        let established = v4.replace(" 0A ", " 01 ");
        let (socket, _) = parse_line(&established).expect("an ESTABLISHED line");
        assert_eq!(socket.state, State::Established);

        let syn_sent = v4.replace(" 0A ", " 02 ");
        assert_eq!(
            parse_line(&syn_sent),
            None,
            "only LISTEN, ESTABLISHED and TIME_WAIT matter"
        );
    }
}

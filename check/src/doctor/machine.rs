//! Where the doctor runs: WSL 2 or a container change who can reach a server.
//!
//! What to notice: both are Linux with a network of its own. WSL 2 is a
//! small virtual machine behind Windows (its kernel's `/proc/version` says
//! "microsoft"); a container has its own loopback, so its `127.0.0.1` is not
//! the host's. Neither can be asked directly, so the doctor reads the clues
//! each leaves (some of the clues `systemd-detect-virt` reads) and says what
//! they mean.

/// What kind of place this is, with the clue that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Windows Subsystem for Linux, version 2 (a VM with NAT by default).
    Wsl2,
    /// WSL 1: Linux calls translated by Windows; one network stack with Windows.
    Wsl1,
    /// A container; the clue (`/.dockerenv`, a cgroup path).
    Container(String),
}

/// Every clue found on this machine (usually none). WSL and containers are
/// Linux; a doctor built for Windows or macOS runs outside them.
#[cfg(not(target_os = "linux"))]
pub fn detect() -> Vec<Place> {
    Vec::new()
}

/// Every clue found on this machine (usually none).
#[cfg(target_os = "linux")]
pub fn detect() -> Vec<Place> {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let mut places = Vec::new();
    if let Some(wsl) = wsl_from_version(&read("/proc/version")) {
        places.push(wsl);
    }
    let container = if std::path::Path::new("/.dockerenv").exists() {
        Some("/.dockerenv exists".to_string())
    } else if std::path::Path::new("/run/.containerenv").exists() {
        Some("/run/.containerenv exists (Podman)".to_string())
    } else {
        container_from_cgroup(&read("/proc/1/cgroup"))
    };
    places.extend(container.map(Place::Container));
    places
}

/// WSL from the kernel's version line: "...-microsoft-standard-WSL2..." on
/// WSL 2, "...-Microsoft..." on WSL 1.
pub fn wsl_from_version(version: &str) -> Option<Place> {
    let lower = version.to_ascii_lowercase();
    if !lower.contains("microsoft") {
        None
    } else if lower.contains("wsl2") || lower.contains("microsoft-standard") {
        Some(Place::Wsl2)
    } else {
        Some(Place::Wsl1)
    }
}

/// A container runtime named in process 1's cgroup paths.
pub fn container_from_cgroup(cgroup: &str) -> Option<String> {
    ["docker", "kubepods", "containerd", "libpod", "lxc"]
        .into_iter()
        .find(|runtime| cgroup.contains(runtime))
        .map(|runtime| format!("/proc/1/cgroup names {runtime}"))
}

/// What `place` means for reaching a server, in a learner's words.
pub fn meaning(place: &Place, port: u16) -> String {
    match place {
        Place::Wsl2 => format!(
            "WSL 2 (a Linux VM behind Windows). Windows programs reach a server here at \
             localhost:{port} thanks to WSL's localhost forwarding; other machines do not, unless \
             you turn on mirrored networking (networkingMode=mirrored in %UserProfile%\\.wslconfig) \
             or forward the port (netsh interface portproxy). A server running on Windows is not \
             at 127.0.0.1 in here, except in mirrored mode."
        ),
        Place::Wsl1 => "WSL 1: Linux and Windows share one network, so 127.0.0.1 is the same \
                        on both sides."
            .to_string(),
        Place::Container(clue) => format!(
            "a container ({clue}). It has its own 127.0.0.1: a server in here bound to 127.0.0.1 \
             cannot be reached from the host. Bind HOST=0.0.0.0 and publish the port \
             (docker run -p {port}:{port}); and a server on the host is not at 127.0.0.1 in here."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_version_lines_tell_wsl_2_from_wsl_1_from_plain_linux() {
        let wsl2 =
            "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) (gcc 11.2.0)";
        let wsl1 = "Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc 5.4.0)";
        let plain = "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)";
        assert_eq!(wsl_from_version(wsl2), Some(Place::Wsl2));
        assert_eq!(wsl_from_version(wsl1), Some(Place::Wsl1));
        assert_eq!(wsl_from_version(plain), None);
    }

    #[test]
    fn cgroup_paths_name_the_container_runtime() {
        assert!(container_from_cgroup("0::/system.slice/docker-4f1c.scope\n").is_some());
        assert!(container_from_cgroup("12:pids:/kubepods/besteffort/pod1\n").is_some());
        assert_eq!(container_from_cgroup("0::/init.scope\n"), None);
    }
}

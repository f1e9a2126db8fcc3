//! Folder listings: `LIST` in the `ls -l` format clients parse, `NLST` as bare names.
//!
//! What to notice:
//! - RFC 959 leaves `LIST`'s format to the server ("the information is
//!   intended for a person"). Every client parses it anyway, so every Unix
//!   server sends what `ls -l` prints: type and permissions, links, owner,
//!   group, size, date, name. `SYST` answering `UNIX Type: L8` tells the
//!   client to expect it. (RFC 3659's `MLSD` later gave machines a format
//!   of their own; this server keeps to `LIST`.)
//! - The date has two forms, as in `ls`: `Jan 05 14:30` for the last six
//!   months, `Jan 05  2019` for older files.
//! - What is not listed: names starting with `.` (as `ls` without `-a`;
//!   unfinished uploads are hidden that way too), names that are not UTF-8
//!   or hold a line break (they cannot be sent as one line), and links
//!   that lead out of the served folder (a client must not even learn of
//!   them).

use std::fs;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use tracing::debug;

use crate::ftp::limits::MAX_LIST_ENTRIES;
use crate::ftp::paths::Jail;

/// `LIST` (long lines) or `NLST` (names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `ls -l` lines.
    Long,
    /// One name per line.
    Names,
}

/// A listing, ready to send.
#[derive(Debug)]
pub struct Listing {
    /// The lines, each ending in CRLF.
    pub bytes: Vec<u8>,
    /// How many entries it holds.
    pub entries: usize,
    /// Whether entries were left out at [`MAX_LIST_ENTRIES`].
    pub cut: bool,
}

/// About six months, as `ls` counts "recent".
const RECENT: Duration = Duration::from_secs(182 * 24 * 3600);

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

// ANCHOR: list
/// Lists `target` (a real, checked path): a folder's entries sorted by
/// name, at most [`MAX_LIST_ENTRIES`], or the one line of a file.
/// Blocking: call it from `spawn_blocking`.
pub fn list(jail: &Jail, target: &Path, format: Format) -> io::Result<Listing> {
    list_at_most(jail, target, format, MAX_LIST_ENTRIES)
}

/// [`list`], with the cap on entries given (tests give a small one).
pub fn list_at_most(
    jail: &Jail,
    target: &Path,
    format: Format,
    max_entries: usize,
) -> io::Result<Listing> {
    let now = SystemTime::now();
    let mut listing = Listing {
        bytes: Vec::new(),
        entries: 0,
        cut: false,
    };
    let metadata = fs::metadata(target)?;
    if !metadata.is_dir() {
        let name = target
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        push_entry(&mut listing, name, &metadata, format, now);
        return Ok(listing);
    }
    let mut names = Vec::new();
    for entry in fs::read_dir(target)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            debug!(name = ?entry.file_name(), "not listed: not UTF-8");
            continue;
        };
        if name.starts_with('.') || name.contains(['\r', '\n']) {
            continue;
        }
        if names.len() >= max_entries {
            listing.cut = true;
            break;
        }
        names.push(name);
    }
    names.sort_unstable();
    for name in names {
        // Follow links, and list only what stays inside the jail.
        let Ok(real) = target.join(&name).canonicalize() else {
            continue; // a dangling link
        };
        if !real.starts_with(jail.root()) {
            debug!(name, "not listed: a link out of the served folder");
            continue;
        }
        if let Ok(metadata) = fs::metadata(&real) {
            push_entry(&mut listing, &name, &metadata, format, now);
        }
    }
    Ok(listing)
}
// ANCHOR_END: list

/// Appends one entry's line.
fn push_entry(
    listing: &mut Listing,
    name: &str,
    metadata: &fs::Metadata,
    format: Format,
    now: SystemTime,
) {
    listing.entries += 1;
    if format == Format::Names {
        listing.bytes.extend_from_slice(name.as_bytes());
        listing.bytes.extend_from_slice(b"\r\n");
        return;
    }
    let kind = if metadata.is_dir() { 'd' } else { '-' };
    let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let line = format!(
        "{kind}{} 1 ftp ftp {:>12} {} {name}\r\n",
        permissions(mode_of(metadata)),
        metadata.len(),
        ls_date(modified, now),
    );
    listing.bytes.extend_from_slice(line.as_bytes());
}

/// The file's Unix mode (`0o644`), for its `ls -l` permissions.
#[cfg(unix)]
fn mode_of(metadata: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode()
}

/// Windows has no mode bits, only a read-only flag; clients still parse the
/// `ls -l` shape, so a folder shows as `rwxr-xr-x`, a read-only file as
/// `r--r--r--` and any other file as `rw-r--r--`.
#[cfg(not(unix))]
fn mode_of(metadata: &fs::Metadata) -> u32 {
    match (metadata.is_dir(), metadata.permissions().readonly()) {
        (true, _) => 0o755,
        (false, true) => 0o444,
        (false, false) => 0o644,
    }
}

/// `rwxr-xr-x` from a Unix mode.
fn permissions(mode: u32) -> String {
    let mut text = String::with_capacity(9);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 0o7;
        text.push(if bits & 4 != 0 { 'r' } else { '-' });
        text.push(if bits & 2 != 0 { 'w' } else { '-' });
        text.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    text
}

/// `Jan 05 14:30` within the last six months, else `Jan 05  2019` (UTC).
pub fn ls_date(modified: SystemTime, now: SystemTime) -> String {
    let date = OffsetDateTime::from(modified);
    let month = MONTHS[usize::from(u8::from(date.month())) - 1];
    let recent = now.duration_since(modified).is_ok_and(|age| age < RECENT);
    if recent {
        format!(
            "{month} {:02} {:02}:{:02}",
            date.day(),
            date.hour(),
            date.minute()
        )
    } else {
        format!("{month} {:02}  {}", date.day(), date.year())
    }
}

/// `YYYYMMDDHHMMSS` in UTC, for `MDTM` (RFC 3659 section 3).
pub fn mdtm_time(modified: SystemTime) -> String {
    let date = OffsetDateTime::from(modified);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day(),
        date.hour(),
        date.minute(),
        date.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_look_like_ls_recent_with_the_time_old_with_the_year() {
        // 2024-03-05 14:30:00 UTC.
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_649_000);
        let soon = modified + Duration::from_secs(3600);
        let much_later = modified + Duration::from_secs(400 * 24 * 3600);
        assert_eq!(ls_date(modified, soon), "Mar 05 14:30");
        assert_eq!(ls_date(modified, much_later), "Mar 05  2024");
        assert_eq!(mdtm_time(modified), "20240305143000");
    }

    #[test]
    fn a_listing_holds_up_to_the_cap_and_says_when_it_was_cut() {
        for (files, cut) in [(2, false), (3, false), (4, true)] {
            let dir = tempfile::tempdir().expect("tempdir");
            for n in 0..files {
                std::fs::write(dir.path().join(format!("f{n}")), "").expect("write");
            }
            let jail = Jail::new(dir.path()).expect("jail");
            let listing = list_at_most(&jail, jail.root(), Format::Names, 3).expect("list");
            assert_eq!(listing.entries, files.min(3), "{files} files");
            assert_eq!(listing.cut, cut, "{files} files");
        }
    }

    #[test]
    fn permissions_read_like_ls() {
        assert_eq!(permissions(0o755), "rwxr-xr-x");
        assert_eq!(permissions(0o640), "rw-r-----");
    }

    // Unix only: making a symbolic link on Windows needs administrator
    // rights or developer mode.
    #[cfg(unix)]
    #[test]
    fn a_folder_lists_sorted_without_dot_files_or_links_out() {
        let outside = tempfile::tempdir().expect("tempdir");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("b.txt"), "bb").expect("write");
        std::fs::write(dir.path().join("a.txt"), "a").expect("write");
        std::fs::write(dir.path().join(".hidden"), "h").expect("write");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("escape")).expect("link");
        let jail = Jail::new(dir.path()).expect("jail");

        let names = list(&jail, jail.root(), Format::Names).expect("list");
        assert_eq!(
            String::from_utf8_lossy(&names.bytes),
            "a.txt\r\nb.txt\r\nsub\r\n"
        );
        let long = list(&jail, jail.root(), Format::Long).expect("list");
        let text = String::from_utf8_lossy(&long.bytes).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let fields: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!(fields[0].len(), 10, "type and permissions: {text}");
        assert!(fields[0].starts_with("-rw"), "{text}");
        assert_eq!(fields[4], "1", "the size of a.txt: {text}");
        assert_eq!(fields[8], "a.txt", "{text}");
        assert!(
            lines[2].starts_with('d') && lines[2].ends_with(" sub"),
            "{text}"
        );
    }
}

//! The served folder as a jail: every path a client names stays inside `FTP_ROOT`.
//!
//! What to notice:
//! - **Two kinds of path.** The client sees a *virtual* path: `/` is the
//!   served folder, and `PWD` shows nothing of where it really is. The
//!   server turns a virtual path into a *real* one under `FTP_ROOT`.
//! - **`..` is resolved in words first** ([`virtual_path`]): `/a/../..` is
//!   `/`, never the folder above. That alone stops `CWD ..` and
//!   `RETR ../../etc/passwd`.
//! - **Symbolic links are resolved by the operating system and checked**
//!   ([`Jail::resolve`]): `canonicalize` follows every link to the real
//!   file, and the result must still be under the (canonical) root. A link
//!   inside the folder pointing out of it (`escape -> /etc`) would pass any
//!   check made on the words alone.
//! - A shortcut, named: between the check and the `open`, a local user who
//!   can write in the folder could swap a file for a link. Linux's
//!   `openat2(RESOLVE_BENEATH)` closes that gap; FTP clients cannot make
//!   links, so here only local users could use it.

use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

/// The served folder.
#[derive(Debug, Clone)]
pub struct Jail {
    /// `FTP_ROOT`, canonical: absolute, no `..`, no links.
    root: PathBuf,
}

/// Why a path cannot be used.
#[derive(Debug)]
pub enum PathError {
    /// Nothing there.
    NotFound,
    /// It resolves outside the served folder (through a link).
    Outside,
    /// The name cannot be a file name here (empty, `..`, `/`).
    BadName,
    /// The file system said no (permissions, say).
    Io(io::Error),
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::NotFound => f.write_str("no such file or folder"),
            // The same words as "not found" would hide that it exists; we
            // prefer to teach: the client learns only that it may not go there.
            PathError::Outside => f.write_str("outside the served folder"),
            PathError::BadName => f.write_str("not a usable file name"),
            PathError::Io(error) => write!(f, "{error}"),
        }
    }
}

impl From<io::Error> for PathError {
    fn from(error: io::Error) -> PathError {
        match error.kind() {
            io::ErrorKind::NotFound => PathError::NotFound,
            _ => PathError::Io(error),
        }
    }
}

// ANCHOR: virtual_path
/// The virtual path `argument` names when the client is in `cwd`: absolute,
/// starting with `/`, with every `.` and `..` resolved. `..` at `/` stays
/// at `/`, as it does at a real file system's root.
pub fn virtual_path(cwd: &str, argument: &str) -> String {
    let start = if argument.starts_with('/') { "" } else { cwd };
    let mut parts: Vec<&str> = Vec::new();
    for part in start.split('/').chain(argument.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    format!("/{}", parts.join("/"))
}
// ANCHOR_END: virtual_path

impl Jail {
    /// A jail at `root`, which must exist; it is made canonical here.
    pub fn new(root: &Path) -> io::Result<Jail> {
        Ok(Jail {
            root: root.canonicalize()?,
        })
    }

    /// The real folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    // ANCHOR: resolve
    /// The real, canonical path of an existing file or folder, checked to
    /// be inside the served folder once every link is followed.
    pub fn resolve(&self, virtual_path: &str) -> Result<PathBuf, PathError> {
        let real = self.root.join(virtual_path.trim_start_matches('/'));
        let canonical = real.canonicalize()?;
        if canonical.starts_with(&self.root) {
            Ok(canonical)
        } else {
            Err(PathError::Outside)
        }
    }
    // ANCHOR_END: resolve

    /// Where a new file named by `virtual_path` would go: its folder must
    /// exist inside the jail (links followed and checked), and its name
    /// must be a plain file name. Writing there replaces the name, not
    /// what a link of that name points to (the upload is renamed into
    /// place), so a link cannot redirect an upload either.
    pub fn resolve_new(&self, virtual_path: &str) -> Result<PathBuf, PathError> {
        let path = Path::new(virtual_path);
        let name = match path.components().next_back() {
            Some(Component::Normal(name)) => name.to_owned(),
            _ => return Err(PathError::BadName),
        };
        let parent = path
            .parent()
            .and_then(Path::to_str)
            .ok_or(PathError::BadName)?;
        let folder = self.resolve(parent)?;
        if !folder.is_dir() {
            return Err(PathError::NotFound);
        }
        Ok(folder.join(name))
    }

    /// The virtual path of a real path inside the jail (for messages).
    pub fn virtual_of(&self, real: &Path) -> Option<String> {
        let inside = real.strip_prefix(&self.root).ok()?;
        Some(format!("/{}", inside.to_str()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_never_climbs_above_the_root() {
        let table = [
            ("/", "", "/"),
            ("/", "..", "/"),
            ("/", "../../..", "/"),
            ("/a/b", "..", "/a"),
            ("/a/b", "../../../etc/passwd", "/etc/passwd"),
            ("/a", "/b/./c//d/", "/b/c/d"),
            ("/a", "b/../../..", "/"),
            ("/a", "./x", "/a/x"),
        ];
        for (cwd, argument, expected) in table {
            assert_eq!(virtual_path(cwd, argument), expected, "{cwd} + {argument}");
        }
    }

    #[test]
    fn etc_passwd_through_dot_dot_is_the_jails_own_etc_passwd() {
        let dir = tempfile::tempdir().expect("tempdir");
        let jail = Jail::new(dir.path()).expect("jail");
        let path = virtual_path("/", "../../etc/passwd");
        assert!(matches!(jail.resolve(&path), Err(PathError::NotFound)));
    }

    // Unix only: making a symbolic link on Windows needs administrator
    // rights or developer mode.
    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_folder_is_refused_a_link_inside_is_followed() {
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("secret"), "s").expect("write");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub/file"), "f").expect("write");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("escape")).expect("link");
        std::os::unix::fs::symlink(dir.path().join("sub/file"), dir.path().join("inside"))
            .expect("link");
        let jail = Jail::new(dir.path()).expect("jail");

        assert!(matches!(jail.resolve("/escape"), Err(PathError::Outside)));
        assert!(matches!(
            jail.resolve("/escape/secret"),
            Err(PathError::Outside)
        ));
        assert!(matches!(
            jail.resolve_new("/escape/new"),
            Err(PathError::Outside)
        ));
        let inside = jail.resolve("/inside").expect("a link inside is fine");
        assert_eq!(jail.virtual_of(&inside).as_deref(), Some("/sub/file"));
    }

    #[test]
    fn a_new_file_needs_a_plain_name_in_an_existing_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let jail = Jail::new(dir.path()).expect("jail");
        assert!(jail.resolve_new("/new.txt").is_ok());
        assert!(matches!(jail.resolve_new("/"), Err(PathError::BadName)));
        assert!(matches!(
            jail.resolve_new("/no/such/x"),
            Err(PathError::NotFound)
        ));
    }
}

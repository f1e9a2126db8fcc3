//! Static files: a directory served over HTTP, safely and efficiently.
//!
//! What to notice:
//! - **Nothing outside the directory, ever.** The path is split on `/`, each
//!   segment percent-decoded, and any segment that is `..`, starts with a dot,
//!   or decodes to something containing `/`, `\` or NUL is refused, so
//!   `/../secret`, `/%2e%2e/secret` and `/..%2fsecret` all get 404. Then the
//!   file's real path (symlinks resolved) must still be inside the directory,
//!   so a symlink pointing out is refused too.
//! - **Caching.** Each response carries an `ETag` (size and modification time)
//!   and `Last-Modified`. A browser that already has the file asks again with
//!   `If-None-Match` or `If-Modified-Since`, and gets `304 Not Modified` with
//!   no body.
//! - **Range requests.** `Range: bytes=100-199` gets `206 Partial Content`
//!   and those 100 bytes: how video players seek and downloads resume.
//! - **Streaming.** The body is read from disk 64 KiB at a time as the
//!   client takes it, so a 4 GiB file costs the server 64 KiB of memory.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use http_raw::{Body, Request, Response};
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;
use tracing::debug;

use crate::error::Error;

/// How much of a file is read from disk at a time.
const READ_CHUNK: usize = 64 * 1024;

/// A directory to serve.
#[derive(Debug, Clone)]
pub struct StaticFiles {
    /// The directory's real path: every file served must be inside it.
    root: PathBuf,
}

impl StaticFiles {
    /// Serves `dir`, which must exist.
    pub fn new(dir: impl AsRef<Path>) -> std::io::Result<StaticFiles> {
        let root = std::fs::canonicalize(dir)?;
        Ok(StaticFiles { root })
    }

    /// Answers a GET or HEAD for `request.path()`.
    pub async fn serve(&self, request: &Request) -> Result<Response, Error> {
        let not_found = || Error::not_found(format!("nothing at {}", request.path()));
        let file_path = self.resolve(request.path()).await.ok_or_else(not_found)?;
        let metadata = tokio::fs::metadata(&file_path)
            .await
            .map_err(|_| not_found())?;
        let length = metadata.len();
        let modified = metadata.modified().unwrap_or(UNIX_EPOCH);
        let etag = entity_tag(length, modified);
        let last_modified = httpdate::fmt_http_date(modified);

        if is_not_modified(request, &etag, modified) {
            return Ok(Response::new(304)
                .with_header("ETag", etag)
                .with_header("Last-Modified", last_modified));
        }

        let range = match request.header("range") {
            Some(range) if request.header("if-range").is_none_or(|tag| tag == etag) => {
                parse_range(range, length)
            }
            _ => RangeRequest::Whole,
        };
        let (status, start, count) = match range {
            RangeRequest::Whole => (200, 0, length),
            RangeRequest::Part { start, end } => (206, start, end - start + 1),
            RangeRequest::Unsatisfiable => {
                return Ok(
                    Response::new(416).with_header("Content-Range", format!("bytes */{length}"))
                );
            }
        };

        let mut response = Response::new(status)
            .with_header("Content-Type", content_type(&file_path))
            .with_header("ETag", etag)
            .with_header("Last-Modified", last_modified)
            .with_header("Accept-Ranges", "bytes");
        if status == 206 {
            response.set_header(
                "Content-Range",
                format!("bytes {start}-{}/{length}", start + count - 1),
            );
        }
        debug!(file = %file_path.display(), start, count, "serving a file");
        let mut file = tokio::fs::File::open(&file_path)
            .await
            .map_err(|_| not_found())?;
        if start > 0 {
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(|_| Error::internal())?;
        }
        let chunks = ReaderStream::with_capacity(file.take(count), READ_CHUNK);
        Ok(response.with_body(Body::Stream {
            length: Some(count),
            chunks: Box::pin(chunks),
        }))
    }

    // ANCHOR: resolve
    /// The file that `path` (as sent, still percent-encoded) names inside the
    /// directory, or `None` if it names nothing there.
    async fn resolve(&self, path: &str) -> Option<PathBuf> {
        let mut relative = PathBuf::new();
        for raw in path.split('/').filter(|segment| !segment.is_empty()) {
            let segment = percent_decode_str(raw).decode_utf8().ok()?;
            // `..` climbs out; other dot-files (.env, .git) are private;
            // a decoded `/` or `\` would be a path separator after all.
            if segment.starts_with('.') || segment.contains(['/', '\\', '\0']) {
                return None;
            }
            relative.push(segment.as_ref());
        }
        let mut real = tokio::fs::canonicalize(self.root.join(relative))
            .await
            .ok()?;
        if tokio::fs::metadata(&real).await.ok()?.is_dir() {
            real = tokio::fs::canonicalize(real.join("index.html"))
                .await
                .ok()?;
        }
        // Symlinks are resolved by now: the real path must still be ours.
        (real.starts_with(&self.root) && tokio::fs::metadata(&real).await.ok()?.is_file())
            .then_some(real)
    }
    // ANCHOR_END: resolve
}

/// `"size-mtime"` in hex: changes whenever the file does.
fn entity_tag(length: u64, modified: SystemTime) -> String {
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!("\"{length:x}-{nanos:x}\"")
}

/// Whether the client's cached copy is still good (RFC 9110 section 13.1).
/// `If-None-Match` wins over `If-Modified-Since` when both are sent.
fn is_not_modified(request: &Request, etag: &str, modified: SystemTime) -> bool {
    if let Some(tags) = request.header("if-none-match") {
        return tags
            .split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == "*" || tag == etag);
    }
    let Some(since) = request.header("if-modified-since") else {
        return false;
    };
    let Ok(since) = httpdate::parse_http_date(since) else {
        return false;
    };
    // HTTP dates have whole seconds; so must the comparison.
    let seconds = |time: SystemTime| {
        time.duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs())
    };
    seconds(modified) <= seconds(since)
}

/// What a `Range` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeRequest {
    /// No usable range: send the whole file (200).
    Whole,
    /// Bytes `start..=end` (206).
    Part { start: u64, end: u64 },
    /// A range entirely past the end (416).
    Unsatisfiable,
}

/// `bytes=0-99`, `bytes=100-` or `bytes=-100` (the last 100 bytes), for a
/// file of `length` bytes. Several ranges, or anything malformed, is ignored
/// (the whole file is sent), which RFC 9110 section 14.2 allows.
fn parse_range(header: &str, length: u64) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeRequest::Whole;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return RangeRequest::Whole;
    };
    let number = |text: &str| -> Option<u64> {
        (!text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| text.parse().ok())?
    };
    let (start, end) = match (number(first), number(last)) {
        (Some(start), Some(end)) if start <= end => (start, end.min(length.saturating_sub(1))),
        (Some(start), None) if last.is_empty() => (start, length.saturating_sub(1)),
        (None, Some(suffix)) if first.is_empty() => {
            if suffix == 0 {
                return RangeRequest::Unsatisfiable;
            }
            (length.saturating_sub(suffix), length.saturating_sub(1))
        }
        _ => return RangeRequest::Whole,
    };
    if start >= length {
        RangeRequest::Unsatisfiable
    } else {
        RangeRequest::Part { start, end }
    }
}

/// The `Content-Type` for a file, from its extension; text gets a charset.
fn content_type(path: &Path) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let text = mime.type_() == "text" || matches!(mime.subtype().as_str(), "javascript" | "json");
    if text {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-99", 1000), Part { start: 0, end: 99 });
        assert_eq!(
            parse_range("bytes=900-", 1000),
            Part {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            parse_range("bytes=-100", 1000),
            Part {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            parse_range("bytes=990-2000", 1000),
            Part {
                start: 990,
                end: 999
            }
        );
        assert_eq!(
            parse_range("bytes=-2000", 1000),
            Part { start: 0, end: 999 }
        );
        assert_eq!(parse_range("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Whole);
        assert_eq!(parse_range("bytes=5-1", 1000), Whole);
        assert_eq!(parse_range("lines=1-2", 1000), Whole);
        assert_eq!(parse_range("bytes=+1-2", 1000), Whole);
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Path::new("index.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("app.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("plant.svg")), "image/svg+xml");
        assert_eq!(
            content_type(Path::new("data.bin")),
            "application/octet-stream"
        );
    }
}

//! `--origin ORIGIN`: would a browser let a page from ORIGIN read this API?
//!
//! What to notice: CORS is the browser's rule, enforced by the browser, from
//! headers the server sends (the Fetch standard, "CORS protocol"). curl and
//! the doctor are not browsers, so they get the response either way; what
//! they can check is whether the headers a browser needs are there. Two
//! requests matter: a simple `GET` with an `Origin` header, which needs
//! `Access-Control-Allow-Origin` in the answer; and the *preflight* a
//! browser sends before a `fetch` that posts JSON: `OPTIONS` with
//! `Access-Control-Request-Method` and `-Headers`, which needs a 2xx status
//! and `Access-Control-Allow-Origin`, `-Methods` and `-Headers` naming them.

use std::net::SocketAddr;

use super::addr::Addr;
use super::probe;
use crate::response_reader::parse_head;

/// The method a preflight asks about: what a `fetch` that creates something sends.
const PREFLIGHT_METHOD: &str = "POST";
/// The request header a preflight asks about: a JSON body's.
const PREFLIGHT_HEADER: &str = "content-type";

/// What the two requests showed: `Ok(findings)`, each `(fine, sentence)`,
/// or why the doctor could not ask.
pub fn check(addr: SocketAddr, target: &Addr, origin: &str) -> Result<Vec<(bool, String)>, String> {
    let mut findings = Vec::new();
    let authority = target.authority();
    let path = &target.path;

    let simple = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nOrigin: {origin}\r\nConnection: close\r\n\r\n"
    );
    let (status, headers) = ask(addr, &simple)?;
    let what = format!("GET {path} with Origin: {origin} (status {status})");
    findings.push(allow_origin(&what, &headers, origin));

    let preflight = format!(
        "OPTIONS {path} HTTP/1.1\r\nHost: {authority}\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: {PREFLIGHT_METHOD}\r\n\
         Access-Control-Request-Headers: {PREFLIGHT_HEADER}\r\nConnection: close\r\n\r\n"
    );
    let (status, headers) = ask(addr, &preflight)?;
    let what = format!(
        "the preflight OPTIONS {path} for a {PREFLIGHT_METHOD} with a {PREFLIGHT_HEADER} header (status {status})"
    );
    if !(200..300).contains(&status) {
        findings.push((
            false,
            format!("{what}: a preflight needs a 2xx status; the browser stops here"),
        ));
    }
    findings.push(allow_origin(&what, &headers, origin));
    findings.push(allows(
        &what,
        &headers,
        "Access-Control-Allow-Methods",
        PREFLIGHT_METHOD,
    ));
    findings.push(allows(
        &what,
        &headers,
        "Access-Control-Allow-Headers",
        PREFLIGHT_HEADER,
    ));
    Ok(findings)
}

/// One request on a new connection: the status and headers of its answer.
fn ask(addr: SocketAddr, request: &str) -> Result<(u16, Vec<(String, String)>), String> {
    let reply = probe::exchange(addr, request.as_bytes())
        .map_err(|answer| format!("could not ask {addr} again ({answer:?})"))?;
    match parse_head(&reply) {
        Ok(Some((status, headers, _))) => Ok((status, headers)),
        Ok(None) => Err(format!("{addr} sent an incomplete HTTP head")),
        Err(why) => Err(format!("{addr} did not answer in HTTP: {why}")),
    }
}

/// The header's value, by case-insensitive name.
fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(have, _)| have.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// `Access-Control-Allow-Origin` must be ORIGIN or `*`.
fn allow_origin(what: &str, headers: &[(String, String)], origin: &str) -> (bool, String) {
    match header(headers, "Access-Control-Allow-Origin") {
        None => (
            false,
            format!(
                "{what}: no Access-Control-Allow-Origin header; the browser hides the answer from the page"
            ),
        ),
        Some(value) if value == "*" || value == origin => (
            true,
            format!("{what}: Access-Control-Allow-Origin: {value}"),
        ),
        Some(value) => (
            false,
            format!(
                "{what}: Access-Control-Allow-Origin is {value:?}, which is neither {origin:?} nor \"*\""
            ),
        ),
    }
}

/// A comma-separated header (`-Methods`, `-Headers`) must name `wanted` or `*`.
fn allows(what: &str, headers: &[(String, String)], name: &str, wanted: &str) -> (bool, String) {
    match header(headers, name) {
        None => (false, format!("{what}: no {name} header")),
        Some(value)
            if value
                .split(',')
                .any(|item| item.trim() == "*" || item.trim().eq_ignore_ascii_case(wanted)) =>
        {
            (true, format!("{what}: {name}: {value}"))
        }
        Some(value) => (
            false,
            format!("{what}: {name} is {value:?}, without {wanted}"),
        ),
    }
}

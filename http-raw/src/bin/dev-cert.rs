//! `cargo run -p http-raw --bin dev-cert [DIR [NAME...]]`: a certificate to try HTTPS on this machine.
//!
//! What to notice: a browser or curl trusts a server's certificate only if
//! it was signed by a certificate authority (CA) it already trusts, and only
//! for the names written in it. So we make both: a tiny CA of our own
//! (`ca.pem`, whose private key never leaves DIR), and a certificate for
//! `localhost`, `127.0.0.1` and `::1` (or the NAMEs given) signed by it. You
//! tell your client to trust `ca.pem` (`curl --cacert`), and the server
//! presents `cert.pem` and proves it holds `key.pem` in every handshake.
//! This is the same chain of trust as on the web, with you as the CA.
//!
//! The CA is kept: running this again signs a fresh server certificate with
//! the same CA, so whatever already trusts `ca.pem` keeps working.
//!
//! Try it: `cargo run -p http-raw --bin dev-cert`, then do what it prints.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// Where the files go unless a DIR is given: under `target/`, which git
/// ignores and `cargo clean` removes.
const DEFAULT_DIR: &str = "target/dev-cert";

/// The names the certificate is for unless NAMEs are given: the three ways
/// to say "this machine" (see the book's localhost page).
const DEFAULT_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The CA's name. A certificate names its issuer, and a client matches that
/// name (and the key) to the CA it trusts; the CA is rebuilt from this name
/// and its kept key on every run, so the name must never change.
const CA_NAME: &str = "netlessons local development CA";

/// 825 days: the longest validity Apple's systems accept for a server
/// certificate, even one from a CA you added yourself. Counted from
/// NotBefore to NotAfter, as Apple counts it, so the day of backdating in
/// `valid_for` is part of it.
const SERVER_CERT_DAYS: i64 = 825;

/// Ten years for the CA: you trust it once.
const CA_DAYS: i64 = 3650;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let dir = match args.next() {
        Some(flag) if flag.starts_with('-') => {
            eprintln!(
                "usage: dev-cert [DIR [NAME...]]  (default: {DEFAULT_DIR} localhost 127.0.0.1 ::1)"
            );
            return ExitCode::from(2);
        }
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(DEFAULT_DIR),
    };
    let mut names: Vec<String> = args.collect();
    if names.is_empty() {
        names = DEFAULT_NAMES.map(String::from).to_vec();
    }
    match make_certificates(&dir, &names) {
        Ok(()) => {
            print_how_to_use(&dir, &names);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("dev-cert: {error}");
            ExitCode::FAILURE
        }
    }
}

// ANCHOR: make_certificates
/// Writes `ca.pem` (made once, then kept), `cert.pem` and `key.pem` in `dir`.
fn make_certificates(dir: &Path, names: &[String]) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    let ca = ca(dir)?;

    let mut params = CertificateParams::new(names.to_vec())
        .map_err(|error| format!("not a host name or IP address in {names:?}: {error}"))?;
    params
        .distinguished_name
        .push(DnType::CommonName, &names[0]);
    // What this certificate may be used for: proving a server's identity in
    // a TLS handshake, and nothing else (RFC 5280 sections 4.2.1.3 and 4.2.1.12).
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    (params.not_before, params.not_after) = valid_for(SERVER_CERT_DAYS);
    // An ECDSA P-256 key: small, fast, and accepted by every TLS client.
    let key = KeyPair::generate().map_err(|error| format!("cannot make a key: {error}"))?;
    let cert = params
        .signed_by(&key, &ca)
        .map_err(|error| format!("cannot sign the certificate: {error}"))?;

    write(&dir.join("cert.pem"), cert.pem().as_bytes(), false)?;
    write(&dir.join("key.pem"), key.serialize_pem().as_bytes(), true)
}
// ANCHOR_END: make_certificates

/// The local CA: its key from `ca-key.pem` if an earlier run made one,
/// otherwise a new key, with its certificate written to `ca.pem`.
fn ca(dir: &Path) -> Result<Issuer<'static, KeyPair>, String> {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    // A CA that may sign server certificates but no other CA (RFC 5280
    // section 4.2.1.9: path length 0).
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];

    let key_path = dir.join("ca-key.pem");
    let cert_path = dir.join("ca.pem");
    if key_path.exists() && cert_path.exists() {
        let pem = fs::read_to_string(&key_path)
            .map_err(|error| format!("cannot read {}: {error}", key_path.display()))?;
        let key = KeyPair::from_pem(&pem)
            .map_err(|error| format!("{} holds no usable key: {error}", key_path.display()))?;
        // Same name, same key: the certificates it signs chain to the
        // `ca.pem` already on disk (a client matches the issuer's name and
        // the key identifier, a hash of the public key).
        return Ok(Issuer::new(params, key));
    }
    (params.not_before, params.not_after) = valid_for(CA_DAYS);
    let key = KeyPair::generate().map_err(|error| format!("cannot make a key: {error}"))?;
    let cert: Certificate = params
        .self_signed(&key)
        .map_err(|error| format!("cannot make the CA certificate: {error}"))?;
    write(&key_path, key.serialize_pem().as_bytes(), true)?;
    write(&cert_path, cert.pem().as_bytes(), false)?;
    Ok(Issuer::new(params, key))
}

/// `days` in all, NotBefore to NotAfter, starting yesterday (a client whose
/// clock is a little behind still accepts it). Counted from the start, not
/// from now: from now, a backdated certificate would be valid a day longer
/// than `days`.
fn valid_for(days: i64) -> (OffsetDateTime, OffsetDateTime) {
    let not_before = OffsetDateTime::now_utc() - Duration::days(1);
    (not_before, not_before + Duration::days(days))
}

/// Writes a file; on Linux and macOS a private key is readable by its owner
/// only (mode 0600). Windows has no mode bits: a file inherits the access
/// list of its folder, and one under `C:\Users\NAME` is NAME's (and the
/// administrators') alone.
fn write(path: &Path, contents: &[u8], private: bool) -> Result<(), String> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    options
        .open(path)
        .and_then(|mut file| file.write_all(contents))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))
}

/// What to do next: the two variables, and a client that trusts the CA.
fn print_how_to_use(dir: &Path, names: &[String]) {
    let dir = dir.display();
    let host = match names[0].parse::<std::net::Ipv6Addr>() {
        Ok(_) => format!("[{}]", names[0]),
        Err(_) => names[0].clone(),
    };
    println!(
        "wrote {dir}/ca.pem (the local CA), and cert.pem and key.pem for {}",
        names.join(", ")
    );
    println!("serve HTTPS:");
    println!("  TLS_CERT={dir}/cert.pem TLS_KEY={dir}/key.pem cargo run -p http-raw");
    println!("then, in another terminal:");
    println!("  curl --cacert {dir}/ca.pem https://{host}:3000/hello");
}

//! `dev-cert`: the certificate a learner makes to try HTTPS on their machine.

use std::path::Path;
use std::process::Command;

const DEV_CERT: &str = env!("CARGO_BIN_EXE_dev-cert");

fn run_dev_cert(dir: &Path, names: &[&str]) -> String {
    let output = Command::new(DEV_CERT)
        .arg(dir)
        .args(names)
        .output()
        .expect("dev-cert runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn makes_a_ca_and_a_server_certificate_the_server_accepts_and_prints_how_to_use_them() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = run_dev_cert(dir.path(), &[]);
    let d = dir.path().display();
    assert!(
        out.contains(&format!("TLS_CERT={d}/cert.pem TLS_KEY={d}/key.pem")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "curl --cacert {d}/ca.pem https://localhost:3000/hello"
        )),
        "{out}"
    );
    let config =
        http_raw::tls::server_config(&dir.path().join("cert.pem"), &dir.path().join("key.pem"));
    assert!(config.is_ok(), "{config:?}");
}

#[test]
fn the_ca_is_kept_across_runs_and_the_new_certificate_chains_to_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    run_dev_cert(dir.path(), &[]);
    let ca = std::fs::read(dir.path().join("ca.pem")).expect("ca.pem");
    let first_cert = std::fs::read(dir.path().join("cert.pem")).expect("cert.pem");
    run_dev_cert(dir.path(), &[]);
    assert_eq!(
        std::fs::read(dir.path().join("ca.pem")).expect("ca.pem"),
        ca
    );
    assert_ne!(
        std::fs::read(dir.path().join("cert.pem")).expect("cert.pem"),
        first_cert
    );
    // The handshake tests (tests/https.rs) check that clients trusting
    // ca.pem accept the server; here, openssl checks the signature chain.
    let verified = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(dir.path().join("ca.pem"))
        .arg(dir.path().join("cert.pem"))
        .output();
    if let Ok(verified) = verified {
        assert!(verified.status.success(), "{verified:?}");
    }
}

/// The NotBefore and NotAfter of the first certificate in the PEM file at
/// `path`, as Unix times.
fn validity_of(path: &Path) -> (i64, i64) {
    let pem = std::fs::read(path).expect("a PEM file");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("PEM");
    let certificate = pem.parse_x509().expect("an X.509 certificate");
    let validity = certificate.validity();
    (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    )
}

#[test]
fn the_server_certificate_is_valid_825_days_at_most_counted_from_not_before() {
    const DAY: i64 = 24 * 60 * 60;
    let dir = tempfile::tempdir().expect("a temporary directory");
    run_dev_cert(dir.path(), &[]);
    let (not_before, not_after) = validity_of(&dir.path().join("cert.pem"));
    // Apple's clients refuse a server certificate valid for longer than
    // 825 days, NotBefore to NotAfter (round 3 found 826).
    assert!(
        not_after - not_before <= 825 * DAY,
        "valid for {} s, {} s more than 825 days",
        not_after - not_before,
        not_after - not_before - 825 * DAY
    );
    assert!(
        not_after - not_before > 824 * DAY,
        "not much shorter either"
    );
    // Backdated, so a client whose clock is a little behind accepts it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    assert!(not_before < now - DAY / 2, "NotBefore is in the past");
}

// Unix only: Windows has no mode bits (dev-cert relies on the folder's access list there).
#[cfg(unix)]
#[test]
fn private_keys_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("a temporary directory");
    run_dev_cert(dir.path(), &[]);
    for key in ["key.pem", "ca-key.pem"] {
        let mode = std::fs::metadata(dir.path().join(key))
            .expect(key)
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
}

#[test]
fn an_option_instead_of_a_directory_prints_usage_and_exits_2() {
    let output = Command::new(DEV_CERT)
        .arg("--help")
        .output()
        .expect("dev-cert runs");
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.starts_with("usage: dev-cert [DIR [NAME...]]"), "{err}");
}

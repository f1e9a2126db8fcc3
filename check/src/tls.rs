//! `https://`: the TLS client settings, trusting the CA the learner's
//! server certificate was signed with.
//!
//! What to notice: the checker trusts no public CA. A learner's HTTPS
//! server on this machine uses a certificate from `cargo run -p http-raw
//! --bin dev-cert`, signed by the CA in `target/dev-cert/ca.pem`; that CA
//! (or the one `--ca FILE` names) is the only root the checker trusts, so a
//! certificate that would not work in a browser told to trust it fails here
//! too.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

/// Where `dev-cert` leaves its CA unless told otherwise.
pub const DEV_CA: &str = "target/dev-cert/ca.pem";

/// The client settings trusting the CA in `ca` (a PEM file), or a sentence
/// saying why that cannot be.
pub fn client_config(ca: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let path = ca.unwrap_or(Path::new(DEV_CA));
    if ca.is_none() && !path.exists() {
        return Err(format!(
            "an https:// ADDR needs a CA to trust: make one with `cargo run -p http-raw --bin dev-cert` \
             (it writes {DEV_CA}), or give --ca FILE"
        ));
    }
    let mut roots = RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|error| format!("cannot read the CA file {}: {error}", path.display()))?;
    for certificate in certificates {
        let certificate = certificate
            .map_err(|error| format!("{} is not a PEM certificate: {error}", path.display()))?;
        roots.add(certificate).map_err(|error| {
            format!(
                "{} holds a certificate rustls refuses: {error}",
                path.display()
            )
        })?;
    }
    if roots.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_one_sentence() {
        let missing = client_config(Some(Path::new("/nonexistent/ca.pem"))).err();
        assert!(missing.is_some_and(|said| said.contains("cannot read the CA file")));
        let dir = std::env::temp_dir().join(format!("check-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").expect("writing");
        let said = client_config(Some(&empty)).err().unwrap_or_default();
        assert!(said.contains("holds no certificate"), "{said}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

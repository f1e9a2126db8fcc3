//! HTTPS settings: `TLS_CERT` and `TLS_KEY` turned into a rustls server configuration.
//!
//! What to notice: TLS is a layer *under* HTTP. Everything in this file
//! happens before the first HTTP byte: reading the certificate chain and
//! the private key (PEM files), checking that they belong together, and
//! choosing what the server offers in the handshake (TLS 1.2 and 1.3, ALPN
//! `http/1.1`). The handshake itself is `handshake.rs`; afterwards the
//! connection loop reads and writes the very same HTTP bytes as over plain
//! TCP, through a stream that encrypts them (`stream.rs`).
//!
//! Every way the two settings can be wrong is found here, at startup, and
//! is one sentence naming the variable: a server that starts and then fails
//! every handshake is much harder to debug than one that refuses to start.
//!
//! Try it: `cargo run -p http-raw --bin dev-cert` makes a certificate for
//! localhost and prints the two variables to set.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::ServerConfig;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::{self, PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The variable naming the certificate chain file (PEM).
pub const CERT_VAR: &str = "TLS_CERT";
/// The variable naming the private key file (PEM).
pub const KEY_VAR: &str = "TLS_KEY";

/// The only application protocol we offer in ALPN (RFC 7301): this server
/// speaks HTTP/1.1, so a client that would prefer HTTP/2 (`h2`, as curl and
/// browsers offer first) learns during the handshake that it must not.
pub const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// A certificate chain or key file is a few KiB; a chain of ten certificates
/// is under 20 KiB. We read at most this much, so that a setting pointing at
/// the wrong file (a disk image, `/dev/zero`) is refused instead of read
/// into memory whole.
pub const MAX_PEM_FILE: u64 = 1024 * 1024;

// ANCHOR: provider
/// The crypto provider: ring rather than aws-lc-rs (rustls's default).
///
/// Both are fast and well reviewed. ring builds from a small amount of C and
/// assembly with nothing but a C compiler, in seconds; aws-lc-rs builds the
/// whole AWS-LC C library (and on some platforms needs CMake, NASM or Go),
/// which takes minutes and more tools on a fresh machine, and every CI run
/// here compiles from scratch. aws-lc-rs has extras we do not need in a
/// lesson (FIPS mode, post-quantum key exchange by default), so we pay for
/// the smaller one. Switching is one line here and one feature in Cargo.toml.
///
/// rustls 0.23.48 marks ring's provider deprecated, because ring has no
/// post-quantum key exchange, and offers no other way to get it. Traffic in
/// these lessons stays on one machine, so we keep ring, and say so here
/// rather than leave a warning in every build of a crate that depends on
/// this one with a newer rustls than our Cargo.lock's.
#[allow(deprecated)]
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
// ANCHOR_END: provider

/// A `TLS_CERT` / `TLS_KEY` setting that cannot be used. Its `Display` is the
/// one sentence the server prints before exiting with status 2.
#[derive(Debug)]
pub enum TlsSettingError {
    /// One of the two variables is set and the other is not.
    OnlyOneSet {
        /// The variable that is set.
        set: &'static str,
        /// The variable that is missing.
        missing: &'static str,
    },
    /// The file cannot be read (missing, no permission, a directory, ...).
    Unreadable {
        /// `TLS_CERT` or `TLS_KEY`.
        var: &'static str,
        /// The path it names.
        path: PathBuf,
        /// What the OS said.
        error: io::Error,
    },
    /// The file is larger than [`MAX_PEM_FILE`].
    TooLarge {
        /// `TLS_CERT` or `TLS_KEY`.
        var: &'static str,
        /// The path it names.
        path: PathBuf,
    },
    /// The file is not valid PEM (a broken `-----BEGIN` block, bad base64).
    BadPem {
        /// `TLS_CERT` or `TLS_KEY`.
        var: &'static str,
        /// The path it names.
        path: PathBuf,
        /// What the PEM reader said.
        error: pem::Error,
    },
    /// `TLS_CERT` holds no `CERTIFICATE` block.
    NoCertificate {
        /// The path it names.
        path: PathBuf,
        /// It holds a private key instead: the two settings are swapped.
        holds_key: bool,
    },
    /// `TLS_KEY` holds no private key block.
    NoKey {
        /// The path it names.
        path: PathBuf,
        /// It holds a certificate instead: the two settings are swapped.
        holds_certificate: bool,
    },
    /// The key is there, but the crypto provider cannot use it (an
    /// unsupported algorithm or curve, or a damaged key).
    BadKey {
        /// The path it names.
        path: PathBuf,
        /// What rustls said.
        error: rustls::Error,
    },
    /// The first certificate cannot be parsed.
    BadCertificate {
        /// The path it names.
        path: PathBuf,
        /// What rustls said.
        error: rustls::Error,
    },
    /// The key is not the one whose public half is in the certificate.
    KeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
    /// rustls refused the configuration for another reason.
    Rejected(rustls::Error),
}

impl fmt::Display for TlsSettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TlsSettingError::*;
        match self {
            OnlyOneSet { set, missing } => write!(
                f,
                "{set} is set but {missing} is not: set both (the certificate chain and its \
                 private key, PEM files) to serve HTTPS, or neither to serve plain HTTP"
            ),
            Unreadable { var, path, error } => {
                let problem = match error.kind() {
                    io::ErrorKind::NotFound => "no such file".to_string(),
                    io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                    io::ErrorKind::IsADirectory => "it is a directory, not a file".to_string(),
                    _ => error.to_string(),
                };
                write!(f, "{var}={path:?} cannot be read: {problem}")
            }
            TooLarge { var, path } => write!(
                f,
                "{var}={path:?} is larger than {MAX_PEM_FILE} bytes: not a PEM certificate or key file"
            ),
            BadPem { var, path, error } => write!(f, "{var}={path:?} is not valid PEM: {error}"),
            NoCertificate { path, holds_key } => {
                write!(
                    f,
                    "{CERT_VAR}={path:?} holds no certificate (no \"-----BEGIN CERTIFICATE-----\" block)"
                )?;
                if *holds_key {
                    write!(
                        f,
                        "; it holds a private key: are {CERT_VAR} and {KEY_VAR} swapped?"
                    )?;
                }
                Ok(())
            }
            NoKey {
                path,
                holds_certificate,
            } => {
                write!(
                    f,
                    "{KEY_VAR}={path:?} holds no private key (no \"PRIVATE KEY\", \"RSA PRIVATE KEY\" \
                     or \"EC PRIVATE KEY\" block)"
                )?;
                if *holds_certificate {
                    write!(
                        f,
                        "; it holds a certificate: are {CERT_VAR} and {KEY_VAR} swapped?"
                    )?;
                }
                Ok(())
            }
            BadKey { path, error } => write!(f, "{KEY_VAR}={path:?} cannot be used: {error}"),
            BadCertificate { path, error } => write!(
                f,
                "{CERT_VAR}={path:?} cannot be used: its first certificate is damaged ({error})"
            ),
            KeyMismatch { key, cert } => write!(
                f,
                "{KEY_VAR}={key:?} is not the private key of the certificate in {CERT_VAR}={cert:?}"
            ),
            Rejected(error) => write!(f, "{CERT_VAR} and {KEY_VAR} cannot be used: {error}"),
        }
    }
}

impl std::error::Error for TlsSettingError {}

// ANCHOR: from_env
/// Reads `TLS_CERT` and `TLS_KEY`. Neither set (or both empty): `Ok(None)`,
/// serve plain HTTP. Both set and usable: the TLS configuration.
pub fn from_env() -> Result<Option<Arc<ServerConfig>>, TlsSettingError> {
    let var = |name| std::env::var_os(name).filter(|value| !value.is_empty());
    from_settings(
        var(CERT_VAR).map(PathBuf::from),
        var(KEY_VAR).map(PathBuf::from),
    )
}

/// Like [`from_env`], with the two settings given.
pub fn from_settings(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> Result<Option<Arc<ServerConfig>>, TlsSettingError> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(TlsSettingError::OnlyOneSet {
            set: CERT_VAR,
            missing: KEY_VAR,
        }),
        (None, Some(_)) => Err(TlsSettingError::OnlyOneSet {
            set: KEY_VAR,
            missing: CERT_VAR,
        }),
        (Some(cert), Some(key)) => server_config(&cert, &key).map(Some),
    }
}
// ANCHOR_END: from_env

// ANCHOR: server_config
/// Loads the certificate chain and key and builds the server configuration.
pub fn server_config(
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<ServerConfig>, TlsSettingError> {
    let chain = read_certificates(cert_path)?;
    let key = read_private_key(key_path)?;

    let provider = crypto_provider();
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|error| TlsSettingError::BadKey {
            path: key_path.to_path_buf(),
            error,
        })?;
    // The check a browser would otherwise make for us, much later and with
    // a vaguer message: the key must be the private half of the public key
    // the certificate carries.
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(TlsSettingError::KeyMismatch {
                key: key_path.to_path_buf(),
                cert: cert_path.to_path_buf(),
            });
        }
        // The provider cannot say which public key the private key has:
        // the handshake will tell.
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(error) => {
            return Err(TlsSettingError::BadCertificate {
                path: cert_path.to_path_buf(),
                error,
            });
        }
    }

    let mut config = ServerConfig::builder_with_provider(provider)
        // TLS 1.3 (RFC 8446) first; TLS 1.2 (RFC 5246) for older clients.
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TlsSettingError::Rejected)?
        // Clients are not asked for certificates: anyone may connect, as on
        // any public web site.
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Ok(Arc::new(config))
}
// ANCHOR_END: server_config

/// The certificates in `path`, the server's own first (PEM order).
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSettingError> {
    let pem = read_limited(CERT_VAR, path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsSettingError::BadPem {
            var: CERT_VAR,
            path: path.to_path_buf(),
            error,
        })?;
    if chain.is_empty() {
        return Err(TlsSettingError::NoCertificate {
            path: path.to_path_buf(),
            holds_key: PrivateKeyDer::from_pem_slice(&pem).is_ok(),
        });
    }
    Ok(chain)
}

/// The first private key in `path`: PKCS#8 (`PRIVATE KEY`), PKCS#1
/// (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsSettingError> {
    let pem = read_limited(KEY_VAR, path)?;
    match PrivateKeyDer::from_pem_slice(&pem) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => Err(TlsSettingError::NoKey {
            path: path.to_path_buf(),
            holds_certificate: has_section(&pem, SectionKind::Certificate),
        }),
        Err(error) => Err(TlsSettingError::BadPem {
            var: KEY_VAR,
            path: path.to_path_buf(),
            error,
        }),
    }
}

/// Whether the PEM text holds a block of this kind.
fn has_section(pem: &[u8], kind: SectionKind) -> bool {
    let mut reader = pem;
    while let Ok(Some((found, _))) = pem::from_buf(&mut reader) {
        if found == kind {
            return true;
        }
    }
    false
}

/// Reads a whole file of at most [`MAX_PEM_FILE`] bytes.
fn read_limited(var: &'static str, path: &Path) -> Result<Vec<u8>, TlsSettingError> {
    let unreadable = |error| TlsSettingError::Unreadable {
        var,
        path: path.to_path_buf(),
        error,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_PEM_FILE {
        return Err(TlsSettingError::TooLarge {
            var,
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    //! Every bad setting, each refused with its own sentence. The keys and
    //! certificates are made on the spot with rcgen, as `dev-cert` makes them.

    use super::*;

    use rcgen::{CertificateParams, KeyPair};

    /// A temporary directory with PEM files in it, removed at the end.
    struct Files {
        dir: tempfile::TempDir,
    }

    impl Files {
        fn new() -> Files {
            Files {
                dir: tempfile::tempdir().expect("a temporary directory"),
            }
        }

        fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
            let path = self.dir.path().join(name);
            std::fs::write(&path, contents).expect("writing a test file");
            path
        }

        /// A self-signed certificate for localhost and its key (PKCS#8).
        fn cert_and_key(&self, prefix: &str) -> (PathBuf, PathBuf) {
            let key = KeyPair::generate().expect("a new key");
            let cert = CertificateParams::new(vec!["localhost".to_string()])
                .expect("valid names")
                .self_signed(&key)
                .expect("a self-signed certificate");
            (
                self.write(&format!("{prefix}cert.pem"), cert.pem()),
                self.write(&format!("{prefix}key.pem"), key.serialize_pem()),
            )
        }
    }

    fn error_of(cert: Option<&Path>, key: Option<&Path>) -> String {
        match from_settings(cert.map(Path::to_path_buf), key.map(Path::to_path_buf)) {
            Ok(_) => panic!("expected {cert:?} / {key:?} to be refused"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn neither_set_means_plain_http() {
        assert!(matches!(from_settings(None, None), Ok(None)));
    }

    #[test]
    fn a_matching_certificate_and_key_make_a_config_offering_http_1_1() {
        let files = Files::new();
        let (cert, key) = files.cert_and_key("");
        let config = from_settings(Some(cert), Some(key))
            .expect("usable settings")
            .expect("TLS on");
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    fn test_data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/tls")
            .join(name)
    }

    #[test]
    fn an_rsa_key_in_pkcs1_form_is_accepted() {
        let config = from_settings(
            Some(test_data("rsa-cert.pem")),
            Some(test_data("rsa-key.pem")),
        );
        assert!(matches!(config, Ok(Some(_))), "{config:?}");
    }

    #[test]
    fn an_ec_key_in_sec1_form_is_accepted() {
        let config = from_settings(
            Some(test_data("ec-cert.pem")),
            Some(test_data("ec-key.pem")),
        );
        assert!(matches!(config, Ok(Some(_))), "{config:?}");
    }

    #[test]
    fn a_chain_is_accepted_with_the_key_of_its_first_certificate() {
        let files = Files::new();
        let (cert, key) = files.cert_and_key("");
        let mut chain = std::fs::read(&cert).expect("the certificate");
        chain.extend(std::fs::read(test_data("ec-cert.pem")).expect("another certificate"));
        let chain = files.write("chain.pem", chain);
        let config = from_settings(Some(chain), Some(key));
        assert!(matches!(config, Ok(Some(_))), "{config:?}");
    }

    #[test]
    fn only_the_certificate_set_is_refused_naming_the_missing_key() {
        let files = Files::new();
        let (cert, _) = files.cert_and_key("");
        let error = error_of(Some(&cert), None);
        assert!(
            error.starts_with("TLS_CERT is set but TLS_KEY is not"),
            "{error}"
        );
    }

    #[test]
    fn only_the_key_set_is_refused_naming_the_missing_certificate() {
        let files = Files::new();
        let (_, key) = files.cert_and_key("");
        let error = error_of(None, Some(&key));
        assert!(
            error.starts_with("TLS_KEY is set but TLS_CERT is not"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_certificate_file_is_refused() {
        let files = Files::new();
        let (_, key) = files.cert_and_key("");
        let missing = files.dir.path().join("nope.pem");
        let error = error_of(Some(&missing), Some(&key));
        assert_eq!(
            error,
            format!("TLS_CERT={missing:?} cannot be read: no such file")
        );
    }

    #[test]
    fn a_missing_key_file_is_refused() {
        let files = Files::new();
        let (cert, _) = files.cert_and_key("");
        let missing = files.dir.path().join("nope.pem");
        let error = error_of(Some(&cert), Some(&missing));
        assert_eq!(
            error,
            format!("TLS_KEY={missing:?} cannot be read: no such file")
        );
    }

    #[test]
    fn a_directory_instead_of_a_file_is_refused() {
        let files = Files::new();
        let (_, key) = files.cert_and_key("");
        let error = error_of(Some(files.dir.path()), Some(&key));
        assert!(error.starts_with("TLS_CERT="), "{error}");
        assert!(error.contains("cannot be read"), "{error}");
    }

    // Unix only: it makes the key unreadable with mode 000, and Windows
    // has no mode bits.
    #[cfg(unix)]
    #[test]
    fn an_unreadable_key_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let files = Files::new();
        let (cert, key) = files.cert_and_key("");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o000)).expect("chmod 000");
        // root reads any file whatever its mode: nothing to test then.
        if std::fs::read(&key).is_ok() {
            return;
        }
        let error = error_of(Some(&cert), Some(&key));
        assert_eq!(
            error,
            format!("TLS_KEY={key:?} cannot be read: permission denied")
        );
    }

    #[test]
    fn a_file_without_a_certificate_is_refused() {
        let files = Files::new();
        let (_, key) = files.cert_and_key("");
        let empty = files.write("empty.pem", "just some text\n");
        let error = error_of(Some(&empty), Some(&key));
        assert_eq!(
            error,
            format!(
                "TLS_CERT={empty:?} holds no certificate (no \"-----BEGIN CERTIFICATE-----\" block)"
            )
        );
    }

    #[test]
    fn swapped_settings_are_named_as_such() {
        let files = Files::new();
        let (cert, key) = files.cert_and_key("");
        let error = error_of(Some(&key), Some(&cert));
        assert!(
            error.starts_with(&format!("TLS_CERT={key:?} holds no certificate")),
            "{error}"
        );
        assert!(
            error.ends_with("are TLS_CERT and TLS_KEY swapped?"),
            "{error}"
        );
    }

    #[test]
    fn a_file_without_a_key_is_refused() {
        let files = Files::new();
        let (cert, _) = files.cert_and_key("");
        let empty = files.write("empty.pem", "");
        let error = error_of(Some(&cert), Some(&empty));
        assert!(
            error.starts_with(&format!("TLS_KEY={empty:?} holds no private key")),
            "{error}"
        );
        assert!(!error.contains("swapped"), "{error}");
    }

    #[test]
    fn broken_pem_is_refused() {
        let files = Files::new();
        let (cert, _) = files.cert_and_key("");
        let broken = files.write(
            "broken.pem",
            "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n",
        );
        let error = error_of(Some(&cert), Some(&broken));
        assert!(
            error.starts_with(&format!("TLS_KEY={broken:?} is not valid PEM")),
            "{error}"
        );
    }

    #[test]
    fn a_key_that_is_no_key_is_refused() {
        let files = Files::new();
        let (cert, _) = files.cert_and_key("");
        // Valid PEM and base64, but the bytes inside are no PKCS#8 key.
        let garbage = files.write(
            "garbage.pem",
            "-----BEGIN PRIVATE KEY-----\nAAECAwQFBgcICQ==\n-----END PRIVATE KEY-----\n",
        );
        let error = error_of(Some(&cert), Some(&garbage));
        assert!(
            error.starts_with(&format!("TLS_KEY={garbage:?} cannot be used")),
            "{error}"
        );
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let files = Files::new();
        let (cert, _) = files.cert_and_key("a-");
        let (_, other_key) = files.cert_and_key("b-");
        let error = error_of(Some(&cert), Some(&other_key));
        assert_eq!(
            error,
            format!(
                "TLS_KEY={other_key:?} is not the private key of the certificate in TLS_CERT={cert:?}"
            )
        );
    }

    #[test]
    fn a_pem_file_of_1_mib_is_read_and_one_byte_more_is_refused() {
        let files = Files::new();
        let limit = MAX_PEM_FILE as usize;
        for (len, read) in [(limit - 1, true), (limit, true), (limit + 1, false)] {
            let path = files.write("sized.pem", vec![b'A'; len]);
            let outcome = read_limited("TLS_CERT", &path);
            assert_eq!(outcome.is_ok(), read, "{len} bytes");
            if let Ok(bytes) = outcome {
                assert_eq!(bytes.len(), len);
            }
        }
    }

    #[test]
    fn a_file_too_large_to_be_pem_is_refused() {
        let files = Files::new();
        let (_, key) = files.cert_and_key("");
        let huge = files.write("huge.pem", vec![b'A'; MAX_PEM_FILE as usize + 1]);
        let error = error_of(Some(&huge), Some(&key));
        assert!(
            error.starts_with(&format!("TLS_CERT={huge:?} is larger than")),
            "{error}"
        );
    }
}

//! HTTPS for tests: a throwaway CA, a certificate for localhost signed by
//! it, and rustls clients that trust that CA (and nothing else).
//!
//! What to notice: the certificates are made as `dev-cert` makes them, the
//! same kind of chain a learner uses, and written to files, so a server
//! loads them exactly as `TLS_CERT` / `TLS_KEY` are loaded (a lesson's
//! `tests/support/` does that with the lesson's own loader). The clients
//! use rustls with the ring provider, as the lessons do.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore, SupportedProtocolVersion};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// How long a TLS connect may take in a test.
const CONNECT_PATIENCE: Duration = Duration::from_secs(10);

/// The two TLS versions every HTTPS test runs with.
pub const VERSIONS: [&SupportedProtocolVersion; 2] =
    [&rustls::version::TLS12, &rustls::version::TLS13];

/// A CA and a server certificate for localhost, 127.0.0.1 and ::1, as PEM
/// files in a temporary directory (removed when this is dropped).
pub struct TestCa {
    /// Holds the files; dropping it removes them.
    _dir: tempfile::TempDir,
    /// The CA's certificate: what clients trust.
    pub ca_pem: PathBuf,
    /// The server's certificate (`TLS_CERT`).
    pub cert_pem: PathBuf,
    /// The server's private key (`TLS_KEY`).
    pub key_pem: PathBuf,
}

impl TestCa {
    /// Makes the CA and the server certificate and writes them out.
    #[allow(clippy::new_without_default)] // Each call makes new keys: not a default.
    pub fn new() -> TestCa {
        let dir = tempfile::tempdir().expect("a temporary directory");

        let mut ca_params = CertificateParams::default();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let ca_key = KeyPair::generate().expect("a CA key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("the CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);

        let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
        let mut params = CertificateParams::new(names).expect("valid names");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("a server key");
        let cert = params
            .signed_by(&key, &issuer)
            .expect("the server certificate");

        let write = |name: &str, pem: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).expect("writing a PEM file");
            path
        };
        TestCa {
            ca_pem: write("ca.pem", ca_cert.pem()),
            cert_pem: write("cert.pem", cert.pem()),
            key_pem: write("key.pem", key.serialize_pem()),
            _dir: dir,
        }
    }

    /// A client that trusts this CA only, speaks only `version`, and offers
    /// HTTP/2 before HTTP/1.1 in ALPN, as browsers and curl do.
    pub fn client_config(&self, version: &'static SupportedProtocolVersion) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        let ca = CertificateDer::from_pem_file(&self.ca_pem).expect("the CA certificate");
        roots.add(ca).expect("a valid CA certificate");
        let mut config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(&[version])
                .expect("a supported version")
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A TLS connection to `addr` as `localhost`, handshake done.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        version: &'static SupportedProtocolVersion,
    ) -> TlsStream<TcpStream> {
        let connector = TlsConnector::from(self.client_config(version));
        let connect = async {
            let tcp = TcpStream::connect(addr).await?;
            connector
                .connect(
                    ServerName::try_from("localhost").expect("a valid name"),
                    tcp,
                )
                .await
        };
        tokio::time::timeout(CONNECT_PATIENCE, connect)
            .await
            .expect("TLS connect timed out")
            .expect("TLS handshake")
    }
}

//! A TLS server on loopback whose certificate is signed by a CA made at
//! test time, so a client trusts it only when given the CA's PEM.

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConnection, StreamOwned};

/// A TLS connection a test server answers on.
pub type TlsStream = StreamOwned<ServerConnection, TcpStream>;

/// Accepts TLS connections on 127.0.0.1 for `for_how_long`, each handed to
/// `handle` on its own thread (a client that refuses the certificate
/// fails the handshake inside it). Returns the port and the CA's PEM.
pub fn serve<F>(for_how_long: Duration, handle: F) -> (u16, String)
where
    F: Fn(TlsStream) + Clone + Send + 'static,
{
    let (config, ca_pem) = server_config();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let end = Instant::now() + for_how_long;
        while Instant::now() < end {
            let tcp = match listener.accept() {
                Ok((tcp, _)) => tcp,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    // Paces the server's accept loop until its end time.
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                Err(_) => return,
            };
            let config = Arc::clone(&config);
            let handle = handle.clone();
            std::thread::spawn(move || {
                let _ = tcp.set_nonblocking(false);
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(conn) = ServerConnection::new(config) else {
                    return;
                };
                handle(StreamOwned::new(conn, tcp));
            });
        }
    });
    (port, ca_pem)
}

/// A certificate for 127.0.0.1 signed by a CA made now.
pub struct Certificates {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    cert_der: rustls::pki_types::CertificateDer<'static>,
    key_der: Vec<u8>,
}

/// A server certificate for 127.0.0.1 signed by a fresh CA.
pub fn certificates() -> Certificates {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("params")
        .signed_by(&key, &issuer)
        .expect("leaf");
    Certificates {
        ca_pem: ca_cert.pem(),
        cert_pem: leaf.pem(),
        key_pem: key.serialize_pem(),
        cert_der: leaf.der().clone(),
        key_der: key.serialize_der(),
    }
}

/// A server certificate for 127.0.0.1 signed by a fresh CA, and the CA's PEM.
fn server_config() -> (Arc<rustls::ServerConfig>, String) {
    let c = certificates();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![c.cert_der],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(c.key_der)),
        )
        .expect("server config");
    (Arc::new(config), c.ca_pem)
}

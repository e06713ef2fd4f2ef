//! The certificates TLS clients trust: the system's root certificates plus
//! those of CA files (PEM) the operator names (`--ca-file`, an HTTP
//! actuator's `ca_file`). Websocket sources and HTTP actuators use the same
//! rule, so a server one of them trusts the other trusts too.

use std::io::BufReader;
use std::path::Path;
use std::sync::OnceLock;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use tracing::{debug, warn};

/// The system's root certificates, read once per process: reading them
/// takes milliseconds, which a kill switch should not spend when it trips.
pub fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            debug!(error = %e, "a system root certificate could not be loaded");
        }
        debug!(count = native.certs.len(), "system root certificates");
        native.certs
    })
}

/// The certificates of a CA file (PEM), each checked to be usable as a
/// trust anchor. Errors are one line naming the file.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let fail = |message: String| format!("{}: {message}", path.display());
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let mut certs = Vec::new();
    let mut anchors = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut BufReader::new(file)) {
        let cert = cert.map_err(|e| fail(format!("invalid PEM: {e}")))?;
        anchors
            .add(cert.clone())
            .map_err(|e| fail(format!("invalid certificate: {e}")))?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(fail("no PEM certificate in the file".into()));
    }
    Ok(certs)
}

/// The system's roots plus the certificates of every file in `ca_files`.
pub fn trusted<'a>(
    ca_files: impl IntoIterator<Item = &'a Path>,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut certs = system_roots().to_vec();
    for path in ca_files {
        certs.extend(read_ca_file(path)?);
    }
    if certs.is_empty() {
        warn!("no system root certificates found: TLS servers need --ca-file");
    }
    Ok(certs)
}

/// [`trusted`] as the store rustls verifies servers against.
pub fn root_store<'a>(
    ca_files: impl IntoIterator<Item = &'a Path>,
) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(trusted(ca_files)?);
    debug!(added, ignored, "trusted root certificates");
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_that_holds_no_usable_certificate_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, &[u8], &str); 3] = [
            ("empty.pem", b"", "no PEM certificate"),
            (
                "torn.pem",
                b"-----BEGIN CERTIFICATE-----\nMIIB\n",
                "invalid PEM",
            ),
            (
                "junk.pem",
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "invalid certificate",
            ),
        ];
        for (name, bytes, needle) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let e = read_ca_file(&path).unwrap_err();
            assert!(e.starts_with(&format!("{}: ", path.display())), "{e}");
            assert!(e.contains(needle), "{name}: {e}");
        }
        let e = read_ca_file(&dir.path().join("missing.pem")).unwrap_err();
        assert!(e.contains("missing.pem: cannot read"), "{e}");
    }
}

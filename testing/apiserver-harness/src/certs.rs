//! The key material one control plane needs, generated fresh per control plane so no test trusts
//! another test's server and nothing secret is ever committed.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::Error;

/// A PEM certificate and its PEM private key.
pub(crate) struct CertifiedKey {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
}

/// Files written by [`Pki::write`], as the kube-apiserver flags want them.
pub(crate) struct PkiFiles {
    pub(crate) ca_cert: PathBuf,
    pub(crate) serving_cert: PathBuf,
    pub(crate) serving_key: PathBuf,
    pub(crate) service_account_public_key: PathBuf,
    pub(crate) service_account_private_key: PathBuf,
}

/// A CA, a serving certificate for loopback signed by it, and the service-account signing key.
pub(crate) struct Pki {
    pub(crate) ca_cert_pem: String,
    serving: CertifiedKey,
    service_account: KeyPair,
}

impl Pki {
    pub(crate) fn generate() -> Result<Self, Error> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "capdkc-test-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);
        let serving = serving_certificate(&issuer)?;
        Ok(Self {
            ca_cert_pem: ca_cert.pem(),
            serving,
            // kube-apiserver signs service-account tokens with it (ES256) and verifies them with
            // the public half.
            service_account: KeyPair::generate()?,
        })
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<PkiFiles, Error> {
        let files = PkiFiles {
            ca_cert: dir.join("ca.crt"),
            serving_cert: dir.join("apiserver.crt"),
            serving_key: dir.join("apiserver.key"),
            service_account_public_key: dir.join("sa.pub"),
            service_account_private_key: dir.join("sa.key"),
        };
        write_file(&files.ca_cert, &self.ca_cert_pem)?;
        write_file(&files.serving_cert, &self.serving.cert_pem)?;
        write_file(&files.serving_key, &self.serving.key_pem)?;
        write_file(
            &files.service_account_public_key,
            &self.service_account.public_key_pem(),
        )?;
        write_file(
            &files.service_account_private_key,
            &self.service_account.serialize_pem(),
        )?;
        Ok(files)
    }
}

/// A self-signed loopback serving certificate, for servers nobody needs to trust (the Cluster API
/// manager's webhook server, which must start even though no webhook is registered).
pub(crate) fn self_signed_loopback() -> Result<CertifiedKey, Error> {
    let key = KeyPair::generate()?;
    let params = loopback_params("capdkc-test-webhook")?;
    let cert = params.self_signed(&key)?;
    Ok(CertifiedKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

fn serving_certificate(issuer: &Issuer<'_, KeyPair>) -> Result<CertifiedKey, Error> {
    let key = KeyPair::generate()?;
    let cert = loopback_params("kube-apiserver")?.signed_by(&key, issuer)?;
    Ok(CertifiedKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Clients connect to 127.0.0.1, or to `localhost`, so both must be in the certificate.
fn loopback_params(common_name: &str) -> Result<CertificateParams, Error> {
    let mut params = CertificateParams::new(vec![
        IpAddr::V4(Ipv4Addr::LOCALHOST).to_string(),
        "localhost".to_owned(),
    ])?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok(params)
}

pub(crate) fn write_file(path: &Path, contents: &str) -> Result<(), Error> {
    std::fs::write(path, contents).map_err(|source| Error::io("writing a file", path, source))
}

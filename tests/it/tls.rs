//! The embedded registry over https, end to end: a private CA and a server certificate for
//! 127.0.0.1 / localhost made in the test (rcgen), the registry started with them, and the
//! real clients pointed at it: `tfpub module publish` trusting the CA through `--ca-cert`,
//! then through `SSL_CERT_FILE`, refusing (host, cause, hint) when given neither, and the
//! real `terraform init` installing the published module with the CA in `SSL_CERT_FILE`.
//! Also `registry serve` refusing unusable TLS files with the file named.

use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tempfile::TempDir;
use tfpub_registry::{self as registry, RegistryOptions, RunningRegistry, TlsFiles};

use crate::support::terraform::Terraform;
use crate::support::{clean_tfpub, module_copy, ok_json, run, Run, ORG, TEST_TOKEN};

/// A private CA and a server certificate it issued for 127.0.0.1 and localhost, as PEM
/// files in a scratch folder.
pub(crate) struct Pki {
    dir: TempDir,
}

impl Pki {
    pub(crate) fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "tfpub test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();

        let mut server =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        server
            .distinguished_name
            .push(DnType::CommonName, "tfpub test registry");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let server_key = KeyPair::generate().unwrap();
        let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key).unwrap();

        let pki = Pki { dir };
        std::fs::write(pki.ca(), ca_cert.pem()).unwrap();
        std::fs::write(pki.cert(), server_cert.pem()).unwrap();
        std::fs::write(pki.key(), server_key.serialize_pem()).unwrap();
        pki
    }

    pub(crate) fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }

    fn files(&self) -> TlsFiles {
        TlsFiles {
            cert: self.cert(),
            key: self.key(),
        }
    }
}

/// An https registry on 127.0.0.1 with its own data folder and a scratch HOME for the CLI.
pub(crate) struct HttpsRegistry {
    pub(crate) reg: RunningRegistry,
    _data: TempDir,
    home: TempDir,
}

impl HttpsRegistry {
    pub(crate) async fn start(pki: &Pki) -> HttpsRegistry {
        let data = tempfile::tempdir().unwrap();
        let mut opts = RegistryOptions::new(data.path());
        opts.tls = Some(pki.files());
        let reg = registry::start(opts, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("https registry starts");
        HttpsRegistry {
            reg,
            _data: data,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// `127.0.0.1:PORT` (tfpub takes a bare loopback host for plain http, so the target
    /// is given as `https://` + this).
    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.reg.addr().port())
    }

    /// `tfpub module publish --json` of the sample module at `dir`, aimed at this registry
    /// through the environment, trusting no CA unless the caller adds one.
    pub(crate) fn publish(&self, dir: &Path, version: &str) -> Command {
        let mut c = clean_tfpub(self.home.path());
        c.env("TFE_HOSTNAME", format!("https://{}", self.host()))
            .env("TFE_ORGANIZATION", ORG)
            .env("TFE_TOKEN", TEST_TOKEN)
            .args(["module", "publish", "--json", "--version", version])
            .args(["--timeout", "30"])
            .arg(dir);
        c
    }

    /// The published version's status, read over https with a client trusting `ca`.
    pub(crate) async fn version_status(&self, ca: &Path, name: &str, version: &str) -> String {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
        let http = reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap();
        let url = self.reg.base_url().join(&format!(
            "api/v2/organizations/{ORG}/registry-modules/private/{ORG}/{name}/null/version?module_version={version}"
        ))
        .unwrap();
        let v: serde_json::Value = http
            .get(url)
            .bearer_auth(TEST_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["data"]["attributes"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

#[tokio::test]
async fn the_registry_says_https_in_its_links() {
    {
        let pki = Pki::new();
        let r = HttpsRegistry::start(&pki).await;
        assert_eq!(r.reg.base_url().scheme(), "https");
        let ca = reqwest::Certificate::from_pem(&std::fs::read(pki.ca()).unwrap()).unwrap();
        let http = reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap();
        // Links computed from the request carry its scheme and host.
        let url = format!(
            "https://localhost:{}/api/v2/organizations/{ORG}/registry-modules",
            r.reg.addr().port()
        );
        let resp = http
            .post(&url)
            .bearer_auth(TEST_TOKEN)
            .header("content-type", "application/vnd.api+json")
            .body(
                serde_json::json!({"data": {"type": "registry-modules", "attributes": {"name": "links", "provider": "null", "registry-name": "private"}}})
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let vurl = format!("{url}/private/{ORG}/links/null/versions");
        let v: serde_json::Value = http
            .post(&vurl)
            .bearer_auth(TEST_TOKEN)
            .header("content-type", "application/vnd.api+json")
            .body(serde_json::json!({"data": {"type": "registry-module-versions", "attributes": {"version": "1.0.0"}}}).to_string())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let upload = v["data"]["links"]["upload"].as_str().unwrap();
        assert!(
            upload.starts_with(&format!(
                "https://localhost:{}/_archivist/upload/",
                r.reg.addr().port()
            )),
            "{upload}"
        );
        // The same port does not answer plain http.
        let plain = reqwest::Client::new()
            .get(format!("http://{}/.well-known/terraform.json", r.host()))
            .send()
            .await;
        assert!(plain.is_err() || !plain.unwrap().status().is_success());
        r.reg.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_over_https_with_ca_cert_flag_then_ssl_cert_file() {
    let pki = Pki::new();
    let r = HttpsRegistry::start(&pki).await;
    let (_tmp, dir) = module_copy();

    let mut c = r.publish(&dir, "1.0.0");
    c.arg("--ca-cert").arg(pki.ca());
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "published", "{d}");
    assert_eq!(r.version_status(&pki.ca(), "greeting", "1.0.0").await, "ok");

    let mut c = r.publish(&dir, "1.1.0");
    c.env("SSL_CERT_FILE", pki.ca());
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "published", "{d}");
    assert_eq!(r.version_status(&pki.ca(), "greeting", "1.1.0").await, "ok");
    r.reg.shutdown().await;
}

/// Without the CA, the publish fails before sending anything, and says where, why and what
/// to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_without_the_ca_is_refused_with_host_cause_and_hint() {
    let pki = Pki::new();
    let r = HttpsRegistry::start(&pki).await;
    let (_tmp, dir) = module_copy();

    let out: Run = run(r.publish(&dir, "1.0.0")).await;
    assert_ne!(out.code, 0, "{out:?}");
    let d = out.json();
    assert_eq!(d["ok"], false, "{d}");
    let text = format!("{}\n{}", d["error"], out.stderr);
    assert!(text.contains(&r.host()), "names the host:\n{text}");
    assert!(
        text.to_lowercase().contains("unknownissuer")
            || text.to_lowercase().contains("unknown issuer"),
        "names the verification error:\n{text}"
    );
    assert!(text.contains("--ca-cert"), "hints at --ca-cert:\n{text}");
    assert!(
        text.contains("SSL_CERT_FILE"),
        "hints at SSL_CERT_FILE:\n{text}"
    );
    assert_eq!(r.reg.stats().writes(), 0, "nothing was written");
    r.reg.shutdown().await;
}

/// The real Terraform CLI installs a module published over https, trusting the private CA
/// through SSL_CERT_FILE. The CLI config maps the source host with a `host` block whose
/// service URLs are the registry's https URLs (Terraform's own discovery would need the
/// source hostname to be the certificate's and resolve to loopback).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_init_installs_from_the_https_registry() {
    let pki = Pki::new();
    let r = HttpsRegistry::start(&pki).await;
    let (_tmp, dir) = module_copy();
    let mut c = r.publish(&dir, "1.0.0");
    c.arg("--ca-cert").arg(pki.ca());
    ok_json(&run(c).await);

    let tf = Terraform::new(
        &r.reg,
        TEST_TOKEN,
        "module \"greeting\" {\n  source  = \"registry.tfpub.test/acme/greeting/null\"\n  version = \"1.0.0\"\n}\n\noutput \"g\" { value = module.greeting.greeting }\n",
    );
    // Without the CA, Terraform refuses the registry's certificate.
    let mut refused = tf.command(&["init", "-input=false", "-no-color"]);
    refused.env_remove("SSL_CERT_FILE");
    let out = tokio::task::spawn_blocking(move || refused.output().unwrap())
        .await
        .unwrap();
    assert!(!out.status.success(), "init without the CA must fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("certificate"), "{err}");

    let mut init = tf.command(&["init", "-input=false", "-no-color"]);
    init.env("SSL_CERT_FILE", pki.ca());
    let out = tokio::task::spawn_blocking(move || crate::support::command_ok(&mut init))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("greeting"), "{text}");
    assert!(
        tf.data_dir().join("modules/greeting/main.tf").exists(),
        "module installed:\n{text}"
    );
    r.reg.shutdown().await;
}

/// `registry serve` with unusable TLS files stops before listening, naming the file, with a
/// hint (not inside the message).
#[test]
fn serve_refuses_unusable_tls_files_naming_them() {
    let pki = Pki::new();
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let serve = |cert: &Path, key: &Path| {
        let mut c = clean_tfpub(home.path());
        c.args(["registry", "serve", "--listen", "127.0.0.1:0"])
            .arg("--data")
            .arg(&data)
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key);
        crate::support::run_blocking(c)
    };

    let missing = home.path().join("missing.pem");
    let r = serve(&missing, &pki.key());
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("cannot read TLS certificate file"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&missing.display().to_string()),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--tls-cert"), "{}", r.stderr);

    // The certificate given as the key: no private key in it.
    let r = serve(&pki.cert(), &pki.cert());
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("TLS key file"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&pki.cert().display().to_string()),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("no PEM private key"), "{}", r.stderr);

    // A key that is not the certificate's.
    let other = Pki::new();
    let r = serve(&pki.cert(), &other.key());
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("cannot be used together"), "{}", r.stderr);
    assert!(r.stderr.contains("--tls-key"), "{}", r.stderr);

    // One flag without the other is a usage error.
    let mut c = clean_tfpub(home.path());
    c.args(["registry", "serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(pki.cert());
    let r = crate::support::run_blocking(c);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--tls-key"), "{}", r.stderr);
}

//! Integration tests: tfpub through a real HTTP proxy (tinyproxy, started by each test on
//! a free loopback port with a config the test writes, killed when the test ends).
//!
//! Shown: API calls and archivist uploads (two separate HTTP clients) both go through the
//! proxy the environment names; `NO_PROXY` bypasses it; an https registry is reached with
//! CONNECT (the proxy sees only host and port), and a whole publish to an https registry
//! (private CA given by `--ca-cert`) goes through tunnels only, the token never in the
//! proxy's log; an unreachable proxy fails at once with a
//! message naming it and never the password in its URL. The tests fail, not skip, when
//! tinyproxy is missing.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{module_copy, ok_json, run, TestRegistry, TEST_TOKEN};
use crate::tls::{HttpsRegistry, Pki};

const PROXY_VARS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUEST_METHOD",
];

/// A tinyproxy process on 127.0.0.1, logging every request line to a file.
struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Tinyproxy {
    fn start() -> Tinyproxy {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("tinyproxy.log");
        let conf = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{}\"\nLogLevel Info\n\
                 MaxClients 50\nAllow 127.0.0.1\nDisableViaHeader Yes\n",
                log.display()
            ),
        )
        .unwrap();
        let child = match Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => panic!(
                "cannot start tinyproxy ({e}); the proxy tests need it: \
                 `apt-get install tinyproxy` (.ci/run installs it)"
            ),
        };
        let mut p = Tinyproxy {
            child,
            port,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = p.child.try_wait().unwrap() {
                panic!("tinyproxy exited ({status}): {}", p.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "tinyproxy did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        p
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The request lines tinyproxy logged (`GET http://... HTTP/1.1`, `CONNECT h:p ...`).
    fn requests(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter_map(|l| l.split_once("): ").map(|(_, r)| r))
            .filter(|r| r.ends_with("HTTP/1.1") || r.ends_with("HTTP/1.0"))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cmd` with exactly the given proxy variables (none inherited from the test's shell).
fn with_proxy_env(mut cmd: Command, vars: &[(&str, &str)]) -> Command {
    for v in PROXY_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_calls_and_archivist_uploads_both_go_through_the_proxy() {
    let proxy = Tinyproxy::start();
    let t = TestRegistry::start().await;
    let reg = t.host();
    let (_tmp, dir) = module_copy();
    let mut c = t.tfpub();
    c.args(["module", "publish", "--version", "1.0.0", "--json"])
        .arg(&dir);
    let c = with_proxy_env(c, &[("HTTP_PROXY", &proxy.url())]);
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "published", "{d}");

    let reqs = proxy.requests();
    let api = format!("http://{reg}/api/v2/");
    let upload = format!("PUT http://{reg}/_archivist/upload/");
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("GET ") && r.contains(&api)),
        "no API GET through the proxy: {reqs:#?}"
    );
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("POST ") && r.contains(&api)),
        "no API POST through the proxy: {reqs:#?}"
    );
    assert!(
        reqs.iter().any(|r| r.starts_with(&upload)),
        "the archivist upload (the separate upload client) bypassed the proxy: {reqs:#?}"
    );
    assert!(!proxy.log_text().contains(TEST_TOKEN));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_bypasses_the_proxy() {
    let proxy = Tinyproxy::start();
    let t = TestRegistry::start().await;
    let whoami = |vars: &[(&str, &str)]| with_proxy_env(t.tfpub(), vars);
    let mut c = whoami(&[
        ("HTTP_PROXY", &proxy.url()),
        ("NO_PROXY", "localhost,127.0.0.1"),
    ]);
    c.args(["whoami", "--json"]);
    ok_json(&run(c).await);
    assert_eq!(
        proxy.requests(),
        Vec::<String>::new(),
        "NO_PROXY was ignored"
    );

    // A NO_PROXY for other hosts leaves this one proxied (lower-case variables work too).
    let mut c = whoami(&[("http_proxy", &proxy.url()), ("no_proxy", "example.com")]);
    c.args(["whoami", "--json"]);
    ok_json(&run(c).await);
    let reqs = proxy.requests();
    assert!(
        reqs.iter()
            .any(|r| r.contains(&format!("http://{}/api/v2/", t.host()))),
        "{reqs:#?}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_registry_is_reached_with_connect() {
    let proxy = Tinyproxy::start();
    let t = TestRegistry::start().await;
    // The test registry speaks plain HTTP, so the TLS handshake inside the tunnel fails;
    // what matters here is how the proxy was asked: CONNECT host:port, nothing else.
    let mut c = with_proxy_env(t.tfpub(), &[("HTTPS_PROXY", &proxy.url())]);
    c.env("TFE_HOSTNAME", format!("https://{}", t.host()))
        .args(["whoami", "--json"]);
    let r = run(c).await;
    assert_ne!(r.code, 0, "{}", r.stdout);
    let reqs = proxy.requests();
    assert!(
        reqs.iter()
            .any(|r| r.starts_with(&format!("CONNECT {} ", t.host()))),
        "{reqs:#?}"
    );
    assert!(
        reqs.iter().all(|r| r.starts_with("CONNECT ")),
        "the proxy saw a request in clear: {reqs:#?}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_to_an_https_registry_goes_through_connect_tunnels_only() {
    let proxy = Tinyproxy::start();
    let pki = Pki::new();
    let r = HttpsRegistry::start(&pki).await;
    let (_tmp, dir) = module_copy();
    let mut c = r.publish(&dir, "1.0.0");
    c.arg("--ca-cert").arg(pki.ca());
    let c = with_proxy_env(c, &[("HTTPS_PROXY", &proxy.url())]);
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "published", "{d}");
    assert_eq!(r.version_status(&pki.ca(), "greeting", "1.0.0").await, "ok");

    // API calls and the archivist upload (links say https://127.0.0.1 or localhost) were
    // all tunnelled: the proxy saw CONNECT host:port and nothing in clear, so neither the
    // token nor a path.
    let reqs = proxy.requests();
    let port = r.reg.addr().port();
    assert!(
        reqs.iter()
            .any(|q| q.starts_with(&format!("CONNECT {} ", r.host()))),
        "{reqs:#?}"
    );
    assert!(
        reqs.iter().all(|q| q.starts_with("CONNECT ")
            && (q.contains(&format!("127.0.0.1:{port} "))
                || q.contains(&format!("localhost:{port} ")))),
        "the proxy saw something other than a tunnel to the registry: {reqs:#?}"
    );
    let log = proxy.log_text();
    assert!(
        !log.contains(TEST_TOKEN),
        "the token reached the proxy log:\n{log}"
    );
    assert!(
        !log.contains("/api/v2/"),
        "a path reached the proxy log:\n{log}"
    );
    r.reg.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_proxy_fails_fast_naming_it_without_its_password() {
    let t = TestRegistry::start().await;
    let dead = free_port();
    let proxy = format!("http://deploy:s3cretpass@127.0.0.1:{dead}");
    for verbose in [false, true] {
        let mut c = with_proxy_env(t.tfpub(), &[("HTTP_PROXY", &proxy)]);
        c.args(["whoami", "--json"]);
        if verbose {
            c.arg("-v");
        }
        let started = Instant::now();
        let r = run(c).await;
        let took = started.elapsed();
        assert_ne!(r.code, 0, "{}", r.stdout);
        assert!(took < Duration::from_secs(5), "took {took:?}: not fast");
        let all = format!("{}\n{}", r.stdout, r.stderr);
        assert!(
            !all.contains("s3cretpass"),
            "the proxy password leaked:\n{all}"
        );
        let e = &r.json()["error"];
        let msg = e["message"].as_str().unwrap();
        assert!(
            msg.contains(&format!("proxy http://***@127.0.0.1:{dead}")),
            "{msg}"
        );
        assert!(e["hint"].as_str().unwrap().contains("NO_PROXY"), "{e}");
    }
    // Nothing reached the registry.
    assert_eq!(t.reg.stats().writes(), 0);
    t.stop().await;
}

//! Where tfpub publishes to and with which credentials.
//!
//! The resolution order mirrors what Terraform and go-tfe users already set up, so a
//! machine that can `terraform login` can publish without extra configuration:
//! host `--host` > `TFE_HOSTNAME` > `app.terraform.io`; organization `--organization` >
//! `TFE_ORGANIZATION`; token `TF_TOKEN_<host>` > `TFE_TOKEN` > the credentials file written
//! by `terraform login`. Tokens are never accepted as flags (they would land in shell
//! history and process lists). Every resolved value records its source so errors and
//! `-v` output can say where a value came from.

use crate::error::{ErrorKind, Hint};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::secret::Secret;

/// The default host when neither `--host` nor `TFE_HOSTNAME` is given.
pub const DEFAULT_HOST: &str = "app.terraform.io";

/// Target-related command-line flags.
#[derive(Debug, Clone, Default)]
pub struct TargetFlags {
    pub host: Option<String>,
    pub organization: Option<String>,
    pub ca_cert: Option<PathBuf>,
}

/// The process environment, injectable for tests.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub vars: HashMap<String, String>,
    pub home: Option<PathBuf>,
}

impl Environment {
    /// Snapshot of the real environment and home directory.
    pub fn from_process() -> Self {
        Environment {
            vars: std::env::vars().collect(),
            home: dirs::home_dir(),
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(|s| s.as_str())
            .filter(|s| !s.trim().is_empty())
    }
}

/// A fully resolved publishing target.
#[derive(Debug, Clone)]
pub struct Target {
    /// `https://host[:port]/` (http only for loopback).
    pub base_url: url::Url,
    /// `host[:port]` as the user knows it.
    pub host: String,
    pub organization: String,
    pub token: Secret<String>,
    pub token_source: String,
    pub host_source: String,
    pub org_source: String,
    pub ca_cert: Option<PathBuf>,
    pub ca_source: Option<String>,
    pub local: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no organization given")]
    NoOrganization,
    #[error("organization name {value:?} (from {source_name}) is not valid: {reason}")]
    InvalidOrganization {
        value: String,
        source_name: String,
        reason: String,
    },
    #[error("malformed host {value:?} (from {source_name}): {reason}")]
    MalformedHost {
        value: String,
        source_name: String,
        reason: String,
    },
    #[error("credentials file {path} could not be read: {reason}")]
    CredentialsUnreadable {
        path: PathBuf,
        host: String,
        var: String,
        reason: String,
    },
    #[error("credentials file {path} is unusable: {reason}")]
    CredentialsInvalid {
        path: PathBuf,
        host: String,
        var: String,
        reason: String,
    },
    #[error("CA certificate {path} (from {source_name}) is missing or unreadable: {reason}")]
    CaCert {
        path: PathBuf,
        source_name: String,
        reason: String,
    },
    #[error("no API token for {host}")]
    NoToken { host: String, var: String },
}

impl Hint for ConfigError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            ConfigError::NoOrganization => "pass --organization or set TFE_ORGANIZATION".into(),
            ConfigError::InvalidOrganization { .. } => {
                "HCP Terraform organization names use only letters, digits, `-` and `_`; check --organization / TFE_ORGANIZATION".into()
            }
            ConfigError::MalformedHost { .. } => {
                "use a host name such as app.terraform.io, tfe.example.com:8443 or https://tfe.example.com".into()
            }
            ConfigError::CredentialsUnreadable { host, var, .. } => {
                format!("run `terraform login {host}` or set {var}")
            }
            ConfigError::CredentialsInvalid { host, var, .. } => {
                format!("fix or remove the file, run `terraform login {host}`, or set {var}")
            }
            ConfigError::CaCert { .. } => "point --ca-cert / SSL_CERT_FILE at a PEM file".into(),
            ConfigError::NoToken { host, var } => format!(
                "set {var} or TFE_TOKEN, or run `terraform login {host}` (tokens are never read from flags)"
            ),
        })
    }
    fn kind(&self) -> Option<ErrorKind> {
        Some(ErrorKind::InvalidInput)
    }
}

/// The longest organization name the service (and the embedded registry) accepts.
pub const MAX_ORGANIZATION_NAME: usize = 64;

/// Why `name` is not a valid organization name, or `None` when it is.
///
/// The rule is the service's (HCP Terraform / Terraform Enterprise): one to
/// [`MAX_ORGANIZATION_NAME`] ASCII letters, digits, `-` and `_`. The embedded registry applies the same rule to the
/// names in its URL paths, so a name tfpub accepts is one every registry accepts, and a
/// name such as `..`, `a b` or one with a NUL never reaches a URL.
pub fn organization_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_ORGANIZATION_NAME {
        Some("it is longer than 64 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Some("only letters, digits, `-` and `_` are allowed")
    } else {
        None
    }
}

/// Refuse an invalid organization name, naming where it came from (`--organization`,
/// `TFE_ORGANIZATION`). The value is shown shortened and escaped.
pub fn check_organization(name: &str, source: &str) -> Result<(), ConfigError> {
    match organization_name_problem(name) {
        None => Ok(()),
        Some(reason) => {
            let mut value: String = name.chars().take(64).collect();
            if value.len() < name.len() {
                value.push_str("...");
            }
            Err(ConfigError::InvalidOrganization {
                value,
                source_name: source.to_string(),
                reason: reason.to_string(),
            })
        }
    }
}

/// The environment variable Terraform reads a token for `host` from: dots become `_`,
/// dashes become `__` (Terraform's encoding). A port keeps its `:` stripped out as `_`.
pub fn tf_token_var_name(host: &str) -> String {
    let mut s = String::from("TF_TOKEN_");
    for c in host.chars() {
        match c {
            '.' | ':' => s.push('_'),
            '-' => s.push_str("__"),
            c => s.push(c),
        }
    }
    s
}

/// The host a `TF_TOKEN_*` variable name stands for, by Terraform's rule: after the
/// prefix, `__` stands for `-` and then `_` for `.`; the result is compared in
/// Terraform's comparison form (see [`comparison_host`]). `None` when `name` is not a
/// `TF_TOKEN_` variable.
pub fn tf_token_var_host(name: &str) -> Option<String> {
    let raw = name.strip_prefix("TF_TOKEN_")?;
    if raw.is_empty() {
        return None;
    }
    let raw = raw.replace("__", "-").replace('_', ".");
    Some(comparison_host(&raw).unwrap_or_else(|| raw.to_lowercase()))
}

/// A host (with an optional `:port`) in the form Terraform compares credentials by:
/// lower case, internationalised names in Punycode (`café.fr` -> `xn--caf-dma.fr`).
/// `None` when it is not a host name at all.
pub fn comparison_host(host: &str) -> Option<String> {
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (n, Some(p)),
        _ => (host, None),
    };
    // url's host parser applies IDNA (which also lower-cases) and normalises IPs.
    let parsed = url::Host::parse(name).ok()?;
    Some(match port {
        Some(p) => format!("{parsed}:{p}"),
        None => parsed.to_string(),
    })
}

/// The `TF_TOKEN_*` variable (name, value) holding the token for `host` (`name[:port]`),
/// else for `bare_host`, decoding every such variable the way Terraform does, so any
/// spelling Terraform accepts (`TF_TOKEN_APP_TERRAFORM_IO`, `TF_TOKEN_my-tfe_example_com`,
/// a UTF-8 or `xn--` name) is found here too. tfpub's older spelling of a port
/// (`TF_TOKEN_127_0_0_1_8080` for `127.0.0.1:8080`) is still accepted. Variables are
/// visited in name order and, as in Terraform, the last spelling of one host wins, so
/// the choice never depends on hash order. Empty values are ignored.
fn token_from_env<'a>(
    env: &'a Environment,
    host: &str,
    bare_host: &str,
) -> Option<(&'a str, &'a str)> {
    let mut by_host: std::collections::BTreeMap<String, (&str, &str)> = Default::default();
    let mut names: Vec<&String> = env.vars.keys().collect();
    names.sort();
    for name in names {
        let (Some(decoded), Some(value)) = (tf_token_var_host(name), env.get(name)) else {
            continue;
        };
        by_host.insert(decoded, (name.as_str(), value));
    }
    let with_port = comparison_host(host).unwrap_or_else(|| host.to_lowercase());
    let legacy_port = host.replace(':', ".").to_lowercase();
    let bare = comparison_host(bare_host).unwrap_or_else(|| bare_host.to_lowercase());
    [with_port, legacy_port, bare]
        .iter()
        .find_map(|h| by_host.get(h).copied())
}

/// A target for the embedded local registry (token `local`).
pub fn local_target(base_url: url::Url, organization: String) -> Target {
    let host = host_port(&base_url);
    Target {
        base_url,
        host,
        organization,
        token: Secret::from("local"),
        token_source: "--local".into(),
        host_source: "--local".into(),
        org_source: "--local".into(),
        ca_cert: None,
        ca_source: None,
        local: true,
    }
}

fn host_port(u: &url::Url) -> String {
    let h = u.host_str().unwrap_or_default().to_string();
    match u.port() {
        Some(p) => format!("{h}:{p}"),
        None => h,
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Parse `name`, `name:port`, `https://name[:port][/]` or `http://loopback[:port]`.
fn parse_host(value: &str, source: &str) -> Result<(url::Url, String), ConfigError> {
    let err = |reason: &str| ConfigError::MalformedHost {
        value: value.to_string(),
        source_name: source.to_string(),
        reason: reason.to_string(),
    };
    let v = value.trim();
    if v.is_empty() {
        return Err(err("empty host"));
    }
    // A bare loopback host means a registry on this machine (`tfpub registry serve`, tests),
    // which speaks plain http; every other bare host is https.
    let bare_loopback = !v.contains("://")
        && url::Url::parse(&format!("http://{v}"))
            .ok()
            .and_then(|u| u.host_str().map(is_loopback))
            .unwrap_or(false);
    let full = if v.contains("://") {
        v.to_string()
    } else if bare_loopback {
        format!("http://{v}")
    } else {
        format!("https://{v}")
    };
    let u = url::Url::parse(&full).map_err(|e| err(&e.to_string()))?;
    match u.scheme() {
        "https" => {}
        "http" => {
            if !u.host_str().map(is_loopback).unwrap_or(false) {
                return Err(err(
                    "plain http is only allowed for loopback hosts (127.0.0.1, ::1, localhost)",
                ));
            }
        }
        other => return Err(err(&format!("unsupported scheme {other:?}"))),
    }
    if u.host_str().map(|h| h.is_empty()).unwrap_or(true) {
        return Err(err("no host name"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(err("credentials in the host are not allowed"));
    }
    if !(u.path() == "/" || u.path().is_empty()) || u.query().is_some() || u.fragment().is_some() {
        return Err(err("give only the host (and port), no path"));
    }
    let host = host_port(&u);
    let mut base = u.clone();
    base.set_path("/");
    Ok((base, host))
}

/// The largest configuration file tfpub reads (credentials file, CA bundle): far above
/// any real one, small enough that a wrong path (a disk image, a log) fails fast.
pub const MAX_CONFIG_FILE: u64 = 4 * 1024 * 1024;

/// Read a small input file whole, refusing what is not a regular file before opening it.
///
/// Opening a FIFO for reading blocks until a writer appears (forever, for a stray
/// `mkfifo`), and a character device such as `/dev/zero` never ends, so both are refused
/// by type; a regular file larger than `max` is refused by size. A missing file keeps
/// its `NotFound` kind so callers can treat "absent" differently from "wrong".
pub fn read_regular_file(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", file_type_name(&meta.file_type())),
        ));
    }
    let file = std::fs::File::open(path)?;
    // The path may have been swapped between the check and the open; check the handle.
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut out = Vec::new();
    file.take(max + 1).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("larger than the {max}-byte limit"),
        ));
    }
    Ok(out)
}

/// A short name for a file type, for "not a regular file (…)" messages.
pub fn file_type_name(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// The JSON type of a value, as named in error messages (never the value itself).
fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The token for `host` (else `bare_host`) in a `credentials.tfrc.json` text.
///
/// The file is walked as a `serde_json::Value` rather than deserialised into structs:
/// serde's type errors quote the offending value (`invalid type: string "…"`), and in
/// this file that value is usually a token. Every error here names only the JSON path
/// (built from keys tfpub looks for, never from keys found in the file) and the expected
/// and found types. Entries for other hosts are not inspected.
fn token_from_credentials(
    text: &[u8],
    host: &str,
    bare_host: &str,
) -> Result<Option<String>, String> {
    let root: serde_json::Value = serde_json::from_slice(text).map_err(|e| {
        // Syntax errors carry a position, never content; say only that and where.
        let what = match e.classify() {
            serde_json::error::Category::Eof => "unexpected end of file",
            _ => "syntax error",
        };
        format!(
            "not valid JSON ({what} at line {} column {})",
            e.line(),
            e.column()
        )
    })?;
    let expected = |path: &str, want: &str, found: &serde_json::Value| {
        format!("at {path}: expected {want}, found {}", json_type(found))
    };
    let serde_json::Value::Object(root) = root else {
        return Err(expected("the top level", "an object", &root));
    };
    let creds = match root.get("credentials") {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::Object(m)) => m,
        Some(other) => return Err(expected("$.credentials", "an object", other)),
    };
    for key in [host, bare_host] {
        let Some(entry) = creds.get(key) else {
            continue;
        };
        let path = format!("$.credentials[{key:?}]");
        let serde_json::Value::Object(entry) = entry else {
            return Err(expected(&path, "an object", entry));
        };
        return match entry.get("token") {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(t)) => Ok(Some(t.clone())),
            Some(other) => Err(expected(&format!("{path}.token"), "a string", other)),
        };
    }
    Ok(None)
}

/// Resolve the target from flags and environment (see module docs for the order).
pub fn resolve(flags: &TargetFlags, env: &Environment) -> Result<Target, ConfigError> {
    let (host_value, host_source) = if let Some(h) = flags.host.as_deref().filter(|h| !h.is_empty())
    {
        (h.to_string(), "--host".to_string())
    } else if let Some(h) = env.get("TFE_HOSTNAME") {
        (h.to_string(), "TFE_HOSTNAME".to_string())
    } else {
        (DEFAULT_HOST.to_string(), "default".to_string())
    };
    let (base_url, host) = parse_host(&host_value, &host_source)?;

    let (organization, org_source) =
        if let Some(o) = flags.organization.as_deref().filter(|o| !o.is_empty()) {
            (o.to_string(), "--organization".to_string())
        } else if let Some(o) = env.get("TFE_ORGANIZATION") {
            (o.to_string(), "TFE_ORGANIZATION".to_string())
        } else {
            return Err(ConfigError::NoOrganization);
        };
    check_organization(&organization, &org_source)?;

    let (ca_cert, ca_source) = if let Some(p) = &flags.ca_cert {
        (Some(p.clone()), Some("--ca-cert".to_string()))
    } else if let Some(p) = env.get("SSL_CERT_FILE") {
        (Some(PathBuf::from(p)), Some("SSL_CERT_FILE".to_string()))
    } else {
        (None, None)
    };
    if let (Some(p), Some(src)) = (&ca_cert, &ca_source) {
        if let Err(e) = read_regular_file(p, MAX_CONFIG_FILE) {
            return Err(ConfigError::CaCert {
                path: p.clone(),
                source_name: src.clone(),
                reason: e.to_string(),
            });
        }
    }

    let var = tf_token_var_name(&host);
    // Terraform keys credentials by host name only; try the host with port first.
    let bare_host = base_url.host_str().unwrap_or_default().to_string();
    let (token, token_source) = if let Some((name, t)) = token_from_env(env, &host, &bare_host) {
        (t.to_string(), name.to_string())
    } else if let Some(t) = env.get("TFE_TOKEN") {
        (t.to_string(), "TFE_TOKEN".to_string())
    } else if let Some(t) = read_credentials_file(env, &host, &bare_host, &var)? {
        t
    } else {
        return Err(ConfigError::NoToken { host, var });
    };

    Ok(Target {
        base_url,
        host,
        organization,
        token: Secret::new(token),
        token_source,
        host_source,
        org_source,
        ca_cert,
        ca_source,
        local: false,
    })
}

fn read_credentials_file(
    env: &Environment,
    host: &str,
    bare_host: &str,
    var: &str,
) -> Result<Option<(String, String)>, ConfigError> {
    let Some(home) = &env.home else {
        return Ok(None);
    };
    let path = home.join(".terraform.d").join("credentials.tfrc.json");
    let text = match read_regular_file(&path, MAX_CONFIG_FILE) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError::CredentialsUnreadable {
                path,
                host: host.into(),
                var: var.into(),
                reason: e.to_string(),
            })
        }
    };
    let token = token_from_credentials(&text, host, bare_host).map_err(|reason| {
        ConfigError::CredentialsInvalid {
            path: path.clone(),
            host: host.into(),
            var: var.into(),
            reason,
        }
    })?;
    Ok(token
        .filter(|t| !t.is_empty())
        .map(|t| (t, "~/.terraform.d/credentials.tfrc.json".to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOK: &str = "tok-SECRET-9f8e7d";

    fn env(vars: &[(&str, &str)], home: Option<PathBuf>) -> Environment {
        Environment {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            home,
        }
    }
    fn flags(host: Option<&str>, org: Option<&str>) -> TargetFlags {
        TargetFlags {
            host: host.map(String::from),
            organization: org.map(String::from),
            ca_cert: None,
        }
    }
    fn no_leak<T: std::fmt::Debug>(v: &T) {
        assert!(!format!("{v:?}").contains(TOK));
    }

    #[test]
    fn var_name_encoding() {
        assert_eq!(
            tf_token_var_name("app.terraform.io"),
            "TF_TOKEN_app_terraform_io"
        );
        assert_eq!(
            tf_token_var_name("my-tfe.example.com"),
            "TF_TOKEN_my__tfe_example_com"
        );
    }

    /// Issue 14 point 13: every spelling Terraform decodes to the host is found.
    #[test]
    fn tf_token_variables_decode_like_terraform() {
        let found = |var: &str, host: &str| {
            let e = env(&[(var, TOK)], None);
            resolve(&flags(Some(host), Some("o")), &e)
                .map(|t| (t.token.expose().clone(), t.token_source))
                .map_err(|e| e.to_string())
        };
        for (var, host) in [
            ("TF_TOKEN_APP_TERRAFORM_IO", "app.terraform.io"),
            ("TF_TOKEN_app_terraform_io", "APP.Terraform.io"),
            ("TF_TOKEN_my-tfe_example_com", "my-tfe.example.com"),
            ("TF_TOKEN_my__tfe_example_com", "my-tfe.example.com"),
            ("TF_TOKEN_my-tfe.example.com", "my-tfe.example.com"),
            ("TF_TOKEN_xn____caf__dma_fr", "café.fr"),
            ("TF_TOKEN_xn--caf-dma_fr", "café.fr"),
            ("TF_TOKEN_café_fr", "xn--caf-dma.fr"),
            ("TF_TOKEN_CAFÉ_FR", "café.fr"),
            ("TF_TOKEN_tfe_example_com", "tfe.example.com:8443"),
            ("TF_TOKEN_127_0_0_1_9000", "127.0.0.1:9000"),
        ] {
            assert_eq!(
                found(var, host),
                Ok((TOK.to_string(), var.to_string())),
                "{var} for {host}"
            );
        }
        // Other hosts stay other hosts.
        for (var, host) in [
            ("TF_TOKEN_tfe_example_com", "tfe.example.org"),
            ("TF_TOKEN_my_tfe_example_com", "my-tfe.example.com"),
            ("tf_token_app_terraform_io", "app.terraform.io"),
        ] {
            assert!(found(var, host).is_err(), "{var} must not match {host}");
        }
        assert_eq!(
            tf_token_var_host("TF_TOKEN_Xn____Caf__Dma_Fr").as_deref(),
            Some("xn--caf-dma.fr")
        );
        // Two spellings of one host: the choice is by name order, not hash order.
        let e = env(
            &[
                ("TF_TOKEN_APP_TERRAFORM_IO", "upper"),
                ("TF_TOKEN_app_terraform_io", TOK),
            ],
            None,
        );
        let t = resolve(&flags(None, Some("o")), &e).unwrap();
        assert_eq!(t.token_source, "TF_TOKEN_app_terraform_io");
    }

    #[test]
    fn defaults_and_tf_token() {
        let t = resolve(
            &flags(None, Some("acme")),
            &env(
                &[("TF_TOKEN_app_terraform_io", TOK), ("TFE_TOKEN", "other")],
                None,
            ),
        )
        .unwrap();
        assert_eq!(t.host, "app.terraform.io");
        assert_eq!(t.host_source, "default");
        assert_eq!(t.base_url.as_str(), "https://app.terraform.io/");
        assert_eq!(t.token.expose(), TOK);
        assert_eq!(t.token_source, "TF_TOKEN_app_terraform_io");
        assert_eq!(t.org_source, "--organization");
        no_leak(&t);
    }

    #[test]
    fn host_precedence() {
        let e = env(
            &[
                ("TFE_HOSTNAME", "tfe.env.test"),
                ("TFE_TOKEN", TOK),
                ("TFE_ORGANIZATION", "o"),
            ],
            None,
        );
        let t = resolve(&flags(Some("https://tfe.flag.test:8443/"), None), &e).unwrap();
        assert_eq!(t.host, "tfe.flag.test:8443");
        assert_eq!(t.host_source, "--host");
        assert_eq!(t.org_source, "TFE_ORGANIZATION");
        assert_eq!(t.token_source, "TFE_TOKEN");
        let t = resolve(&flags(None, None), &e).unwrap();
        assert_eq!(t.host, "tfe.env.test");
        assert_eq!(t.host_source, "TFE_HOSTNAME");
        assert_eq!(t.base_url.as_str(), "https://tfe.env.test/");
    }

    #[test]
    fn http_only_for_loopback() {
        let e = env(&[("TFE_TOKEN", TOK)], None);
        let t = resolve(&flags(Some("http://127.0.0.1:9000"), Some("o")), &e).unwrap();
        assert_eq!(t.base_url.as_str(), "http://127.0.0.1:9000/");
        // A bare loopback host defaults to http; other bare hosts to https.
        let t = resolve(&flags(Some("127.0.0.1:9000"), Some("o")), &e).unwrap();
        assert_eq!(t.base_url.as_str(), "http://127.0.0.1:9000/");
        let t = resolve(&flags(Some("tfe.example.com"), Some("o")), &e).unwrap();
        assert_eq!(t.base_url.as_str(), "https://tfe.example.com/");
        let err = resolve(&flags(Some("http://tfe.example.com"), Some("o")), &e).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("--host") && msg.contains("loopback"), "{msg}");
        let e2 = env(&[("TFE_TOKEN", TOK), ("TFE_HOSTNAME", "ftp://x")], None);
        let msg = resolve(&flags(None, Some("o")), &e2)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("TFE_HOSTNAME"), "{msg}");
        let msg = resolve(&flags(Some("tfe.example.com/some/path"), Some("o")), &e)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("no path"), "{msg}");
    }

    /// Issue 14 point 9 (client side): the organization is checked before any request,
    /// with the service's rule, and the refusal names where the value came from.
    #[test]
    fn organization_names_are_validated_with_their_source() {
        for ok in ["acme", "Acme-Corp_2", "a", "-_-"] {
            assert_eq!(organization_name_problem(ok), None, "{ok}");
        }
        let long = "x".repeat(5000);
        for bad in [
            "..",
            "a b",
            "a\0b",
            "a/b",
            "a%00b",
            "acmé",
            "a.b",
            long.as_str(),
        ] {
            assert!(organization_name_problem(bad).is_some(), "{bad:?}");
            let e = env(&[("TFE_TOKEN", TOK)], None);
            let err = resolve(&flags(None, Some(bad)), &e).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("--organization") && msg.len() < 300, "{msg}");
            assert_eq!(err.kind(), Some(ErrorKind::InvalidInput));
            assert!(err.hint().unwrap_or_default().contains("letters, digits"));
            let e = env(&[("TFE_TOKEN", TOK), ("TFE_ORGANIZATION", bad)], None);
            let msg = resolve(&flags(None, None), &e).unwrap_err().to_string();
            assert!(msg.contains("TFE_ORGANIZATION"), "{msg}");
        }
    }

    #[test]
    fn missing_org_names_both_sources() {
        let err = resolve(&flags(None, None), &env(&[("TFE_TOKEN", TOK)], None)).unwrap_err();
        // The message says what is missing, the hint names both sources.
        assert_eq!(err.to_string(), "no organization given");
        let hint = err.hint().unwrap_or_default();
        assert!(hint.contains("--organization") && hint.contains("TFE_ORGANIZATION"));
    }

    #[test]
    fn credentials_file_and_errors() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".terraform.d");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("credentials.tfrc.json");
        std::fs::write(
            &file,
            format!(r#"{{"credentials":{{"app.terraform.io":{{"token":"{TOK}"}}}}}}"#),
        )
        .unwrap();
        let e = env(&[], Some(home.path().to_path_buf()));
        let t = resolve(&flags(None, Some("o")), &e).unwrap();
        assert_eq!(t.token.expose(), TOK);
        assert_eq!(t.token_source, "~/.terraform.d/credentials.tfrc.json");
        // TFE_TOKEN beats the file.
        let mut e2 = e.clone();
        e2.vars.insert("TFE_TOKEN".into(), "envtok".into());
        assert_eq!(
            resolve(&flags(None, Some("o")), &e2).unwrap().token_source,
            "TFE_TOKEN"
        );
        // Another host: no token.
        let err = resolve(&flags(Some("tfe.other.test"), Some("o")), &e).unwrap_err();
        let msg = format!("{err} {}", err.hint().unwrap_or_default());
        assert!(
            msg.contains("TF_TOKEN_tfe_other_test") && msg.contains("tfe.other.test"),
            "{msg}"
        );
        // Invalid JSON names the file and does not echo contents.
        std::fs::write(&file, format!("{{ \"credentials\": {TOK} }}")).unwrap();
        let msg = resolve(&flags(None, Some("o")), &e)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("credentials.tfrc.json") && msg.contains("not valid JSON"),
            "{msg}"
        );
        assert!(!msg.contains(TOK));
        // Unreadable (a directory in its place).
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir(&file).unwrap();
        let msg = resolve(&flags(None, Some("o")), &e)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("could not be read"), "{msg}");
    }

    /// Issue 14 point 11: a credentials file of the wrong shape must not echo its
    /// content (serde's type errors quote the value, which here is the token).
    #[test]
    fn malformed_credentials_never_quote_content() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".terraform.d");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("credentials.tfrc.json");
        let e = env(&[], Some(home.path().to_path_buf()));
        let cases = [
            (
                format!(r#"{{"credentials": "{TOK}"}}"#),
                "$.credentials",
                "a string",
            ),
            (format!(r#"["{TOK}"]"#), "top level", "an array"),
            (
                format!(r#"{{"credentials": {{"app.terraform.io": "{TOK}"}}}}"#),
                r#"$.credentials["app.terraform.io"]"#,
                "a string",
            ),
            (
                format!(r#"{{"credentials": {{"app.terraform.io": {{"token": ["{TOK}"]}}}}}}"#),
                r#"$.credentials["app.terraform.io"].token"#,
                "an array",
            ),
        ];
        for (text, path, found) in cases {
            std::fs::write(&file, &text).unwrap();
            let err = resolve(&flags(None, Some("o")), &e).unwrap_err();
            let msg = format!("{err} {err:?} {}", err.hint().unwrap_or_default());
            assert!(!msg.contains(TOK), "{text}: {msg}");
            assert!(
                msg.contains("credentials.tfrc.json") && msg.contains(path) && msg.contains(found),
                "{text}: {msg}"
            );
        }
        // Keys the file has for other hosts are never named either.
        std::fs::write(&file, format!(r#"{{"credentials": {{"{TOK}": 1}}}}"#)).unwrap();
        let err = resolve(&flags(None, Some("o")), &e).unwrap_err();
        assert!(!format!("{err} {err:?}").contains(TOK));
    }

    /// Issue 14 point 12: a FIFO in place of the credentials file or the CA bundle is
    /// refused by type (opening it for reading would block until a writer appears).
    #[cfg(unix)]
    #[test]
    fn fifo_inputs_are_refused_not_waited_on() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".terraform.d");
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("credentials.tfrc.json");
        let ok = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(ok.success());
        let run = |f: TargetFlags, e: Environment| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(resolve(&f, &e).map(|_| ()).map_err(|e| e.to_string()));
            });
            rx.recv_timeout(std::time::Duration::from_secs(10))
                .expect("resolve blocked on a FIFO")
        };
        let e = env(&[], Some(home.path().to_path_buf()));
        let msg = run(flags(None, Some("o")), e).unwrap_err();
        assert!(
            msg.contains("credentials.tfrc.json") && msg.contains("FIFO"),
            "{msg}"
        );
        let e = env(&[("TFE_TOKEN", TOK)], None);
        let mut f = flags(None, Some("o"));
        f.ca_cert = Some(fifo.clone());
        let msg = run(f, e).unwrap_err();
        assert!(
            msg.contains("credentials.tfrc.json") && msg.contains("FIFO"),
            "{msg}"
        );
        assert!(matches!(
            read_regular_file(Path::new("/dev/zero"), 10).map_err(|e| e.kind()),
            Err(std::io::ErrorKind::InvalidInput)
        ));
    }

    #[test]
    fn ca_cert_precedence_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("ca.pem");
        std::fs::write(&pem, "x").unwrap();
        let e = env(
            &[
                ("TFE_TOKEN", TOK),
                ("SSL_CERT_FILE", "/nonexistent/env.pem"),
            ],
            None,
        );
        let mut f = flags(None, Some("o"));
        let msg = resolve(&f, &e).unwrap_err().to_string();
        assert!(
            msg.contains("/nonexistent/env.pem") && msg.contains("SSL_CERT_FILE"),
            "{msg}"
        );
        f.ca_cert = Some(pem.clone());
        let t = resolve(&f, &e).unwrap();
        assert_eq!(t.ca_cert.as_deref(), Some(pem.as_path()));
        assert_eq!(t.ca_source.as_deref(), Some("--ca-cert"));
        f.ca_cert = Some(dir.path().join("missing.pem"));
        let msg = resolve(&f, &e).unwrap_err().to_string();
        assert!(
            msg.contains("missing.pem") && msg.contains("--ca-cert"),
            "{msg}"
        );
    }

    #[test]
    fn local_target_uses_local_token() {
        let t = local_target(
            url::Url::parse("http://127.0.0.1:8080/").unwrap(),
            "o".into(),
        );
        assert!(t.local);
        assert_eq!(t.host, "127.0.0.1:8080");
        assert_eq!(t.token.expose(), "local");
    }
}

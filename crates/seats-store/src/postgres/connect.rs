//! How a node reaches PostgreSQL (docs/postgres.md, "Connecting"): the connection string as
//! libpq reads it, a URL (`postgres://u@a:5432,b:5433/db?sslmode=verify-full`) or
//! keywords (`host=a,b port=5432,5433 dbname=db`), with TLS through rustls.
//!
//! `tokio-postgres` reads most of the string (several hosts, `target_session_attrs`,
//! timeouts) but knows only `sslmode=disable|prefer|require` and no certificate files. The
//! TLS parameters (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`) are therefore taken out
//! here, with libpq's environment variables (`PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`,
//! `PGSSLKEY`, `PGTARGETSESSIONATTRS`) where the string leaves them out, and turned into a
//! rustls configuration with libpq's meaning (below). `target_session_attrs` is
//! `read-write` unless the string or `PGTARGETSESSIONATTRS` says otherwise: every node
//! writes, so with several hosts it connects only to the primary.
//!
//! The TLS parameters' meaning:
//!
//! | sslmode | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow`, `prefer` (default) | if the server offers it | not checked |
//! | `require` | always | not checked, unless a root certificate is given (then as `verify-ca`) |
//! | `verify-ca` | always | signed by `sslrootcert` |
//! | `verify-full` | always | signed by `sslrootcert` and naming the host |
//!
//! Every problem is found here, before the first connection, and named: the parameter, the
//! variable it came from, or the file. The password of the string never appears in a message.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{StoreError, StoreResult};

/// The TLS parameters taken out of the string, and where each came from.
const TLS_PARAMETERS: [(&str, &str); 4] = [
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslcert", "PGSSLCERT"),
    ("sslkey", "PGSSLKEY"),
];

/// Parameters `tokio-postgres` reads that may also come from libpq's environment.
const ENV_PARAMETERS: [(&str, &str); 1] = [("target_session_attrs", "PGTARGETSESSIONATTRS")];

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Option<SslMode> {
        Some(match value {
            "disable" => SslMode::Disable,
            // libpq's `allow` tries plain TCP first and TLS second; both end connected when the
            // server takes either, so it is read as `prefer` (TLS first).
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A connection string made ready: the driver's configuration and the TLS connector.
#[derive(Clone)]
pub struct Connection {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
    /// The `sslmode` in force (after `require` with a root certificate became `verify-ca`).
    pub ssl_mode: SslMode,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `tokio_postgres::Config`'s Debug hides the password; the connector holds no secret.
        f.debug_struct("Connection")
            .field("config", &self.config)
            .field("ssl_mode", &self.ssl_mode)
            .finish_non_exhaustive()
    }
}

/// Where a parameter's value came from, for messages.
#[derive(Debug, Clone)]
struct Param {
    value: String,
    /// `sslmode`, or `sslmode (from PGSSLMODE)`.
    origin: String,
}

impl Connection {
    /// Reads a connection string, taking libpq's variables from the process environment.
    pub fn parse(s: &str) -> StoreResult<Connection> {
        Connection::parse_with(s, |name| std::env::var(name).ok(), home())
    }

    /// Reads a connection string with `env` as the environment and `home` as the directory
    /// libpq's default certificate files (`.postgresql/root.crt`, …) are looked for in.
    pub fn parse_with(s: &str, env: impl Fn(&str) -> Option<String>, home: Option<PathBuf>) -> StoreResult<Connection> {
        let mut parts = Parts::split(s)?;
        let mut tls = std::collections::HashMap::new();
        for (name, var) in TLS_PARAMETERS {
            let from_string = parts.take(name);
            let param = match from_string {
                Some(value) => Some(Param {
                    value,
                    origin: name.to_owned(),
                }),
                None => env(var).filter(|v| !v.is_empty()).map(|value| Param {
                    value,
                    origin: format!("{name} (from {var})"),
                }),
            };
            if let Some(param) = param {
                tls.insert(name, param);
            }
        }
        for (name, var) in ENV_PARAMETERS {
            if !parts.has(name) {
                if let Some(value) = env(var).filter(|v| !v.is_empty()) {
                    parts.push(name, value);
                }
            }
        }
        // Every node writes: a server that takes no writes (a standby) is passed over unless
        // the string says otherwise (libpq's default is `any`).
        if !parts.has("target_session_attrs") {
            parts.push("target_session_attrs", "read-write".to_owned());
        }
        let mut config: tokio_postgres::Config = parts.join().parse().map_err(|e: tokio_postgres::Error| {
            use std::error::Error as _;
            let cause = e.source().map_or_else(|| e.to_string(), |s| s.to_string());
            StoreError::other(format!("invalid PostgreSQL connection string: {cause}"))
        })?;
        let mode = match tls.get("sslmode") {
            None => SslMode::Prefer,
            Some(p) => SslMode::parse(&p.value).ok_or_else(|| {
                StoreError::other(format!(
                    "invalid {}: `{}` (use disable, allow, prefer, require, verify-ca or verify-full)",
                    p.origin, p.value
                ))
            })?,
        };
        let defaults = home.map(|h| h.join(".postgresql"));
        let default_file = |name: &str| defaults.as_ref().map(|d| d.join(name)).filter(|p| p.exists());
        // The root certificates: given, or libpq's default file where it exists.
        let root = match tls.get("sslrootcert") {
            Some(p) => Some((p.value.clone(), p.origin.clone())),
            None => default_file("root.crt").map(|p| (p.display().to_string(), "sslrootcert (default)".to_owned())),
        };
        let mode = match (mode, &root) {
            (SslMode::Require, Some(_)) => SslMode::VerifyCa,
            (mode, _) => mode,
        };
        if let Some((value, origin)) = &root {
            if value == "system" && mode != SslMode::VerifyFull {
                return Err(StoreError::other(format!(
                    "{origin}=system needs sslmode=verify-full (sslmode is {})",
                    mode.as_str()
                )));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(StoreError::other)?;
        let builder = match mode {
            SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Lenient { chain: None, provider })),
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let Some((value, origin)) = root else {
                    let expected = defaults.map_or_else(
                        || "~/.postgresql/root.crt".to_owned(),
                        |d| d.join("root.crt").display().to_string(),
                    );
                    return Err(StoreError::other(format!(
                        "sslmode={} needs the certificate of the CA that signed the server's: \
                         set sslrootcert (none given, and {expected} does not exist), or \
                         sslrootcert=system for the built-in public roots",
                        mode.as_str()
                    )));
                };
                let roots = root_store(&value, &origin)?;
                let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(StoreError::other)?;
                match mode {
                    SslMode::VerifyCa => builder.dangerous().with_custom_certificate_verifier(Arc::new(Lenient {
                        chain: Some(verifier),
                        provider,
                    })),
                    _ => builder.with_webpki_verifier(verifier),
                }
            }
        };
        let cert = match tls.get("sslcert") {
            Some(p) => Some((PathBuf::from(&p.value), p.origin.clone())),
            None => default_file("postgresql.crt").map(|p| (p, "sslcert (default)".to_owned())),
        };
        let client = match cert {
            None => builder.with_no_client_auth(),
            Some((cert_path, cert_origin)) => {
                let (key_path, key_origin) = match tls.get("sslkey") {
                    Some(p) => (PathBuf::from(&p.value), p.origin.clone()),
                    None => (
                        cert_path.with_file_name("postgresql.key"),
                        "sslkey (default)".to_owned(),
                    ),
                };
                let chain = certificates(&cert_path, &cert_origin)?;
                let key = PrivateKeyDer::from_pem_file(&key_path)
                    .map_err(|e| file_error(&key_origin, &key_path, "private key", e))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| StoreError::other(format!("{cert_origin} and {key_origin} do not go together: {e}")))?
            }
        };
        config.ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => tokio_postgres::config::SslMode::Require,
        });
        Ok(Connection {
            config,
            tls: MakeRustlsConnect::new(client),
            ssl_mode: mode,
        })
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

fn file_error(origin: &str, path: &Path, what: &str, e: rustls::pki_types::pem::Error) -> StoreError {
    let why = match e {
        rustls::pki_types::pem::Error::Io(io) => format!("cannot read it: {io}"),
        rustls::pki_types::pem::Error::NoItemsFound => format!("it holds no PEM {what}"),
        other => format!("it is not a PEM {what}: {other:?}"),
    };
    StoreError::other(format!("{origin} {}: {why}", path.display()))
}

fn certificates(path: &Path, origin: &str) -> StoreResult<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(origin, path, "certificate", e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(origin, path, "certificate", e))?;
    if certs.is_empty() {
        return Err(file_error(
            origin,
            path,
            "certificate",
            rustls::pki_types::pem::Error::NoItemsFound,
        ));
    }
    Ok(certs)
}

fn root_store(value: &str, origin: &str) -> StoreResult<RootCertStore> {
    if value == "system" {
        return Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    }
    let path = Path::new(value);
    let mut roots = RootCertStore::empty();
    for cert in certificates(path, origin)? {
        roots
            .add(cert)
            .map_err(|e| StoreError::other(format!("{origin} {}: not a CA certificate: {e}", path.display())))?;
    }
    Ok(roots)
}

/// The checks of `prefer`, `require` and `verify-ca`, which rustls's own verifier (used for
/// `verify-full`) does not make: with no `chain`, the certificate is taken as it comes
/// (libpq's `prefer` and `require`); with one, it must lead to a root given, whatever name it
/// carries (`verify-ca`). The handshake's signatures are checked either way.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A connection string cut into its parameters, so some can be taken out and the rest given
/// to the driver in the same form.
enum Parts {
    /// `scheme://authority/path` and the query's `key=value` pairs (decoded).
    Url {
        base: String,
        params: Vec<(String, String)>,
    },
    /// `key=value` pairs.
    Keywords(Vec<(String, String)>),
}

impl Parts {
    fn split(s: &str) -> StoreResult<Parts> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            let (base, query) = s.split_once('?').unwrap_or((s, ""));
            let params = query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    Ok((decode(k)?, decode(v)?))
                })
                .collect::<StoreResult<_>>()?;
            return Ok(Parts::Url {
                base: base.to_owned(),
                params,
            });
        }
        keywords(s).map(Parts::Keywords)
    }

    fn params(&mut self) -> &mut Vec<(String, String)> {
        match self {
            Parts::Url { params, .. } | Parts::Keywords(params) => params,
        }
    }

    fn has(&mut self, name: &str) -> bool {
        self.params().iter().any(|(k, _)| k == name)
    }

    /// Removes every `name` parameter; the last one given wins, as in libpq.
    fn take(&mut self, name: &str) -> Option<String> {
        let params = self.params();
        let last = params.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        params.retain(|(k, _)| k != name);
        last
    }

    fn push(&mut self, name: &str, value: String) {
        self.params().push((name.to_owned(), value));
    }

    fn join(&self) -> String {
        match self {
            Parts::Url { base, params } if params.is_empty() => base.clone(),
            Parts::Url { base, params } => {
                let query: Vec<String> = params
                    .iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                    .collect();
                format!("{base}?{}", query.join("&"))
            }
            Parts::Keywords(params) => params
                .iter()
                .map(|(k, v)| format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'")))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// libpq's `key=value` form: pairs separated by spaces, `=` perhaps surrounded by spaces,
/// values perhaps single-quoted with `\'` and `\\` inside.
fn keywords(s: &str) -> StoreResult<Vec<(String, String)>> {
    let bad = |why: &str| StoreError::other(format!("invalid PostgreSQL connection string: {why}"));
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(bad(&format!("`{key}` has no `=`")));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.push(chars.next().ok_or_else(|| bad("a value ends in `\\`"))?),
                    Some(c) => value.push(c),
                    None => return Err(bad(&format!("the value of `{key}` has no closing quote"))),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.push(chars.next().ok_or_else(|| bad("a value ends in `\\`"))?);
                } else {
                    value.push(c);
                }
            }
        }
        out.push((key, value));
    }
}

fn decode(s: &str) -> StoreResult<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    StoreError::other("invalid PostgreSQL connection string: a bad %-escape in its query")
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| StoreError::other("invalid PostgreSQL connection string: its query is not UTF-8"))
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str, env: &[(&str, &str)]) -> StoreResult<Connection> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Connection::parse_with(
            s,
            move |name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            None,
        )
    }

    fn error(s: &str, env: &[(&str, &str)]) -> String {
        parse(s, env).expect_err(s).to_string()
    }

    #[test]
    fn tls_parameters_are_taken_out_and_the_rest_reaches_the_driver() {
        let c = parse(
            "postgres://u:p%40ss@db1:5432,db2:5433/seats?sslmode=require&application_name=x&target_session_attrs=read-write",
            &[],
        )
        .unwrap();
        assert_eq!(c.ssl_mode, SslMode::Require);
        assert_eq!(c.config.get_hosts().len(), 2);
        assert_eq!(c.config.get_ports(), &[5432, 5433]);
        assert_eq!(c.config.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(c.config.get_application_name(), Some("x"));
        assert_eq!(
            c.config.get_target_session_attrs(),
            tokio_postgres::config::TargetSessionAttrs::ReadWrite
        );
        assert_eq!(c.config.get_ssl_mode(), tokio_postgres::config::SslMode::Require);

        let c = parse(
            "host=db1,db2 port=5432,5433 user=u password='it''s' sslmode=disable",
            &[],
        );
        let c = c.expect_err("an unescaped quote ends the value").to_string();
        assert!(c.contains("invalid PostgreSQL connection string"), "{c}");
        let c = parse(
            r"host=db1,db2 port = 5432,5433 user=u password='it\'s a' sslmode=disable",
            &[],
        )
        .unwrap();
        assert_eq!(c.ssl_mode, SslMode::Disable);
        assert_eq!(c.config.get_hosts().len(), 2);
        assert_eq!(c.config.get_password(), Some(&b"it's a"[..]));
        assert_eq!(c.config.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
    }

    #[test]
    fn read_write_is_the_default_session() {
        let c = parse("postgres://a:5432,b:5433/db", &[]).unwrap();
        assert_eq!(
            c.config.get_target_session_attrs(),
            tokio_postgres::config::TargetSessionAttrs::ReadWrite
        );
        let c = parse("postgres://a/db?target_session_attrs=any", &[]).unwrap();
        assert_eq!(
            c.config.get_target_session_attrs(),
            tokio_postgres::config::TargetSessionAttrs::Any
        );
    }

    #[test]
    fn prefer_is_the_default_and_allow_reads_as_prefer() {
        assert_eq!(parse("postgres://h/db", &[]).unwrap().ssl_mode, SslMode::Prefer);
        assert_eq!(
            parse("postgres://h/db?sslmode=allow", &[]).unwrap().ssl_mode,
            SslMode::Prefer
        );
    }

    #[test]
    fn environment_variables_fill_what_the_string_leaves_out() {
        let c = parse(
            "postgres://h/db",
            &[("PGSSLMODE", "disable"), ("PGTARGETSESSIONATTRS", "read-write")],
        )
        .unwrap();
        assert_eq!(c.ssl_mode, SslMode::Disable);
        assert_eq!(
            c.config.get_target_session_attrs(),
            tokio_postgres::config::TargetSessionAttrs::ReadWrite
        );
        // The string wins over the environment.
        let c = parse("postgres://h/db?sslmode=require", &[("PGSSLMODE", "disable")]).unwrap();
        assert_eq!(c.ssl_mode, SslMode::Require);
        assert_eq!(
            error("postgres://h/db", &[("PGSSLMODE", "sometimes")]),
            "storage failure: invalid sslmode (from PGSSLMODE): `sometimes` (use disable, allow, prefer, require, verify-ca or verify-full)"
        );
    }

    #[test]
    fn each_problem_is_named() {
        assert_eq!(
            error("postgres://u:hunter2@h/db?sslmode=maybe", &[]),
            "storage failure: invalid sslmode: `maybe` (use disable, allow, prefer, require, verify-ca or verify-full)"
        );
        assert_eq!(
            error("postgres://u:hunter2@h/db?colour=blue", &[]),
            "storage failure: invalid PostgreSQL connection string: unknown option `colour`"
        );
        let e = error("postgres://u:hunter2@h/db?sslmode=verify-full", &[]);
        assert!(e.contains("sslmode=verify-full needs the certificate of the CA"), "{e}");
        let e = error(
            "postgres://u:hunter2@h/db?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem",
            &[],
        );
        assert!(
            e.starts_with("storage failure: sslrootcert /nonexistent/ca.pem: cannot read it:"),
            "{e}"
        );
        let e = error(
            "postgres://h/db?sslmode=verify-ca",
            &[("PGSSLROOTCERT", "/nonexistent/ca.pem")],
        );
        assert!(
            e.contains("sslrootcert (from PGSSLROOTCERT) /nonexistent/ca.pem"),
            "{e}"
        );
        let e = error("postgres://h/db?sslmode=require&sslrootcert=system", &[]);
        assert!(e.contains("sslrootcert=system needs sslmode=verify-full"), "{e}");
        let e = error(
            "postgres://h/db?sslcert=/nonexistent/client.crt&sslkey=/nonexistent/client.key",
            &[],
        );
        assert!(e.contains("sslcert /nonexistent/client.crt: cannot read it"), "{e}");
        let debug = format!("{:?}", parse("postgres://u:hunter2@h/db?sslmode=disable", &[]).unwrap());
        assert!(
            debug.contains("ssl_mode: Disable") && !debug.contains("hunter2"),
            "{debug}"
        );
        for e in [
            error("postgres://u:hunter2@h/db?sslmode=maybe", &[]),
            error("postgres://u:hunter2@h/db?colour=blue", &[]),
            error("user=u password=hunter2 host=h colour=blue", &[]),
        ] {
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn a_file_that_is_not_a_certificate_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let e = error(
            &format!("postgres://h/db?sslmode=verify-full&sslrootcert={}", path.display()),
            &[],
        );
        assert!(e.contains("it holds no PEM certificate"), "{e}");
        assert!(e.contains(&path.display().to_string()), "{e}");
    }

    #[test]
    fn system_roots_verify_full() {
        let c = parse("postgres://h/db?sslmode=verify-full&sslrootcert=system", &[]).unwrap();
        assert_eq!(c.ssl_mode, SslMode::VerifyFull);
    }
}

//! What the client commands share: building the API client from flags, the environment or a
//! credentials file, and turning errors into exit codes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use seats_client::{Client, Error};

/// The local server, so the CLI never reaches Cloudflare's production API by accident.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8788/client/v4";

/// Exit codes of the client commands.
pub mod exit {
    pub const OK: u8 = 0;
    pub const USAGE: u8 = 2;
    pub const API: u8 = 3;
    pub const CONNECTION: u8 = 4;
}

/// Flags every API command takes. Secrets are never flags: they come from the environment
/// or a file.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// API base URL [default: CLOUDFLARE_BASE_URL, else http://127.0.0.1:8788/client/v4]
    #[arg(long, global = true)]
    base_url: Option<String>,
    /// A file of NAME=VALUE lines (CLOUDFLARE_API_TOKEN, or CLOUDFLARE_API_KEY and
    /// CLOUDFLARE_EMAIL, and optionally CLOUDFLARE_BASE_URL); read instead of the environment.
    #[arg(long, global = true, env = "SEATS_CREDENTIALS_FILE", value_name = "FILE")]
    credentials_file: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Retries on connection errors, 408, 409, 429 and 5xx.
    #[arg(long, global = true, default_value_t = seats_client::DEFAULT_MAX_RETRIES)]
    max_retries: u32,
    /// Seconds allowed for each attempt.
    #[arg(long, global = true, default_value_t = 60.0)]
    timeout: f64,
}

impl ApiArgs {
    /// The client, or a usage error (exit 2) saying what is missing.
    pub fn client(&self) -> Result<Client, CliError> {
        let file = match &self.credentials_file {
            Some(path) => Some(read_env_file(path).map_err(CliError::Usage)?),
            None => None,
        };
        let lookup = |name: &str| match &file {
            Some(vars) => vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            None => std::env::var(name).ok(),
        };
        let base_url = self
            .base_url
            .clone()
            .or_else(|| lookup("CLOUDFLARE_BASE_URL"))
            .unwrap_or_else(|| DEFAULT_BASE_URL.into());
        let timeout = Duration::try_from_secs_f64(self.timeout)
            .map_err(|_| CliError::Usage(anyhow::anyhow!("--timeout must be a positive number of seconds")))?;
        Client::builder_from(lookup)
            .base_url(base_url)
            .max_retries(self.max_retries)
            .timeout(timeout)
            .build()
            .map_err(CliError::from)
    }
}

fn read_env_file(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read credentials file {}", path.display()))?;
    let mut vars = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            anyhow::bail!("{}:{}: expected NAME=VALUE", path.display(), n + 1);
        };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        vars.push((name.trim().to_owned(), value.to_owned()));
    }
    Ok(vars)
}

/// A failed command, sorted by exit code.
#[derive(Debug)]
pub enum CliError {
    /// Bad flags, files or configuration: exit 2.
    Usage(anyhow::Error),
    /// The API answered with an error: exit 3.
    Api(Error),
    /// The API answered with an error whose likely cause we can name: exit 3, with the hint.
    Hinted { error: Error, hint: &'static str },
    /// The API could not be reached in time: exit 4. Says where it tried.
    Connection { error: Error, base_url: Option<String> },
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        match e {
            Error::Config(_) | Error::InvalidParams(_) => CliError::Usage(e.into()),
            e if e.is_transport() => CliError::Connection {
                error: e,
                base_url: None,
            },
            e => CliError::Api(e),
        }
    }
}

impl CliError {
    /// An error of a call to the API at `base_url`.
    pub fn from_call(e: Error, base_url: &str) -> Self {
        match CliError::from(e) {
            CliError::Connection { error, .. } => CliError::Connection {
                error,
                base_url: Some(base_url.to_owned()),
            },
            other => other,
        }
    }

    /// An error of a call to the operator API: a 404 7000 (no such route) means the server
    /// runs without the operator API, and says how to turn it on.
    pub fn from_operator_call(e: Error, base_url: &str) -> Self {
        match CliError::from_call(e, base_url) {
            CliError::Api(Error::NotFound(api)) if api.code() == Some(7000) => CliError::Hinted {
                error: Error::NotFound(api),
                hint: "this server runs without its operator API: start `seats serve` with \
                       SEATS_OPERATOR_KEY set (or --operator-key) and give `seats admin` the same key",
            },
            other => other,
        }
    }

    /// Prints the error on stderr and gives the exit code.
    pub fn report(self) -> ExitCode {
        let (code, msg) = match self {
            CliError::Usage(e) => (exit::USAGE, format!("{e:#}")),
            CliError::Api(e) => (exit::API, e.to_string()),
            CliError::Hinted { error, hint } => (exit::API, format!("{error}\nhint: {hint}")),
            CliError::Connection {
                error,
                base_url: Some(url),
            } => (exit::CONNECTION, format!("{error} (base URL {url})")),
            CliError::Connection { error, base_url: None } => (exit::CONNECTION, error.to_string()),
        };
        eprintln!("error: {msg}");
        ExitCode::from(code)
    }
}

/// Runs an async command on a fresh runtime.
pub fn run(fut: impl std::future::Future<Output = Result<(), CliError>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return CliError::Usage(e.into()).report(),
    };
    match runtime.block_on(fut) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => e.report(),
    }
}

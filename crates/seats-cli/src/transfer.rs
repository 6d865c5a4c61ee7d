//! `seats export` and `seats import`: the whole state of a database as JSON Lines, to move a
//! deployment between backends (e.g. SQLite to PostgreSQL) with two commands.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use seats_store::export::Record;
use seats_store::{DatabaseUrl, Store};

use crate::database;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The database to read: `sqlite://PATH` (must exist), a plain path, or `postgres://...`.
    #[arg(long, env = "SEATS_DATABASE")]
    database: String,
    /// Where to write the export [default: stdout].
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The empty database to load: `sqlite://PATH` (created if missing), a plain path, or
    /// `postgres://...`.
    #[arg(long, env = "SEATS_DATABASE")]
    database: String,
    /// An export written by `seats export`; `-` reads stdin.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub fn run_export(args: ExportArgs) -> ExitCode {
    finish(tokio_runtime().and_then(|rt| rt.block_on(export(args))))
}

pub fn run_import(args: ImportArgs) -> ExitCode {
    finish(tokio_runtime().and_then(|rt| rt.block_on(import(args))))
}

fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("cannot start the async runtime")
}

fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The store `url` names; for an export, a SQLite file must already exist.
async fn open(url: &str, must_exist: bool) -> anyhow::Result<Arc<dyn Store>> {
    let url = url.parse::<DatabaseUrl>()?;
    if let DatabaseUrl::Sqlite(path) = &url {
        if must_exist && !path.exists() {
            bail!("no SQLite database at {}", path.display());
        }
    }
    database::open(&url, &database::Options::default()).await
}

async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let store = open(&args.database, true).await?;
    let mut out: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout())),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Record>(1024);
    let reading = tokio::spawn(async move { store.export(tx).await });
    let mut written = 0u64;
    while let Some(record) = rx.recv().await {
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
        written += 1;
    }
    let sent = reading.await?.map_err(|e| anyhow::anyhow!("{e}"))?;
    out.flush().context("writing the export")?;
    if sent != written {
        bail!("the export stopped after {written} of {sent} records");
    }
    eprintln!("exported {written} records");
    Ok(())
}

async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let source = args.file.display().to_string();
    let reader: Box<dyn BufRead + Send> = if source == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(&args.file).with_context(|| format!("cannot read {source}"))?,
        ))
    };
    let store = open(&args.database, false).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Record>(1024);
    // Lines are parsed on a blocking thread; a bad line stops the feed before the end record,
    // so the import stores nothing.
    let feeding = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        for (i, line) in reader.lines().enumerate() {
            let line = line.with_context(|| format!("{source}:{}: cannot read", i + 1))?;
            if line.trim().is_empty() {
                continue;
            }
            let record: Record =
                serde_json::from_str(&line).with_context(|| format!("{source}:{}: not an export record", i + 1))?;
            if tx.blocking_send(record).is_err() {
                break; // the import stopped; its error says why
            }
        }
        Ok(())
    });
    let imported = store.import(rx).await;
    feeding.await??;
    let summary = imported.map_err(|e| anyhow::anyhow!("{e}; nothing was imported"))?;
    eprintln!(
        "imported {} records ({} accounts, {} users)",
        summary.records, summary.accounts, summary.users
    );
    Ok(())
}

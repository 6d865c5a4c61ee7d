//! `seats`: runs the Cloudflare-compatible seats server and calls its API.

mod admin;
mod api;
mod database;
mod devices;
mod docs;
mod edit;
mod healthcheck;
mod idp;
mod log_writer;
mod output;
mod serve;
mod transfer;
mod users;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc in place of the C library's allocator: a request makes a few hundred small
/// allocations, and glibc's malloc and free were a sixth of a PATCH's instructions
/// (docs/performance.md, "Where a PATCH goes").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "seats", version, about = "A Cloudflare-compatible Zero Trust seats service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API server.
    Serve(serve::ServeArgs),
    /// Update seats (PATCH /accounts/{account_id}/access/seats).
    Edit(edit::EditArgs),
    /// Users of an account (the users API).
    Users(users::UsersArgs),
    /// Device registrations of an account's users (the devices API).
    Devices(devices::DevicesArgs),
    /// Access identity providers and their SCIM provisioning (the identity providers API).
    Idp(idp::IdpArgs),
    /// Administer a seats server through its operator API.
    Admin(admin::AdminArgs),
    /// Write the whole state of a database (hashes, never secrets) as JSON Lines.
    Export(transfer::ExportArgs),
    /// Load an export into an empty database (either backend), all or nothing.
    Import(transfer::ImportArgs),
    /// Exit 0 when a server on this machine answers /readyz (for a container's HEALTHCHECK).
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Print shell completions: `source <(seats completions bash)`.
    Completions(docs::CompletionsArgs),
    /// Print the man page: `seats man > seats.1` (or every page with --out-dir).
    Man(docs::ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Edit(args) => api::run(edit::run(args)),
        Command::Users(args) => api::run(users::run(args)),
        Command::Devices(args) => api::run(devices::run(args)),
        Command::Idp(args) => api::run(idp::run(args)),
        Command::Admin(args) => api::run(admin::run(args)),
        Command::Export(args) => transfer::run_export(args),
        Command::Import(args) => transfer::run_import(args),
        Command::Healthcheck(args) => healthcheck::run(args),
        Command::Completions(args) => docs::completions::<Cli>(args),
        Command::Man(args) => docs::man::<Cli>(args),
    }
}

//! `seats completions SHELL` and `seats man`: shell completions and a man page, generated from
//! the same command definition the parser uses, so they never drift from the flags.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, CommandFactory, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    shell: Shell,
}

/// Prints the completion script, e.g. `source <(seats completions bash)`.
pub fn completions<C: CommandFactory>(args: CompletionsArgs) -> ExitCode {
    let mut command = C::command();
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "seats", &mut script);
    print_all(&script, "the completion script")
}

/// The command tree without clap's `help` subcommands (pages of their own would repeat the
/// others).
fn without_help_subcommands(command: clap::Command) -> clap::Command {
    command
        .disable_help_subcommand(true)
        .mut_subcommands(without_help_subcommands)
}

/// Writes `bytes` to stdout; a reader that went away (`| head`) is not a crash.
fn print_all(bytes: &[u8], what: &str) -> ExitCode {
    match std::io::stdout().write_all(bytes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write {what}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write a page for `seats` and for each subcommand (`seats-serve.1`, ...) into this
    /// directory, instead of printing the top page.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<std::path::PathBuf>,
}

/// Prints the man page (roff), e.g. `seats man > seats.1 && man ./seats.1`, or writes every
/// page with `--out-dir`.
pub fn man<C: CommandFactory>(args: ManArgs) -> ExitCode {
    if let Some(dir) = args.out_dir {
        // Subcommand pages are named after the whole command line (`seats-serve`).
        let mut command = without_help_subcommands(C::command());
        command.build();
        return match clap_mangen::generate_to(command, &dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot write man pages to {}: {e}", dir.display());
                ExitCode::FAILURE
            }
        };
    }
    let mut page = Vec::new();
    if let Err(e) = clap_mangen::Man::new(C::command()).render(&mut page) {
        eprintln!("error: cannot render the man page: {e}");
        return ExitCode::FAILURE;
    }
    print_all(&page, "the man page")
}

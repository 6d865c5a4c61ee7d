//! `seats edit`: update seats with `PATCH /accounts/{account_id}/access/seats`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::{ArgAction, Args};
use seats_client::{SeatEditParams, SeatEditParamsBody};

use crate::api::{ApiArgs, CliError};
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    seats edit --account-id 699d98642c564d2e855e9661899b7252 \\\n    \
      --seat-uid f174e90a-fafe-4643-bbbc-4a0ed4fc8415 --access false --gateway false\n  \
    seats edit --account-id 699d98642c564d2e855e9661899b7252 --from-file body.json\n\n\
    Credentials come from CLOUDFLARE_API_TOKEN, or CLOUDFLARE_API_KEY and CLOUDFLARE_EMAIL,\n\
    or --credentials-file. Exit codes: 0 done, 2 usage error, 3 API error, 4 connection error or timeout.")]
pub struct EditArgs {
    /// The account's identifier.
    #[arg(long, env = "CLOUDFLARE_ACCOUNT_ID")]
    account_id: String,
    /// A seat to update; give --access and --gateway for each one. Repeatable.
    #[arg(long, action = ArgAction::Append, conflicts_with = "from_file")]
    seat_uid: Vec<String>,
    /// The seat's Access flag (true or false), in the order of --seat-uid.
    #[arg(long, action = ArgAction::Append, value_parser = clap::value_parser!(bool))]
    access: Vec<bool>,
    /// The seat's Gateway flag (true or false), in the order of --seat-uid.
    #[arg(long, action = ArgAction::Append, value_parser = clap::value_parser!(bool))]
    gateway: Vec<bool>,
    /// Read the body (a JSON array of {access_seat, gateway_seat, seat_uid}) from a file, or `-` for stdin.
    #[arg(long, value_name = "FILE")]
    from_file: Option<PathBuf>,
    #[command(flatten)]
    api: ApiArgs,
}

pub async fn run(args: EditArgs) -> Result<(), CliError> {
    let body = body(&args).map_err(CliError::Usage)?;
    let client = args.api.client()?;
    let page = client
        .zero_trust()
        .seats()
        .edit(SeatEditParams {
            account_id: args.account_id.clone(),
            body,
        })
        .await
        .map_err(|e| CliError::from_call(e, client.base_url()))?;
    if args.api.json {
        output::json(&page.result);
    } else {
        output::seats_table(&page.result, std::io::stdout().is_terminal());
    }
    Ok(())
}

fn body(args: &EditArgs) -> anyhow::Result<Vec<SeatEditParamsBody>> {
    if let Some(path) = &args.from_file {
        if !args.access.is_empty() || !args.gateway.is_empty() {
            return Err(anyhow!("--access and --gateway go with --seat-uid, not --from-file"));
        }
        let (name, text) = if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the body from stdin")?;
            ("stdin".to_owned(), text)
        } else {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            (path.display().to_string(), text)
        };
        return serde_json::from_str(&text).with_context(|| {
            format!("{name}: expected a JSON array of {{\"access_seat\": bool, \"gateway_seat\": bool, \"seat_uid\": string}}")
        });
    }
    if args.seat_uid.is_empty() {
        return Err(anyhow!(
            "name at least one seat: --seat-uid U --access BOOL --gateway BOOL, or --from-file FILE"
        ));
    }
    if args.access.len() != args.seat_uid.len() || args.gateway.len() != args.seat_uid.len() {
        return Err(anyhow!(
            "each --seat-uid needs one --access and one --gateway: got {} seat uids, {} --access, {} --gateway",
            args.seat_uid.len(),
            args.access.len(),
            args.gateway.len()
        ));
    }
    Ok(args
        .seat_uid
        .iter()
        .zip(&args.access)
        .zip(&args.gateway)
        .map(|((uid, access), gateway)| SeatEditParamsBody {
            access_seat: *access,
            gateway_seat: *gateway,
            seat_uid: uid.clone(),
        })
        .collect())
}

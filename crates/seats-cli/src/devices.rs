//! `seats devices`: the device registrations API (list, get, revoke, unrevoke, delete).

use clap::{Args, Subcommand};
use futures::TryStreamExt;
use seats_client::{Registration, RegistrationListParams};

use crate::api::{ApiArgs, CliError};
use crate::output;

#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// The account's identifier.
    #[arg(long, env = "CLOUDFLARE_ACCOUNT_ID", global = true)]
    account_id: Option<String>,
    #[command(flatten)]
    api: ApiArgs,
    #[command(subcommand)]
    command: DevicesCommand,
}

#[derive(Debug, Subcommand)]
enum DevicesCommand {
    /// List device registrations (every page).
    List {
        /// `active` (the default), `revoked` or `all`.
        #[arg(long)]
        status: Option<String>,
        /// Only the registrations of this user (its id).
        #[arg(long)]
        user_id: Option<String>,
        /// The user's email or name, or the device name, contains this.
        #[arg(long)]
        search: Option<String>,
    },
    /// Show one registration.
    Get { registration_id: String },
    /// Revoke registrations: they stop counting as the user's devices.
    Revoke {
        #[arg(required = true)]
        registration_ids: Vec<String>,
    },
    /// Unrevoke registrations.
    Unrevoke {
        #[arg(required = true)]
        registration_ids: Vec<String>,
    },
    /// Delete registrations.
    Delete {
        #[arg(required = true)]
        registration_ids: Vec<String>,
    },
}

pub async fn run(args: DevicesArgs) -> Result<(), CliError> {
    let account_id = args
        .account_id
        .clone()
        .ok_or_else(|| CliError::Usage(anyhow::anyhow!("--account-id (or CLOUDFLARE_ACCOUNT_ID) is required")))?;
    let client = args.api.client()?;
    let registrations = client.zero_trust().devices().registrations();
    let fail = |e| CliError::from_call(e, client.base_url());
    let (done, ids) = match args.command {
        DevicesCommand::List {
            status,
            user_id,
            search,
        } => {
            let params = RegistrationListParams {
                account_id,
                status,
                user_id: user_id.into_iter().collect(),
                search,
                ..Default::default()
            };
            let shown: Vec<Registration> = registrations
                .list_auto_paging(params)
                .try_collect()
                .await
                .map_err(fail)?;
            show(&shown, args.api.json);
            return Ok(());
        }
        DevicesCommand::Get { registration_id } => {
            let shown = registrations.get(&account_id, &registration_id).await.map_err(fail)?;
            show(&[shown], args.api.json);
            return Ok(());
        }
        DevicesCommand::Revoke { registration_ids } => {
            registrations
                .revoke(&account_id, &registration_ids)
                .await
                .map_err(fail)?;
            ("revoked", registration_ids)
        }
        DevicesCommand::Unrevoke { registration_ids } => {
            registrations
                .unrevoke(&account_id, &registration_ids)
                .await
                .map_err(fail)?;
            ("unrevoked", registration_ids)
        }
        DevicesCommand::Delete { registration_ids } => {
            registrations
                .bulk_delete(&account_id, &registration_ids)
                .await
                .map_err(fail)?;
            ("deleted", registration_ids)
        }
    };
    if args.api.json {
        output::json(&serde_json::json!({ done: ids }));
    } else {
        println!("{done} {} registration(s): {}", ids.len(), ids.join(" "));
    }
    Ok(())
}

fn show(registrations: &[Registration], json: bool) {
    if json {
        return output::json(&registrations);
    }
    let rows: Vec<Vec<String>> = registrations
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.device.id.clone(),
                r.user.email.clone().unwrap_or_default(),
                r.last_seen_at.to_string(),
                r.revoked_at.map_or_else(|| "-".into(), |t| t.to_string()),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(&["ID", "DEVICE", "USER", "LAST SEEN", "REVOKED"], &rows)
    );
}

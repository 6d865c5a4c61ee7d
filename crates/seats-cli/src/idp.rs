//! `seats idp`: Access identity providers (the identity providers API) and the SCIM users they
//! provisioned. `create --scim` prints the provider's SCIM base URL and secret: the secret is
//! shown this once (the server keeps only its hash).

use clap::{Args, Subcommand};
use seats_client::resources::{IdentityProviderListParams, ScimUserListParams};
use seats_types::{IdentityProvider, ScimConfig};

use crate::api::{ApiArgs, CliError};
use crate::output;

#[derive(Debug, Args)]
pub struct IdpArgs {
    /// The account's identifier.
    #[arg(long, env = "CLOUDFLARE_ACCOUNT_ID", global = true)]
    account_id: Option<String>,
    #[command(flatten)]
    api: ApiArgs,
    #[command(subcommand)]
    command: IdpCommand,
}

#[derive(Debug, Subcommand)]
enum IdpCommand {
    /// Add an identity provider; with --scim, print its SCIM base URL and secret (shown once).
    Create {
        #[arg(long)]
        name: String,
        /// okta, azureAD, saml, google-apps, oidc, onetimepin, ...
        #[arg(long = "type", default_value = "okta")]
        kind: String,
        /// Enable SCIM provisioning.
        #[arg(long)]
        scim: bool,
        /// Deprovisioning ends the user's sessions and device registrations.
        #[arg(long)]
        user_deprovision: bool,
        /// Deprovisioning also frees the user's seat (needs --user-deprovision).
        #[arg(long, requires = "user_deprovision")]
        seat_deprovision: bool,
    },
    /// List the account's identity providers.
    List,
    /// Show one identity provider (its SCIM secret redacted).
    Get { id: String },
    /// Remove an identity provider and the SCIM users and groups it provisioned.
    Delete { id: String },
    /// Replace the SCIM secret and print the new one (shown once).
    RefreshSecret { id: String },
    /// The SCIM users an identity provider provisioned (one page).
    ScimUsers {
        id: String,
        /// Only this userName (case-insensitive).
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        page: Option<u64>,
        /// 1 to 1000.
        #[arg(long)]
        per_page: Option<u64>,
    },
}

fn providers_table(providers: &[IdentityProvider]) {
    let rows: Vec<Vec<String>> = providers
        .iter()
        .map(|p| {
            let scim = p.scim_config.clone().unwrap_or_default();
            let flag = |v: Option<bool>| v.unwrap_or(false).to_string();
            vec![
                p.id.clone().unwrap_or_default(),
                p.name.clone(),
                p.kind.clone(),
                flag(scim.enabled),
                flag(scim.user_deprovision),
                flag(scim.seat_deprovision),
                scim.scim_base_url.unwrap_or_default(),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                "ID",
                "NAME",
                "TYPE",
                "SCIM",
                "USER_DEPROVISION",
                "SEAT_DEPROVISION",
                "SCIM_BASE_URL"
            ],
            &rows
        )
    );
}

/// The provider, and on its own lines what a SCIM client needs: base URL and secret.
fn print_with_secret(provider: &IdentityProvider, json: bool) {
    if json {
        output::json(provider);
        return;
    }
    providers_table(std::slice::from_ref(provider));
    if let Some(scim) = &provider.scim_config {
        if let (Some(url), Some(secret)) = (&scim.scim_base_url, &scim.secret) {
            println!("SCIM base URL: {url}");
            println!(
                "SCIM secret:   {}  (shown once: store it in your identity provider now)",
                secret.expose()
            );
        }
    }
}

pub async fn run(args: IdpArgs) -> Result<(), CliError> {
    let account_id = args
        .account_id
        .clone()
        .ok_or_else(|| CliError::Usage(anyhow::anyhow!("--account-id (or CLOUDFLARE_ACCOUNT_ID) is required")))?;
    let client = args.api.client()?;
    let idps = client.zero_trust().identity_providers();
    let fail = |e| CliError::from_call(e, client.base_url());
    let json = args.api.json;
    match args.command {
        IdpCommand::Create {
            name,
            kind,
            scim,
            user_deprovision,
            seat_deprovision,
        } => {
            let provider = IdentityProvider {
                name,
                kind,
                scim_config: Some(ScimConfig {
                    enabled: Some(scim),
                    user_deprovision: Some(user_deprovision),
                    seat_deprovision: Some(seat_deprovision),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let created = idps.create(&account_id, &provider).await.map_err(fail)?;
            print_with_secret(&created, json);
        }
        IdpCommand::List => {
            let params = IdentityProviderListParams {
                account_id,
                ..Default::default()
            };
            let page = idps.list(&params).await.map_err(fail)?;
            if json {
                output::json(&page.result);
            } else {
                providers_table(&page.result);
            }
        }
        IdpCommand::Get { id } => {
            let provider = idps.get(&account_id, &id).await.map_err(fail)?;
            if json {
                output::json(&provider);
            } else {
                providers_table(&[provider]);
            }
        }
        IdpCommand::Delete { id } => {
            idps.delete(&account_id, &id).await.map_err(fail)?;
            if !json {
                println!("deleted identity provider {id}");
            }
        }
        IdpCommand::RefreshSecret { id } => {
            let provider = idps.refresh_scim_secret(&account_id, &id).await.map_err(fail)?;
            print_with_secret(&provider, json);
        }
        IdpCommand::ScimUsers {
            id,
            username,
            page,
            per_page,
        } => {
            let params = ScimUserListParams {
                account_id,
                identity_provider_id: id,
                username,
                page,
                per_page,
                ..Default::default()
            };
            let users = idps.scim().users(&params).await.map_err(fail)?.result;
            if json {
                output::json(&users);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| {
                    let email = u.emails.iter().find_map(|e| e.value.clone()).unwrap_or_default();
                    vec![
                        u.id.clone().unwrap_or_default(),
                        u.external_id.clone().unwrap_or_default(),
                        email,
                        u.display_name.clone().unwrap_or_default(),
                        u.active.map_or_else(|| "-".into(), |a| a.to_string()),
                    ]
                })
                .collect();
            print!(
                "{}",
                output::table(&["ID", "EXTERNAL_ID", "EMAIL", "DISPLAY_NAME", "ACTIVE"], &rows)
            );
        }
    }
    Ok(())
}

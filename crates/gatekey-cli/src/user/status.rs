//! `gatekey status`: who the saved login acts as, where, with which scopes, and until when.

use std::time::SystemTime;

use gatekey_proto::api::MeResponse;

use super::ConnectionArgs;

pub async fn run(args: ConnectionArgs) -> anyhow::Result<()> {
    let client = args.client()?;
    let me: MeResponse = client.get("/api/v1/me").await?;
    println!("Server:  {}", client.options().server());
    println!("User:    {} ({})", me.user.email, me.user.name);
    println!("Account: {} ({})", me.account.slug, me.account.name);
    println!("Scopes:  {}", me.scopes.join(" "));
    let expiry = client.tokens().and_then(|t| t.expires_at());
    match expiry {
        Some(at) => {
            let left = at.duration_since(SystemTime::now()).unwrap_or_default();
            // To the second, as the REST API writes times.
            let stamp = time::OffsetDateTime::from(at)
                .replace_nanosecond(0)
                .unwrap_or_else(|_| time::OffsetDateTime::from(at))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            println!(
                "Token:   expires in {} at {stamp} (renewed automatically)",
                humantime::format_duration(std::time::Duration::from_secs(left.as_secs()))
            );
        }
        None => println!("Token:   expiry unknown (an API key or a token handed in)"),
    }
    Ok(())
}

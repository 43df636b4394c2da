//! `gatekey status`: who the saved login acts as, where, with which scopes, until when, and
//! the signed-in identity when the login was an OpenID Connect one.

use std::time::{Duration, SystemTime};

use clap::Args;
use gatekey_client::Identity;
use gatekey_proto::api::MeResponse;
use serde::Serialize;

use super::ConnectionArgs;
use crate::output::Output;

/// `gatekey status` options.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Print one JSON document on standard output.
    #[arg(long)]
    json: bool,
}

/// What `status` shows; the `--json` document. No token is part of it.
#[derive(Debug, Serialize)]
struct Status {
    server: String,
    user: Named,
    account: Named,
    scopes: Vec<String>,
    /// When the access token expires (RFC 3339, to the second); null when unknown.
    token_expires_at: Option<String>,
    /// From the validated ID token; null when the login asked for no `openid`.
    identity: Option<Identity>,
}

#[derive(Debug, Serialize)]
struct Named {
    /// The user's email or the account's slug.
    id: String,
    name: String,
}

pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let client = args.connection.client()?;
    let me: MeResponse = client.get("/api/v1/me").await?;
    let tokens = client.tokens();
    let status = Status {
        server: client.options().server().to_owned(),
        user: Named {
            id: me.user.email,
            name: me.user.name,
        },
        account: Named {
            id: me.account.slug,
            name: me.account.name,
        },
        scopes: me.scopes,
        token_expires_at: tokens
            .as_ref()
            .and_then(|t| t.expires_at())
            .map(to_the_second),
        identity: client.identity(),
    };
    let expiry = tokens.and_then(|t| t.expires_at());
    Output { json: args.json }.print(&status, || text(&status, expiry, SystemTime::now()))
}

/// The human form, one fact a line.
fn text(status: &Status, expiry: Option<SystemTime>, now: SystemTime) -> String {
    let mut lines = vec![
        format!("Server:   {}", status.server),
        format!("User:     {} ({})", status.user.id, status.user.name),
        format!("Account:  {} ({})", status.account.id, status.account.name),
        format!("Scopes:   {}", status.scopes.join(" ")),
    ];
    lines.push(match (expiry, &status.token_expires_at) {
        (Some(at), Some(stamp)) => {
            let left = at.duration_since(now).unwrap_or_default();
            format!(
                "Token:    expires in {} at {stamp} (renewed automatically)",
                humantime::format_duration(Duration::from_secs(left.as_secs()))
            )
        }
        _ => "Token:    expiry unknown (an API key or a token handed in)".to_owned(),
    });
    if let Some(identity) = &status.identity {
        lines.push(format!("Identity: {}", describe(identity)));
    }
    lines.join("\n")
}

/// `ada@acme.test (Ada), subject 42, account acme, issued by https://…`, with what the ID
/// token holds.
fn describe(identity: &Identity) -> String {
    let mut parts = Vec::new();
    match (&identity.email, &identity.name) {
        (Some(email), Some(name)) => parts.push(format!("{email} ({name})")),
        (Some(email), None) => parts.push(email.clone()),
        (None, Some(name)) => parts.push(name.clone()),
        (None, None) => {}
    }
    parts.push(format!("subject {}", identity.subject));
    if let Some(account) = &identity.account {
        parts.push(format!("account {account}"));
    }
    parts.push(format!("issued by {}", identity.issuer));
    parts.join(", ")
}

/// To the second, as the REST API writes times.
fn to_the_second(at: SystemTime) -> String {
    let at = time::OffsetDateTime::from(at);
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(identity: Option<Identity>) -> Status {
        Status {
            server: "http://127.0.0.1:8080".into(),
            user: Named {
                id: "ada@acme.test".into(),
                name: "Ada".into(),
            },
            account: Named {
                id: "acme".into(),
                name: "Acme".into(),
            },
            scopes: vec!["openid".into(), "read".into()],
            token_expires_at: Some("2026-11-28T18:20:45Z".into()),
            identity,
        }
    }

    fn identity() -> Identity {
        serde_json::from_value(serde_json::json!({
            "sub": "42", "iss": "http://127.0.0.1:8080", "email": "ada@acme.test",
            "name": "Ada", "account": "acme"
        }))
        .expect("an identity")
    }

    #[test]
    fn the_identity_is_a_line_of_its_own_when_there_is_one() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let now = at - Duration::from_secs(3598);
        let shown = text(&status(Some(identity())), Some(at), now);
        assert!(shown.contains("Token:    expires in 59m 58s"), "{shown}");
        assert!(
            shown.ends_with(
                "Identity: ada@acme.test (Ada), subject 42, account acme, issued by http://127.0.0.1:8080"
            ),
            "{shown}"
        );
        let without = text(&status(None), Some(at), now);
        assert!(!without.contains("Identity"), "{without}");
    }

    #[test]
    fn the_json_document_holds_the_identity_or_null() {
        let json = serde_json::to_value(status(Some(identity()))).unwrap();
        assert_eq!(json["identity"]["sub"], "42");
        assert_eq!(json["identity"]["email"], "ada@acme.test");
        assert_eq!(json["identity"]["account"], "acme");
        assert_eq!(json["user"]["id"], "ada@acme.test");
        assert_eq!(json["token_expires_at"], "2026-11-28T18:20:45Z");
        let json = serde_json::to_value(status(None)).unwrap();
        assert!(json["identity"].is_null(), "{json}");
    }
}

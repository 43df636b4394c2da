//! Applications as a human reads them.

use gatekey_core::oauth::application::Application;

use crate::admin::now;
use crate::admin::views::timestamp;

/// The grant types' names.
fn grant_names(app: &Application) -> Vec<&'static str> {
    app.grant_types.iter().map(|g| g.as_str()).collect()
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// Items separated by spaces, or `none`.
fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(" ")
    }
}

/// `app list`: one application a line, or a note that there is none.
pub fn app_rows(apps: &[Application], account_slug: &str) -> String {
    if apps.is_empty() {
        return format!("{account_slug} has no applications");
    }
    apps.iter()
        .map(|a| {
            format!(
                "{:<28}  {:<12}  {:<24}  {}",
                a.client_id,
                a.client_type.as_str(),
                a.name,
                grant_names(a).join(" ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `app show`: one setting a line.
pub fn app_text(app: &Application, account_slug: &str) -> String {
    let redirect_uris: Vec<&str> = app.redirect_uris.iter().map(String::as_str).collect();
    let resources: Vec<&str> = app.resources.iter().map(String::as_str).collect();
    let post_logout: Vec<&str> = app
        .post_logout_redirect_uris
        .iter()
        .map(String::as_str)
        .collect();
    let mut lines = vec![
        format!("client_id:       {}", app.client_id),
        format!("name:            {}", app.name),
        format!("account:         {account_slug}"),
        format!("type:            {}", app.client_type.as_str()),
        format!("redirect URIs:   {}", list_or_none(&redirect_uris)),
        format!("grant types:     {}", list_or_none(&grant_names(app))),
        format!("scopes:          {}", app.scopes),
        format!("implicit flow:   {}", yes_no(app.implicit_allowed)),
        format!(
            "introspect:      {}",
            match (app.introspect, app.introspect_all_accounts) {
                (false, _) => "no",
                (true, false) => "own account",
                (true, true) => "all accounts",
            }
        ),
        format!("verify keys:     {}", yes_no(app.verify_keys)),
        format!(
            "service account: {}",
            app.service_account_id
                .map_or_else(|| "none".to_owned(), |id| id.to_string())
        ),
        format!("ID token alg:    {}", app.id_token_signed_response_alg),
        format!("access tokens:   {}", app.access_token_format),
        format!("resources:       {}", list_or_none(&resources)),
        format!("logout URIs:     {}", list_or_none(&post_logout)),
    ];
    if let Some(at) = app.previous_secret_expires_at.filter(|at| *at > now()) {
        lines.push(format!("previous secret: valid until {}", timestamp(at)));
    }
    lines.join("\n")
}

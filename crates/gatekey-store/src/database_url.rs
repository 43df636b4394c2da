//! Database URLs as they may be shown (in `Debug` output, errors and logs): never with a
//! password.

/// Query parameters that carry a password (libpq's names).
const PASSWORD_PARAMETERS: [&str; 2] = ["password", "sslpassword"];

/// `url` with any password replaced by `***`: every `password=` query parameter, wherever it
/// stands, and the one in the user information (`postgres://gatekey:***@db.internal/gatekey`).
/// Query passwords go first, since a value may hold an `@` that would otherwise look like the
/// end of the user information; then the last `@` left ends the user information, so a password
/// there holding an unencoded `/`, `?` or `@` is still hidden whole.
pub fn redact_database_url(url: &str) -> String {
    let url = redact_password_parameters(url);
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url;
    };
    match url.rfind('@').filter(|&at| at >= scheme_end) {
        Some(at) => {
            let user_info = &url[scheme_end..at];
            let shown = match user_info.split_once(':') {
                Some((user, _)) => format!("{user}:***"),
                None => user_info.to_owned(),
            };
            format!("{}{shown}{}", &url[..scheme_end], &url[at..])
        }
        None => url,
    }
}

/// `text` with the values of password parameters replaced by `***`: every `name=value` that
/// follows a `?` or an `&` anywhere in `text`, not only after the first `?`, since a password in
/// the user information may itself hold a `?`.
fn redact_password_parameters(text: &str) -> String {
    let mut pieces = text.split_inclusive(['?', '&']);
    let mut shown = pieces.next().unwrap_or_default().to_owned();
    for piece in pieces {
        let (pair, separator) = match piece.strip_suffix(['?', '&']) {
            Some(pair) => (pair, &piece[pair.len()..]),
            None => (piece, ""),
        };
        match pair.split_once('=') {
            Some((name, _))
                if PASSWORD_PARAMETERS
                    .iter()
                    .any(|p| name.eq_ignore_ascii_case(p)) =>
            {
                shown.push_str(name);
                shown.push_str("=***");
            }
            _ => shown.push_str(pair),
        }
        shown.push_str(separator);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_and_the_rest_is_kept() {
        for (url, shown) in [
            (
                "postgres://gatekey:s3cret@db.internal:5432/gatekey?sslmode=require",
                "postgres://gatekey:***@db.internal:5432/gatekey?sslmode=require",
            ),
            (
                "postgres://gatekey@db.internal/gatekey",
                "postgres://gatekey@db.internal/gatekey",
            ),
            (
                "postgres://db.internal/gatekey?user=gatekey&password=s3cret",
                "postgres://db.internal/gatekey?user=gatekey&password=***",
            ),
            (
                "postgres://u:pa/ss?w@rd@db/gatekey?PASSWORD=s3cret",
                "postgres://u:***@db/gatekey?PASSWORD=***",
            ),
            (
                "sqlite://gatekey-data/gatekey.db",
                "sqlite://gatekey-data/gatekey.db",
            ),
            (
                "postgres://db/x?password=a@b",
                "postgres://db/x?password=***",
            ),
            (
                "postgres://u:p@db/x?sslmode=require&sslpassword=k@y&password=s@cret",
                "postgres://u:***@db/x?sslmode=require&sslpassword=***&password=***",
            ),
            (
                "db.internal/gatekey?password=a@b",
                "db.internal/gatekey?password=***",
            ),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_database_url(url), shown);
        }
    }

    #[tokio::test]
    async fn a_store_shows_its_url_without_the_password() {
        sqlx::any::install_default_drivers();
        let url = "postgres://gatekey:s3cret-pw@127.0.0.1:1/gatekey";
        let pool = sqlx::any::AnyPoolOptions::new()
            .connect_lazy(url)
            .expect("a lazy pool connects to nothing");
        let health = std::sync::Arc::new(crate::database_health::DatabaseHealth::new(
            crate::Backend::Postgres,
        ));
        let pool = crate::gated_pool::GatedPool::new(pool, std::sync::Arc::clone(&health));
        let store = crate::SqlStore {
            read: pool.clone(),
            issue_batcher: crate::issue_batch::IssueBatcher::spawn(
                pool.clone(),
                crate::issue_batch::Durability::InCommit,
            ),
            write: pool,
            health,
            backend: crate::Backend::Postgres,
            url: url.to_owned(),
            local_caches: None,
        };
        let debug = format!("{store:?}");
        assert!(!debug.contains("s3cret-pw"), "{debug}");
        assert!(debug.contains("gatekey:***@127.0.0.1:1"), "{debug}");
    }
}

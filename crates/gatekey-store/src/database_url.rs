//! Database URLs as they may be shown (in `Debug` output, errors and logs): never with a
//! password.

/// Query parameters that carry a password (libpq's names).
const PASSWORD_PARAMETERS: [&str; 2] = ["password", "sslpassword"];

/// `url` with any password replaced by `***`: the one in the user information
/// (`postgres://gatekey:***@db.internal/gatekey`) and any `password=` query parameter. The last
/// `@` ends the user information, so a password holding an unencoded `/`, `?` or `@` is still
/// hidden whole.
pub fn redact_database_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return redact_query(url);
    };
    match url.rfind('@').filter(|&at| at >= scheme_end) {
        Some(at) => {
            let user_info = &url[scheme_end..at];
            let shown = match user_info.split_once(':') {
                Some((user, _)) => format!("{user}:***"),
                None => user_info.to_owned(),
            };
            format!("{}{shown}{}", &url[..scheme_end], redact_query(&url[at..]))
        }
        None => redact_query(url),
    }
}

/// `text` with the values of password parameters in its query replaced by `***`.
fn redact_query(text: &str) -> String {
    let Some((before, query)) = text.split_once('?') else {
        return text.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _))
                if PASSWORD_PARAMETERS
                    .iter()
                    .any(|p| name.eq_ignore_ascii_case(p)) =>
            {
                format!("{name}=***")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{before}?{}", pairs.join("&"))
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
        let store = crate::SqlStore {
            read: pool.clone(),
            issue_batcher: crate::issue_batch::IssueBatcher::spawn(pool.clone()),
            write: pool,
            backend: crate::Backend::Postgres,
            url: url.to_owned(),
        };
        let debug = format!("{store:?}");
        assert!(!debug.contains("s3cret-pw"), "{debug}");
        assert!(debug.contains("gatekey:***@127.0.0.1:1"), "{debug}");
    }
}

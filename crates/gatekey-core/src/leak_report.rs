//! Secrets reported leaked by a secret scanner (GitLab's token revocation API, GitHub's secret
//! scanning partner program): what is revoked, and what the reporter is told.
//!
//! A reported secret that is a live gatekey credential (an API key, an opaque access token, a
//! refresh token or an OAuth client secret) is revoked at once, with an audit event in the credential's account naming
//! where it was found. Everything else (a string that is no gatekey secret, a bad checksum, a
//! secret never issued, one already revoked or expired) changes nothing and gets the same
//! answer, [`LeakOutcome::NotLive`]: the reporter learns nothing it could not learn by trying
//! the secret itself. Reporting a secret again is harmless: it is then no longer live.

use std::fmt;

use time::OffsetDateTime;

use crate::audit::{truncate_for_storage, Actor, AuditAction, AuditEntry, MAX_DETAIL_BYTES};
use crate::oauth::store::{ApplicationStore, GrantStore, TokenStore};
use crate::secret::{Secret, SecretKind};
use crate::store::{ApiKeyStore, StoreError, StoreResult};

/// Most secrets one report may carry; a longer report is refused whole, before anything is
/// revoked, so a batch is never half done.
pub const MAX_SECRETS_PER_REPORT: usize = 1_000;

/// The kinds of secret a scanner may report, each by its prefix. Authorization codes, device
/// codes, sessions and invitations live minutes or are never written down, so scanners are not
/// asked to look for them.
pub const REPORTABLE_KINDS: [SecretKind; 4] = [
    SecretKind::ApiKey,
    SecretKind::AccessToken,
    SecretKind::RefreshToken,
    SecretKind::ClientSecret,
];

/// What a report did to one secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakOutcome {
    /// It was a live credential and is now revoked.
    Revoked,
    /// Nothing to revoke: no gatekey secret, unknown, or already dead. One answer for all, so a
    /// reporter cannot tell a secret that never existed from one revoked earlier.
    NotLive,
}

/// Where the reported secret was found (a URL, as the scanner gave it), and by whom. `Debug`
/// prints no secret.
#[derive(Clone)]
pub struct LeakReport<'a> {
    /// The secret in clear, as the scanner found it.
    pub secret: &'a str,
    /// Where it was found; kept, cut to size, in the audit event.
    pub location: &'a str,
    /// The scanner that reported it (`gitlab`, `github`), named in the audit event.
    pub reporter: &'static str,
}

impl fmt::Debug for LeakReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeakReport")
            .field("secret", &"<redacted>")
            .field("location", &self.location)
            .field("reporter", &self.reporter)
            .finish()
    }
}

impl LeakReport<'_> {
    /// The audit event of revoking the reported credential: done by the server on the
    /// scanner's word, saying who reported it and where the secret was found.
    fn audit(&self, now: OffsetDateTime, target_type: &'static str) -> AuditEntry {
        let detail = format!("reported leaked by {} at {}", self.reporter, self.location);
        AuditEntry::new(
            now,
            &Actor::server(),
            AuditAction::LeakedSecretRevoked,
            target_type,
        )
        .detail(truncate_for_storage(&detail, MAX_DETAIL_BYTES))
    }
}

/// Revokes the credential `report` names if it is live at `now`. A storage failure is an
/// error, never [`LeakOutcome::NotLive`]: the caller must not tell the scanner the report was
/// handled. The store's writes carry their invalidations, so every replica drops the
/// credential from its caches.
pub async fn revoke_leaked_secret<S>(
    store: &S,
    report: &LeakReport<'_>,
    now: OffsetDateTime,
) -> StoreResult<LeakOutcome>
where
    S: ApiKeyStore + TokenStore + ApplicationStore + GrantStore,
{
    let Some(secret) = SecretKind::of(report.secret)
        .filter(|kind| REPORTABLE_KINDS.contains(kind))
        .and_then(|kind| Secret::parse(kind, report.secret).ok())
    else {
        return Ok(LeakOutcome::NotLive);
    };
    let hash = secret.hash();
    match secret.kind() {
        SecretKind::ApiKey => {
            let Some(found) = store.api_key_credential(&hash).await? else {
                return Ok(LeakOutcome::NotLive);
            };
            // A key of a disabled user is revoked too: enabling the user would revive it.
            if !found.key.is_usable_at(now) || found.expires_at().is_some_and(|at| at <= now) {
                return Ok(LeakOutcome::NotLive);
            }
            let audit = report.audit(now, "api_key");
            // A secret a roll replaced, still in its grace: that secret ends now; the key's
            // current secret, which the report does not name, keeps working.
            if found.by_previous_secret {
                let mut audit = audit.in_account(found.key.account_id).target(found.key.id);
                audit.detail = audit.detail.map(|reported| {
                    let detail =
                        format!("the secret a roll replaced ended, the key lives on; {reported}");
                    truncate_for_storage(&detail, MAX_DETAIL_BYTES)
                });
                let ended = store
                    .end_previous_api_key_secret(found.key.id, &hash, audit)
                    .await?;
                return Ok(if ended {
                    LeakOutcome::Revoked
                } else {
                    LeakOutcome::NotLive
                });
            }
            match store.revoke_api_key(found.key.id, now, audit).await {
                Ok(_) => Ok(LeakOutcome::Revoked),
                // Deleted between the lookup and the revocation: nothing left to revoke.
                Err(StoreError::NotFound) => Ok(LeakOutcome::NotLive),
                Err(error) => Err(error),
            }
        }
        SecretKind::AccessToken => {
            let Some(token) = store.access_token(&hash).await? else {
                return Ok(LeakOutcome::NotLive);
            };
            if token.revoked_at.is_some() || token.expires_at <= now {
                return Ok(LeakOutcome::NotLive);
            }
            let audit = report
                .audit(now, "access_token")
                .in_account(token.account.id)
                .target(token.id);
            store
                .revoke_access_token(token.id, now, Some(audit))
                .await?;
            Ok(LeakOutcome::Revoked)
        }
        SecretKind::RefreshToken => {
            let Some(token) = store.refresh_token(&hash).await? else {
                return Ok(LeakOutcome::NotLive);
            };
            let Some(family_id) = token.family_id else {
                return Ok(LeakOutcome::NotLive);
            };
            // A spent refresh token still leads to its family's live successors: whoever
            // holds it may be the one who rotated it, so the whole family goes.
            if token.revoked_at.is_some() || token.expires_at <= now {
                return Ok(LeakOutcome::NotLive);
            }
            let audit = report
                .audit(now, "refresh_family")
                .in_account(token.account.id)
                .target(family_id);
            store.revoke_family(family_id, now, Some(audit)).await?;
            Ok(LeakOutcome::Revoked)
        }
        SecretKind::ClientSecret => {
            let Some(application) = store.application_by_secret(&hash).await? else {
                return Ok(LeakOutcome::NotLive);
            };
            // A previous secret past its overlap no longer authenticates: nothing to revoke.
            if !application.secret_matches(&hash, now) {
                return Ok(LeakOutcome::NotLive);
            }
            // The secret alone was enough for client credentials tokens: whoever found it may
            // hold some, so the service account's grant goes first, with its tokens. Done
            // before the secret is cleared, so a failure between the two leaves the secret
            // live and the retried report does both. Grants users gave the application need
            // the user's refresh token too, and are left alone.
            if let Some(service_account) = application.service_account_id {
                let audit = report
                    .audit(now, "grant")
                    .in_account(application.account_id);
                store
                    .revoke_grants(
                        service_account,
                        application.account_id,
                        application.id,
                        now,
                        audit,
                    )
                    .await?;
            }
            // The application cannot obtain new tokens until an admin rotates its secret, and
            // whoever found the secret cannot either.
            let audit = report.audit(now, "application");
            match store
                .revoke_application_secret(application.id, &hash, now, audit)
                .await
            {
                Ok(_) => Ok(LeakOutcome::Revoked),
                Err(StoreError::NotFound) => Ok(LeakOutcome::NotLive),
                Err(error) => Err(error),
            }
        }
        _ => Ok(LeakOutcome::NotLive),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reports_debug_shows_where_but_not_the_secret() {
        let secret = Secret::generate(SecretKind::ApiKey);
        let report = LeakReport {
            secret: secret.expose(),
            location: "https://example.com/repo/blob/main/.env",
            reporter: "github",
        };
        let printed = format!("{report:?}");
        assert!(!printed.contains(secret.expose()), "{printed}");
        assert!(printed.contains("example.com/repo") && printed.contains("github"));
    }

    /// The checksum as docs/security.md tells scanner authors to compute it: CRC-32 (IEEE) of
    /// everything before it, in base62 `0-9A-Za-z`, most significant digit first, 6 digits.
    fn documented_checksum(text: &str) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut n = crc32fast::hash(text.as_bytes());
        let mut digits = [b'0'; 6];
        for digit in digits.iter_mut().rev() {
            *digit = ALPHABET[(n % 62) as usize];
            n /= 62;
        }
        String::from_utf8(digits.to_vec()).expect("ascii")
    }

    #[test]
    fn reportable_secrets_match_the_documented_pattern_and_checksum() {
        for kind in REPORTABLE_KINDS {
            for _ in 0..50 {
                let secret = Secret::generate(kind);
                let text = secret.expose();
                let rest = text.strip_prefix(kind.prefix()).expect("prefix");
                assert_eq!(rest.len(), 49, "{kind:?}");
                assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric()));
                let (signed, sum) = text.split_at(text.len() - 6);
                assert_eq!(documented_checksum(signed), sum, "{kind:?}");
            }
        }
    }
}

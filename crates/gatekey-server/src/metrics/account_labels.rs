//! A bounded set of account labels. An account's slug becomes a label value the first time the
//! account is counted, until [`MAX_ACCOUNT_LABELS`] accounts have one; any other account is
//! counted under [`OTHER_ACCOUNTS`]. A label, once given, stays (counters never go down, and a
//! series that vanished would read as a reset), so the set is "the first accounts counted since
//! the process started", not a moving top list; a restart starts it afresh.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

/// Most accounts that get a series of their own.
pub const MAX_ACCOUNT_LABELS: usize = 20;

/// The label of every account past the first [`MAX_ACCOUNT_LABELS`]. No slug can take it: a
/// slug starts with a letter or digit.
pub const OTHER_ACCOUNTS: &str = "_other";

/// The accounts that have a label of their own.
#[derive(Debug, Default)]
pub struct AccountLabels(Mutex<HashSet<String>>);

impl AccountLabels {
    /// The label to count `slug` under: itself if it has one or there is room for it, else
    /// [`OTHER_ACCOUNTS`].
    pub fn label_for(&self, slug: &str) -> String {
        let mut labelled = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if labelled.contains(slug) {
            return slug.to_owned();
        }
        if labelled.len() < MAX_ACCOUNT_LABELS {
            labelled.insert(slug.to_owned());
            return slug.to_owned();
        }
        OTHER_ACCOUNTS.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_accounts_keep_their_labels_and_the_rest_share_one() {
        let labels = AccountLabels::default();
        for n in 0..MAX_ACCOUNT_LABELS {
            assert_eq!(labels.label_for(&format!("acct-{n}")), format!("acct-{n}"));
        }
        assert_eq!(labels.label_for("late-comer"), OTHER_ACCOUNTS);
        assert_eq!(labels.label_for("another"), OTHER_ACCOUNTS);
        assert_eq!(labels.label_for("acct-0"), "acct-0", "a label stays");
    }
}

//! Printing results: a human line by default, one JSON document with `--json`.

use serde::Serialize;

/// How to print.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// One JSON document on standard output.
    pub json: bool,
}

impl Output {
    /// Prints `value` as JSON, or `human` as text. JSON objects print with their keys sorted,
    /// whatever the order of a struct's fields.
    pub fn print<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            let sorted = serde_json::to_value(value)?;
            println!("{}", serde_json::to_string_pretty(&sorted)?);
        } else {
            println!("{}", human());
        }
        Ok(())
    }
}

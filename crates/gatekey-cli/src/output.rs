//! Printing results: a human line by default, one JSON document with `--json`.

use serde::Serialize;

/// How to print.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// One JSON document on standard output.
    pub json: bool,
}

impl Output {
    /// Prints `value` as JSON, or `human` as text.
    pub fn print<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            println!("{}", human());
        }
        Ok(())
    }
}

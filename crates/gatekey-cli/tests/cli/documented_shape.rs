//! What a documented command prints, read from the comments under it, and the check that its
//! real output still has that shape.
//!
//! - `# {…}` (or a ```` ```json ```` block): the output is JSON and has every key shown, at every
//!   level shown (for an array, its first element). Values are examples and are not compared.
//!   `…` or `...` outside a string stands for members left out; text after the closing brace
//!   is prose.
//! - `# HTTP/1.1 NNN Reason`: the first line of the output (`curl -i`) is this status line.
//! - `# name: value` under a status line: the response has this header line (name in any case).
//! - Any other comment is prose.

use serde_json::Value;

/// One thing the README says about a command's output.
#[derive(Debug)]
pub enum Expected {
    /// A JSON document with at least these keys.
    Json(Value),
    /// The HTTP status line.
    StatusLine(String),
    /// An HTTP header line.
    Header { name: String, value: String },
}

/// What `comments` (and a shown ```` ```json ```` block) say the command prints. Panics when
/// a documented JSON shape is not JSON, since then the README shows nothing a reader can trust.
pub fn expectations(comments: &[String], shown_output: Option<&str>) -> Vec<Expected> {
    let mut found = Vec::new();
    let mut after_status_line = false;
    for comment in comments {
        if comment.starts_with('{') {
            found.push(Expected::Json(documented_json(comment)));
        } else if comment.starts_with("HTTP/") {
            found.push(Expected::StatusLine(comment.clone()));
            after_status_line = true;
        } else if let Some((name, value)) = comment.split_once(": ").filter(|_| after_status_line) {
            found.push(Expected::Header {
                name: name.to_ascii_lowercase(),
                value: value.to_owned(),
            });
        }
    }
    if let Some(shown) = shown_output {
        found.push(Expected::Json(documented_json(shown)));
    }
    found
}

/// Why `output` does not have the shape `expected` documents, if it does not.
pub fn mismatch(expected: &Expected, output: &str) -> Option<String> {
    match expected {
        Expected::Json(documented) => {
            let real: Value = match serde_json::from_str(output.trim()) {
                Ok(real) => real,
                Err(error) => return Some(format!("the output is not JSON ({error})")),
            };
            let mut missing = Vec::new();
            missing_keys(documented, &real, "", &mut missing);
            (!missing.is_empty()).then(|| format!("the output lacks {}", missing.join(", ")))
        }
        Expected::StatusLine(line) => {
            let first = output.lines().next().unwrap_or("").trim_end();
            (first != line).then(|| format!("the status line is {first:?}, not {line:?}"))
        }
        Expected::Header { name, value } => {
            let present = output.lines().any(|line| {
                line.split_once(": ").is_some_and(|(n, v)| {
                    n.eq_ignore_ascii_case(name) && v.trim_end() == value.as_str()
                })
            });
            (!present).then(|| format!("no header line \"{name}: {value}\""))
        }
    }
}

/// The JSON document at the start of `text`, with elisions left out. Panics when it is not JSON.
fn documented_json(text: &str) -> Value {
    let json = without_elisions(first_json_value(text));
    serde_json::from_str(&json)
        .unwrap_or_else(|error| panic!("documented JSON {text:?} is not JSON ({error}): {json}"))
}

/// `text` up to the brace that closes its first one.
fn first_json_value(text: &str) -> &str {
    let (mut depth, mut strings) = (0usize, StringLiterals::default());
    for (index, c) in text.char_indices() {
        if strings.continues(c) {
            continue;
        }
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return &text[..=index];
                }
            }
            _ => {}
        }
    }
    text
}

/// `json` without `…` and `...` outside strings, and without the commas they leave over.
fn without_elisions(json: &str) -> String {
    let chars: Vec<char> = json.chars().collect();
    let mut out = String::new();
    let (mut strings, mut comma_pending) = (StringLiterals::default(), false);
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        index += 1;
        if strings.continues(c) {
            out.push(c);
            continue;
        }
        if c == '.' && chars[index..].starts_with(&['.', '.']) {
            index += 2;
            continue;
        }
        if c == '…' || c.is_whitespace() {
            continue;
        }
        if c == ',' {
            comma_pending = true;
            continue;
        }
        if std::mem::take(&mut comma_pending)
            && !matches!(c, '}' | ']')
            && !matches!(out.chars().last(), None | Some('{' | '['))
        {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Follows JSON text one character at a time to tell which characters lie inside a string.
#[derive(Default)]
struct StringLiterals {
    inside: bool,
    escaped: bool,
}

impl StringLiterals {
    /// Whether `c`, the next character, continues a string, up to and with its closing quote.
    /// An opening quote does not, so that the caller sees where a string starts.
    fn continues(&mut self, c: char) -> bool {
        if !self.inside {
            self.inside = c == '"';
            return false;
        }
        match c {
            _ if self.escaped => self.escaped = false,
            '\\' => self.escaped = true,
            '"' => self.inside = false,
            _ => {}
        }
        true
    }
}

/// Pushes onto `missing` the paths of keys of `documented` that `real` lacks.
fn missing_keys(documented: &Value, real: &Value, path: &str, missing: &mut Vec<String>) {
    match (documented, real) {
        (Value::Object(shown), Value::Object(present)) => {
            for (key, value) in shown {
                let key_path = format!("{path}.{key}");
                match present.get(key) {
                    Some(real_value) => missing_keys(value, real_value, &key_path, missing),
                    None => missing.push(key_path),
                }
            }
        }
        (Value::Array(shown), Value::Array(present)) => {
            if let (Some(first_shown), Some(first_present)) = (shown.first(), present.first()) {
                missing_keys(first_shown, first_present, &format!("{path}[0]"), missing);
            } else if !shown.is_empty() {
                missing.push(format!("{path}[0]"));
            }
        }
        (Value::Object(_), _) => missing.push(format!("{path} (an object)")),
        (Value::Array(_), _) => missing.push(format!("{path} (an array)")),
        _ => {}
    }
}

#[test]
fn elided_json_keeps_the_keys_it_shows() {
    let shown = r#"{"id":2,"email":"a…@b",...,"q":"a \"}…\" {","user":{…,"kind":"service",…},"list":[{"x":1},…]}   prose"#;
    let Expected::Json(json) = &expectations(&[shown.to_owned()], None)[0] else {
        panic!("a JSON expectation");
    };
    assert_eq!(
        json,
        &serde_json::json!({"id":2,"email":"a…@b","q":"a \"}…\" {","user":{"kind":"service"},"list":[{"x":1}]})
    );
}

#[test]
fn output_without_a_documented_key_is_a_mismatch() {
    let expected = Expected::Json(serde_json::json!({"user":{"kind":"x"},"list":[{"x":1}]}));
    assert_eq!(
        mismatch(&expected, r#"{"user":{"kind":"y"},"list":[{"x":2}]}"#),
        None
    );
    assert_eq!(
        mismatch(&expected, r#"{"user":{},"list":[]}"#).as_deref(),
        Some("the output lacks .list[0], .user.kind")
    );
}

#[test]
fn status_and_header_lines_are_compared_as_printed() {
    let comments = ["HTTP/1.1 401 Unauthorized", "www-authenticate: Bearer x"].map(String::from);
    let expected = expectations(&comments, None);
    let output = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer x\r\n\r\n{}";
    assert!(expected.iter().all(|e| mismatch(e, output).is_none()));
    let output = "HTTP/1.1 200 OK\r\n\r\n{}";
    assert!(expected.iter().all(|e| mismatch(e, output).is_some()));
}

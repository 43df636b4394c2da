//! The README's walkthroughs as steps a test can run.
//!
//! The rules, so that a writer knows what a change to README.md does to the test:
//! - Only the ```` ```sh ```` blocks inside the sections named in [`WALKTHROUGHS`] run, in the
//!   order they appear, in one bash session (`bash -euo pipefail`) started in the directory where
//!   `gatekey serve` runs. Every other block is not run: the set-up blocks (`cargo run … serve`,
//!   `cargo test`), sample output in blocks without `sh`, the PostgreSQL example. Steps done in a
//!   browser stay prose.
//! - A command is one line and the lines its trailing `\` continues.
//! - The `# …` lines under a command say what it prints (see `documented_shape`). For
//!   `NAME=$(…)`, what it prints is the value it gives `$NAME`.
//! - A ```` ```json ```` block right after a walkthrough's `sh` block (nothing but blank lines
//!   between) shows what that block's last command prints.
//! - `http://127.0.0.1:8080`, the address the README tells people to use, stands for the test
//!   server's address.

/// The README sections whose `sh` blocks run, by heading.
pub const WALKTHROUGHS: [&str; 3] = [
    "## Five-minute walkthrough",
    "## OAuth in two minutes",
    "## Log in with gatekey (OpenID Connect)",
];

/// The address the README's commands use.
pub const README_BASE_URL: &str = "http://127.0.0.1:8080";

/// One command of a walkthrough and what the README says it prints.
#[derive(Debug)]
pub struct Step {
    /// The README line the command starts on, for failure messages.
    pub line: usize,
    /// The command, with its continuation lines.
    pub command: String,
    /// The variable of a `NAME=$(…)` command.
    pub assigns: Option<String>,
    /// The text of the `# …` lines under the command, without the `# `.
    pub comments: Vec<String>,
    /// A ```` ```json ```` block shown as the command's output.
    pub shown_output: Option<String>,
}

/// A fenced code block of the README.
struct Block {
    /// The line of the opening fence.
    line: usize,
    /// The word after the fence: `sh`, `json`, or empty.
    language: String,
    /// Whether it lies in one of the [`WALKTHROUGHS`].
    in_walkthrough: bool,
    /// Whether only blank lines separate it from the block before.
    follows_block: bool,
    /// Its lines, without the fences.
    lines: Vec<String>,
}

/// The steps of the README's walkthroughs, in order.
pub fn walkthrough_steps(readme: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut last_was_walkthrough_sh = false;
    for block in blocks(readme) {
        match block.language.as_str() {
            "sh" if block.in_walkthrough => {
                steps.extend(split_commands(&block));
                last_was_walkthrough_sh = true;
                continue;
            }
            "json" if last_was_walkthrough_sh && block.follows_block => {
                let last = steps.last_mut().expect("an sh block has a command");
                last.shown_output = Some(block.lines.join("\n"));
            }
            _ => {}
        }
        last_was_walkthrough_sh = false;
    }
    steps
}

/// The fenced code blocks of `readme`, with the section each lies in.
fn blocks(readme: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut in_walkthrough = false;
    let mut open: Option<Block> = None;
    let mut only_blank_since_block = false;
    for (index, line) in readme.lines().enumerate() {
        if let Some(block) = open.as_mut() {
            if line.starts_with("```") {
                found.push(open.take().expect("open block"));
                only_blank_since_block = true;
            } else {
                block.lines.push(line.to_owned());
            }
        } else if let Some(language) = line.strip_prefix("```") {
            open = Some(Block {
                line: index + 1,
                language: language.trim().to_owned(),
                in_walkthrough,
                follows_block: only_blank_since_block,
                lines: Vec::new(),
            });
        } else {
            if line.starts_with("## ") {
                in_walkthrough = WALKTHROUGHS.contains(&line.trim_end());
            }
            only_blank_since_block &= line.trim().is_empty();
        }
    }
    found
}

/// The commands of an `sh` block, each with the comment lines under it.
fn split_commands(block: &Block) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continues = false;
    for (offset, line) in block.lines.iter().enumerate() {
        let trimmed = line.trim();
        if continues {
            let step = steps.last_mut().expect("a continued command");
            step.command.push('\n');
            step.command.push_str(line);
            continues = line.ends_with('\\');
        } else if let Some(comment) = trimmed.strip_prefix('#') {
            // A comment above the first command is prose about the block.
            if let Some(step) = steps.last_mut() {
                step.comments.push(comment.trim().to_owned());
            }
        } else if !trimmed.is_empty() {
            steps.push(Step {
                line: block.line + 1 + offset,
                command: line.clone(),
                assigns: assigned_variable(line),
                comments: Vec::new(),
                shown_output: None,
            });
            continues = line.ends_with('\\');
        }
    }
    steps
}

/// `NAME` when `line` starts `NAME=$(`.
fn assigned_variable(line: &str) -> Option<String> {
    let (name, _) = line.split_once("=$(")?;
    let is_name = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    is_name.then(|| name.to_owned())
}

#[test]
fn only_walkthrough_sh_blocks_become_steps_with_their_comments() {
    let readme = [
        "## Set up",
        "```sh",
        "cargo run -- serve",
        "```",
        "## OAuth in two minutes",
        "```sh",
        "# prose",
        "ID=$(gatekey create \\",
        "  --json)",
        r#"# {"id":1}"#,
        "",
        "curl http://127.0.0.1:8080/me",
        "```",
        "",
        "```json",
        r#"{"user":{}}"#,
        "```",
        "## PostgreSQL and many replicas",
        "```sh",
        "gatekey serve",
        "```",
    ]
    .join("\n");
    let steps = walkthrough_steps(&readme);
    let commands: Vec<_> = steps.iter().map(|s| s.command.as_str()).collect();
    assert_eq!(
        commands,
        [
            "ID=$(gatekey create \\\n  --json)",
            "curl http://127.0.0.1:8080/me"
        ]
    );
    assert_eq!(steps[0].line, 8);
    assert_eq!(steps[0].assigns.as_deref(), Some("ID"));
    assert_eq!(steps[0].comments, ["{\"id\":1}"]);
    assert_eq!(steps[1].shown_output.as_deref(), Some("{\"user\":{}}"));
}

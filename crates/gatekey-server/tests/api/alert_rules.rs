//! The alert rules in docs/alerts/gatekey-rules.yml ask for metrics and label values that a
//! running server exports, and docs/operations.md explains every alert. A renamed metric or
//! label would otherwise leave an alert that can never fire.

use std::collections::BTreeSet;

use crate::harness::{each_backend, send_text, TestApp};

const RULES: &str = include_str!("../../../../docs/alerts/gatekey-rules.yml");
const OPERATIONS_DOC: &str = include_str!("../../../../docs/operations.md");

/// The sample names a metrics exposition can hold: those of its samples, and those its
/// `# TYPE` lines promise (a counter `x` has samples `x_total`, a histogram `x_bucket`, …).
fn exported_names(metrics: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in metrics.lines() {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            let mut parts = declared.split(' ');
            let (Some(family), Some(kind)) = (parts.next(), parts.next()) else {
                continue;
            };
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                "info" => &["_info"],
                _ => &[""],
            };
            names.extend(suffixes.iter().map(|suffix| format!("{family}{suffix}")));
        } else if !line.starts_with('#') {
            if let Some(name) = line.split(['{', ' ']).next() {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

/// Each gatekey metric an expression selects, with its `label="value"` matchers.
fn selectors(expr: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let mut rest = expr;
    while let Some(start) = rest.find("gatekey_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..end].to_owned();
        let mut matchers = Vec::new();
        if let Some(inside) = tail[end..].strip_prefix('{') {
            let close = inside.find('}').expect("a closed selector");
            matchers = inside[..close]
                .split(',')
                .map(str::trim)
                .filter(|m| m.contains("=\"") && !m.contains("=~") && !m.contains("!="))
                .map(str::to_owned)
                .collect();
        }
        found.push((name, matchers));
        rest = &tail[end..];
    }
    found
}

fn exprs() -> Vec<&'static str> {
    RULES
        .lines()
        .filter_map(|line| line.trim().strip_prefix("expr: "))
        .collect()
}

#[tokio::test]
async fn every_metric_and_label_an_alert_asks_for_is_exported() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let (status, _, metrics) = send_text(app.http.get(app.url("/metrics"))).await;
        assert_eq!(status, 200);
        let exported = exported_names(&metrics);
        let exprs = exprs();
        assert!(exprs.len() >= 10, "the rules were read: {exprs:?}");
        for expr in exprs {
            for (name, matchers) in selectors(expr) {
                assert!(
                    exported.contains(&name),
                    "{name} (in `{expr}`) is not exported:\n{metrics}"
                );
                for matcher in matchers {
                    assert!(
                        metrics
                            .lines()
                            .any(|line| line.starts_with(&format!("{name}{{"))
                                && line.contains(&matcher)),
                        "no series of {name} has {matcher} (in `{expr}`):\n{metrics}"
                    );
                }
            }
        }
        app.stop().await;
    })
    .await;
}

#[test]
fn every_alert_is_explained_in_the_operations_guide() {
    let alerts: Vec<&str> = RULES
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- alert: "))
        .collect();
    assert!(alerts.len() >= 10, "{alerts:?}");
    for alert in alerts {
        assert!(
            OPERATIONS_DOC.contains(&format!("`{alert}`")),
            "docs/operations.md does not explain {alert}"
        );
    }
}

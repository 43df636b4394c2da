//! Nothing an unauthenticated client sends grows the server without bound: metrics labels,
//! audit details, device authorizations.

use std::collections::BTreeSet;

use reqwest::Method;

use crate::harness::{each_backend, send_text, TestApp};

/// Every series of `/metrics` (the sample lines without their values).
async fn series(app: &TestApp) -> BTreeSet<String> {
    let (status, _, body) = send_text(app.http.get(app.url("/metrics"))).await;
    assert_eq!(status, 200);
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect()
}

#[tokio::test]
async fn made_up_methods_and_paths_add_no_metrics_series() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let paths = ["/healthz", "/api/v1/me", "/no/such/path"];
        let send_all = |method: Method| {
            let app = &app;
            async move {
                for path in paths {
                    let (status, _, _) =
                        send_text(app.http.request(method.clone(), app.url(path))).await;
                    assert!(
                        status == 405 || status == 404 || status == 401,
                        "{path}: {status}"
                    );
                }
            }
        };
        // The series a made-up method may create: `method="other"` on each route.
        send_all(Method::from_bytes(b"FOO").unwrap()).await;
        send_text(app.http.get(app.url("/no/such/path"))).await;
        // `/metrics` counts itself once it has answered.
        series(&app).await;
        let before = series(&app).await;
        let before_size = before.iter().map(String::len).sum::<usize>();
        for letter in ["X", "Y"] {
            let huge = Method::from_bytes(letter.repeat(20_000).as_bytes()).unwrap();
            send_all(huge).await;
        }
        let random_path = format!("/{}", "z".repeat(10_000));
        let (status, _, _) = send_text(app.http.get(app.url(&random_path))).await;
        assert_eq!(status, 404);
        let after = series(&app).await;
        assert_eq!(
            after.difference(&before).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "no new series"
        );
        let after_size = after.iter().map(String::len).sum::<usize>();
        assert_eq!(before_size, after_size);
        assert!(after.iter().any(|s| s.contains("method=\"other\"")));
        app.stop().await;
    })
    .await;
}

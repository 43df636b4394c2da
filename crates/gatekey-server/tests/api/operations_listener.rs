//! `operations.listen`: `/metrics` on an address of its own, and no longer on the public one;
//! the probes on both.

use gatekey_store::Backend;

use crate::harness::{each_backend, send_text, TestApp};
use crate::readiness::load_config_file;

#[tokio::test]
async fn metrics_move_to_the_operations_listener_when_one_is_configured() {
    each_backend(metrics_on_their_own_listener).await;
}

async fn metrics_on_their_own_listener(backend: Backend) {
    let app = TestApp::start_with(backend, |c| {
        c.operations.listen = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await;
    let operations = app.server.operations_addr.expect("an operations listener");
    assert_ne!(operations, app.server.addr);
    let on_operations = |path: &str| format!("http://{operations}{path}");

    let (status, _, metrics) = send_text(app.http.get(on_operations("/metrics"))).await;
    assert_eq!(status, 200, "{metrics}");
    assert!(metrics.contains("gatekey_build_info"), "{metrics}");

    let (status, _, body) = send_text(app.http.get(app.url("/metrics"))).await;
    assert_eq!(status, 404, "not on the public listener: {body}");
    assert!(!body.contains("gatekey_"), "{body}");

    for path in ["/healthz", "/readyz"] {
        assert_eq!(send_text(app.http.get(on_operations(path))).await.0, 200);
        assert_eq!(send_text(app.http.get(app.url(path))).await.0, 200);
    }
    let (status, _, _) = send_text(app.http.get(on_operations("/api/v1/me"))).await;
    assert_eq!(status, 404, "the operations listener serves nothing else");
    let (_, _, metrics) = send_text(app.http.get(on_operations("/metrics"))).await;
    assert!(
        metrics.contains(r#"route="/metrics""#) && metrics.contains(r#"route="/healthz""#),
        "requests to both listeners are counted:\n{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn without_an_operations_listener_metrics_stay_on_the_main_one() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        assert_eq!(app.server.operations_addr, None);
        assert_eq!(send_text(app.http.get(app.url("/metrics"))).await.0, 200);
        app.stop().await;
    })
    .await;
}

#[test]
fn the_operations_listener_is_read_from_the_configuration() {
    let config = load_config_file(
        "operations-listen",
        "[operations]\nlisten = \"127.0.0.1:9100\"\n",
    )
    .expect("loads");
    assert_eq!(
        config.operations.listen,
        Some("127.0.0.1:9100".parse().expect("an address"))
    );
}

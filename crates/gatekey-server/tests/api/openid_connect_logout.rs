//! RP-initiated logout driven by the `openidconnect` crate: the library finds the
//! `end_session_endpoint` by discovery and builds the logout request with the ID token it was
//! given as `id_token_hint`; the browser's session ends and it is sent back with the state.

use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{
    CsrfToken, IssuerUrl, LogoutRequest, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    TokenResponse,
};
use reqwest::header::{COOKIE, LOCATION};
use reqwest::Method;
use serde_json::json;

use crate::harness::{each_backend, seed, send_text, sign_in, TestApp, PASSWORD};
use crate::oauth_fixture::{oauth2_http, ClientSpec};
use crate::openid_connect_rp::{
    authentication_request, consent_for_code, exchange, relying_party, verified_claims,
};

const BYE: &str = "https://client.example.com/bye";

#[tokio::test]
async fn the_library_signs_the_person_out_with_its_id_token_as_the_hint() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let seeded = seed(&app).await;
        let key = app.key(&seeded.owner, None).await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let patched = app
            .patch_application(
                client.application.id,
                &key,
                json!({"post_logout_redirect_uris": [BYE]}),
            )
            .await;
        assert_eq!(patched.0, 200, "{}", patched.2);

        let rp = relying_party(&app, &client).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let pending = authentication_request(&rp, &[], false);
        let code = consent_for_code(&app, &browser, &pending).await;
        let tokens = exchange(&rp, code, pending.verifier).await;
        verified_claims(
            &rp,
            &tokens,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            &pending.nonce,
        );
        let id_token = tokens.id_token().expect("an ID token");

        let issuer = IssuerUrl::new(app.base_url()).expect("issuer URL");
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &oauth2_http())
            .await
            .expect("discovery");
        let end_session = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()
            .expect("end_session_endpoint is advertised");
        assert_eq!(end_session.as_str(), app.url("/oauth/end_session"));
        let logout = LogoutRequest::from(end_session)
            .set_id_token_hint(id_token)
            .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(BYE.into()).expect("url"))
            .set_state(CsrfToken::new("bye state".into()))
            .http_get_url();

        // The hint names this person and session: signed out at once, and sent back.
        let (status, headers, body) = send_text(
            app.http
                .get(logout.as_str())
                .header(COOKIE, browser.cookie()),
        )
        .await;
        assert_eq!(status, 302, "{body}");
        let location = headers[LOCATION].to_str().expect("location");
        assert_eq!(location, format!("{BYE}?state=bye+state"));
        let home = send_text(browser.request(&app, Method::GET, "/")).await;
        assert_ne!(home.0, 200, "the session has ended: {}", home.2);
        app.stop().await;
    })
    .await;
}

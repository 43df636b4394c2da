//! Acting as a person's browser: the login form, the consent page, the device page.

use reqwest::{Method, RequestBuilder};

use super::fixtures::PASSWORD;
use super::http::{consent_form, cookie_value, csrf_token_in, send_text, set_cookie, TextAnswer};
use super::TestApp;

/// A browser signed in through the login form: its session cookie and the CSRF token its
/// pages carry.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The `gatekey_session` cookie's value.
    pub session: String,
    /// The session's CSRF token, scraped from the home page.
    pub csrf: String,
}

impl Browser {
    /// The `Cookie` header that presents the session.
    pub fn cookie(&self) -> String {
        format!("gatekey_session={}", self.session)
    }

    /// A request carrying the session cookie (and no CSRF header).
    pub fn request(&self, app: &TestApp, method: Method, path: &str) -> RequestBuilder {
        app.http
            .request(method, app.url(path))
            .header(reqwest::header::COOKIE, self.cookie())
    }

    /// Allows the device showing `user_code` for `account` on the `/device` decision form (RFC
    /// 8628 section 3.3), with the form's CSRF token `csrf`.
    pub async fn allow_device(
        &self,
        app: &TestApp,
        csrf: &str,
        user_code: &str,
        account: &str,
    ) -> TextAnswer {
        let decided = self.request(app, Method::POST, "/device/decision").form(&[
            ("csrf_token", csrf),
            ("user_code", user_code),
            ("account", account),
            ("offered", account),
            ("decision", "allow"),
        ]);
        send_text(decided).await
    }

    /// Submits the consent page `page` (its HTML) with `decision` ("allow" or "deny") and
    /// returns where the answer redirects to (RFC 6749 section 4.1.2), asserting it is a 302.
    pub async fn decide_consent(&self, app: &TestApp, page: &str, decision: &str) -> String {
        let form = consent_form(page, decision);
        let (status, headers, body) = send_text(
            self.request(app, Method::POST, "/oauth/authorize")
                .form(&form),
        )
        .await;
        assert_eq!(status, 302, "{body}");
        headers[reqwest::header::LOCATION]
            .to_str()
            .expect("location")
            .to_owned()
    }
}

/// Fetches the login form: the `gatekey_login_csrf` cookie's value and the form's token.
pub async fn login_form(app: &TestApp) -> (String, String) {
    let (status, headers, html) = send_text(app.http.get(app.url("/login"))).await;
    assert_eq!(status, 200, "{html}");
    let cookie = set_cookie(&headers, "gatekey_login_csrf").expect("login CSRF cookie");
    (cookie_value(cookie).to_owned(), csrf_token_in(&html))
}

/// Submits the login form with the CSRF cookie and token `csrf`.
pub async fn submit_login(
    app: &TestApp,
    csrf: (&str, &str),
    email: &str,
    password: &str,
) -> TextAnswer {
    let (cookie, token) = csrf;
    send_text(
        app.http
            .post(app.url("/login"))
            .header(
                reqwest::header::COOKIE,
                format!("gatekey_login_csrf={cookie}"),
            )
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", token),
            ]),
    )
    .await
}

/// Signs in through the web form as a browser would, and reads the CSRF token of the home page.
pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> Browser {
    let (cookie, token) = login_form(app).await;
    let (status, headers, body) = submit_login(app, (&cookie, &token), email, password).await;
    assert_eq!(status, 303, "{body}");
    let session = cookie_value(set_cookie(&headers, "gatekey_session").expect("session cookie"));
    let mut browser = Browser {
        session: session.to_owned(),
        csrf: String::new(),
    };
    let (status, _, home) = send_text(browser.request(app, Method::GET, "/")).await;
    assert_eq!(status, 200, "{home}");
    browser.csrf = csrf_token_in(&home);
    browser
}

impl TestApp {
    /// Signs `email` (with [`PASSWORD`]) in, opens the consent page of `authorization_url`,
    /// allows, and follows the redirect to wherever it points (a client's loopback listener).
    pub async fn consent_in_browser(&self, email: &str, authorization_url: &str) {
        let browser = sign_in(self, email, PASSWORD).await;
        let (status, _, page) = send_text(
            self.http
                .get(authorization_url)
                .header(reqwest::header::COOKIE, browser.cookie()),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        let location = browser.decide_consent(self, &page, "allow").await;
        let back = send_text(self.http.get(&location)).await;
        assert_eq!(back.0, 200, "the redirect reaches the client: {}", back.2);
    }

    /// Signs `email` (with [`PASSWORD`]) in and approves `user_code` on the `/device` page for
    /// account `account`.
    pub async fn approve_device(&self, email: &str, user_code: &str, account: &str) {
        let browser = sign_in(self, email, PASSWORD).await;
        let path = format!("/device?user_code={user_code}");
        let (status, _, page) = send_text(browser.request(self, Method::GET, &path)).await;
        assert_eq!(status, 200, "{page}");
        let csrf = csrf_token_in(&page);
        let (status, _, body) = send_text(
            browser
                .request(self, Method::POST, "/device/decision")
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("user_code", user_code),
                    ("account", account),
                    ("offered", account),
                    ("decision", "allow"),
                ]),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
}

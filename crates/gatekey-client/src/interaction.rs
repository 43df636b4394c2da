//! What the interactive methods (PKCE and DeviceCode) show the user, and how.
//!
//! The default, [`TerminalInteraction`], writes to standard error and opens the system
//! browser; a program with its own user interface implements [`Interaction`] instead.

use std::io::Write;
use std::time::Duration;

/// What the device flow asks the user to do (RFC 8628 §3.3).
#[derive(Debug, Clone)]
pub struct DevicePrompt {
    /// Where to go.
    pub verification_uri: String,
    /// The same page with the code filled in, when the server offers it.
    pub verification_uri_complete: Option<String>,
    /// The code to type there. Not a secret on its own: it only identifies the request.
    pub user_code: String,
    /// How long the code stays valid.
    pub expires_in: Duration,
}

/// The user-facing side of an interactive login.
pub trait Interaction: Send + Sync {
    /// PKCE: the user must visit `url` and sign in. `open_browser` is the connection's
    /// `OpenBrowser` option.
    fn authorize_in_browser(&self, url: &str, open_browser: bool);

    /// DeviceCode: the user must go to the verification URI and type the code.
    fn show_device_code(&self, prompt: &DevicePrompt);

    /// DeviceCode: still waiting for the user, `waited` so far. Called before every poll.
    fn still_waiting(&self, waited: Duration) {
        let _ = waited;
    }

    /// The interactive login finished.
    fn finished(&self) {}
}

/// Writes prompts to standard error and opens the system browser.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalInteraction;

impl Interaction for TerminalInteraction {
    fn authorize_in_browser(&self, url: &str, open_browser: bool) {
        if open_browser && webbrowser::open(url).is_ok() {
            eprintln!("Opened your browser to sign in. If it did not open, visit:\n\n  {url}\n");
        } else {
            eprintln!("To sign in, open this address in a browser on this machine:\n\n  {url}\n");
        }
    }

    fn show_device_code(&self, prompt: &DevicePrompt) {
        eprintln!(
            "To sign in, visit {} and enter the code\n\n  {}\n",
            prompt.verification_uri, prompt.user_code
        );
        if let Some(complete) = &prompt.verification_uri_complete {
            eprintln!("(or open {complete})");
        }
        eprintln!(
            "The code expires in {} minutes.",
            prompt.expires_in.as_secs().div_ceil(60)
        );
    }

    fn still_waiting(&self, waited: Duration) {
        eprint!("\rWaiting for you to approve… {}s ", waited.as_secs());
        let _ = std::io::stderr().flush();
    }

    fn finished(&self) {
        eprintln!();
    }
}

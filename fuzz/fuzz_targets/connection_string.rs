//! The client's connection string (`Server=…;AuthenticationMethod=…;…`): parsing never
//! panics, an accepted string prints (`Display`, `Debug`) without its secrets, and what it
//! prints parses again without panicking.

#![no_main]

use gatekey_client::{ConnectionOptions, ExposeSecret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(options) = text.parse::<ConnectionOptions>() else {
        return;
    };
    let shown = options.to_string();
    let debug = format!("{options:?}");
    // Values printed in clear, in which a secret may occur by coincidence.
    let command = options.access_token_command().map(|c| c.command_line());
    let clear: Vec<String> = [
        Some(options.server().to_owned()),
        options.client_id().map(str::to_owned),
        options.scope().map(str::to_owned),
        options.redirect_uri().map(str::to_owned),
        options
            .token_cache()
            .map(|p| p.to_string_lossy().into_owned()),
        command,
    ]
    .into_iter()
    .flatten()
    .collect();
    let secrets = [
        options.api_key(),
        options.access_token(),
        options.refresh_token(),
        options.client_secret(),
        options.oauth_code(),
        options.code_verifier(),
    ];
    for secret in secrets.into_iter().flatten() {
        let secret = secret.expose_secret();
        // Long enough, with a digit and a letter, and none of `;={}`: then it cannot be a
        // keyword, a number or a piece of two pairs, only a value; without `\` or `"`, it
        // cannot be a piece of a value `Debug` escaped either.
        let distinctive = secret.len() >= 16
            && secret.chars().any(|c| c.is_ascii_digit())
            && secret.chars().any(|c| c.is_alphabetic())
            && !secret.contains([';', '=', '{', '}', '\\', '"'])
            && !clear.iter().any(|value| value.contains(secret));
        if distinctive {
            assert!(!shown.contains(secret), "Display shows a secret: {shown}");
            assert!(!debug.contains(secret), "Debug shows a secret: {debug}");
        }
    }
    let _ = shown.parse::<ConnectionOptions>();
});

//! Reading gatekey's answers with a bound on their size, so a misbehaving or impersonated
//! server cannot make the verifier buffer without limit.

/// The most any answer the verifier reads may be: metadata, a JWKS of a few keys and an
/// introspection answer each take a few kilobytes.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

/// The body of `response`, or why it could not be read (for the log).
pub(crate) async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err(format!("the answer is larger than {MAX_BODY_BYTES} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(format!("the answer is larger than {MAX_BODY_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `GET url` and its body, bounded; a failure names the URL (for the log).
pub(crate) async fn get_bounded(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let failed = |detail: String| format!("GET {url}: {detail}");
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("answered {}", response.status())));
    }
    read_bounded(response).await.map_err(failed)
}

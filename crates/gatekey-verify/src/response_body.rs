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

//! JSON responses.

use http_raw::Response;
use serde::Serialize;

use crate::error::Error;

/// A response with `value` as its JSON body.
pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response, Error> {
    let body = serde_json::to_vec(value).map_err(|_| Error::internal())?;
    Ok(Response::new(status)
        .with_header("Content-Type", "application/json")
        .with_body(body))
}

//! Request bodies: JSON of the endpoint's type or a 4xx naming what is wrong — an unknown or
//! mistyped field by its path, a body over the limit as 413 — never a 500.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use holdfast_core::ErrorCode;

use crate::error::ApiError;

/// The largest request body taken (templates and bundle requests are far smaller).
pub const MAX_BODY: usize = 256 * 1024;

/// A JSON body of type `T`; an empty body is `{}` (every field has its default).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::BodyTooLarge,
                    None,
                    format!("the request body is over {MAX_BODY} bytes"),
                )
            } else {
                ApiError::new(ErrorCode::InvalidRequest, None, e.body_text())
            }
        })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        parse(bytes).map(Body)
    }
}

/// `T` from JSON bytes, or `invalid_request` naming the field at fault.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner().to_string();
        // The path names the field at fault (an unknown one too); `.` is the body itself.
        let path = e.path().to_string();
        let field = (path != "." && !path.is_empty()).then_some(path);
        ApiError::new(ErrorCode::InvalidRequest, field.as_deref(), inner)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Start {
        headless: bool,
    }

    #[test]
    fn unknown_and_mistyped_fields_are_named() {
        let e = parse::<Start>(br#"{"headless": true, "evil": 1}"#).unwrap_err();
        assert_eq!(e.0.code, ErrorCode::InvalidRequest);
        assert_eq!(e.0.field.as_deref(), Some("evil"), "{:?}", e.0);
        let e = parse::<Start>(br#"{"headless": "yes"}"#).unwrap_err();
        assert_eq!(e.0.field.as_deref(), Some("headless"), "{:?}", e.0);
        let e = parse::<Start>(b"not json").unwrap_err();
        assert_eq!(e.0.code, ErrorCode::InvalidRequest);
    }
}

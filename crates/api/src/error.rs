//! Every failure of the API as the same payload the CLI prints (`{code, field, message}`), with
//! the HTTP status its code's kind calls for.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use holdfast_core::{Error, ErrorCode, ErrorPayload};

/// A failed request.
#[derive(Debug)]
pub struct ApiError(pub ErrorPayload);

impl ApiError {
    /// An error of the API itself (not of the core).
    pub fn new(code: ErrorCode, field: Option<&str>, message: impl Into<String>) -> Self {
        Self(ErrorPayload {
            code,
            field: field.map(str::to_owned),
            message: message.into(),
        })
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e.payload())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(
                code = self.0.code.as_str(),
                "API request failed: {}",
                self.0.message
            );
        }
        let mut res = (status, Json(self.0)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

/// What a handler returns.
pub type ApiResult<T> = Result<T, ApiError>;

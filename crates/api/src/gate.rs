//! What every request passes before a handler runs, in this order:
//! 1. `Host` must name this listener (loopback or `localhost` with its port): a page that
//!    rebinds its own DNS name to 127.0.0.1 still sends its own name (403);
//! 2. an `Origin` header (any page's request carries one) must be on `api.allowed_origins`
//!    (403); only then are CORS headers sent, and only for that origin;
//! 3. `Authorization: Bearer <token>`, compared in constant time (401).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use holdfast_core::api::{token_matches, ApiEndpoint};
use holdfast_core::ErrorCode;

use crate::error::ApiError;

/// Who may call: the names of this listener, the allowed origins, and the token.
#[derive(Debug, Clone)]
pub struct Gate {
    /// `Host` values accepted (`127.0.0.1:PORT`, `localhost:PORT`, …).
    pub hosts: Arc<Vec<String>>,
    /// Web origins allowed to call (none by default).
    pub origins: Arc<Vec<String>>,
    pub token: TokenCache,
}

/// The token, re-read from `api.json` when that file changes (`holdfast api token --rotate`
/// from another process), so a rotation takes effect at the next request.
#[derive(Debug, Clone)]
pub struct TokenCache {
    file: PathBuf,
    cached: Arc<Mutex<(Option<SystemTime>, String)>>,
}

impl TokenCache {
    /// A cache of `token`, watching `file`.
    pub fn new(file: PathBuf, token: String) -> Self {
        let mtime = modified(&file);
        Self {
            file,
            cached: Arc::new(Mutex::new((mtime, token))),
        }
    }

    /// The token in effect.
    pub fn current(&self) -> String {
        let mtime = modified(&self.file);
        let mut cached = self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if mtime.is_some() && mtime != cached.0 {
            if let Some(e) = ApiEndpoint::read(&self.file) {
                *cached = (mtime, e.token);
            }
        }
        cached.1.clone()
    }
}

fn modified(p: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The middleware: host, origin, token; CORS headers for an allowed origin.
pub async fn check(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !gate.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return ApiError::new(
            ErrorCode::Forbidden,
            Some("host"),
            format!("Host {host:?} is not this API's address"),
        )
        .into_response();
    }
    let origin = match headers.get(header::ORIGIN) {
        None => None,
        Some(o) => {
            let o = o.to_str().unwrap_or("").trim_end_matches('/').to_owned();
            if !gate.origins.contains(&o) {
                return ApiError::new(
                    ErrorCode::Forbidden,
                    Some("origin"),
                    format!(
                        "requests from web pages ({o}) are refused; allow an origin with \
                         `holdfast setting set api.allowed_origins`"
                    ),
                )
                .into_response();
            }
            Some(o)
        }
    };
    // A preflight carries no credentials: answer it for an allowed origin, and only then.
    if req.method() == Method::OPTIONS {
        if let Some(o) = &origin {
            let mut res = StatusCode::NO_CONTENT.into_response();
            cors(res.headers_mut(), o);
            let h = res.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PATCH, DELETE"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type"),
            );
            return res;
        }
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !token_matches(&gate.token.current(), given.trim()) {
        let mut res = ApiError::new(
            ErrorCode::Unauthorized,
            Some("authorization"),
            "a bearer token is required: `holdfast api token` prints it",
        )
        .into_response();
        if let Some(o) = &origin {
            cors(res.headers_mut(), o);
        }
        return res;
    }
    let mut res = next.run(req).await;
    if let Some(o) = &origin {
        cors(res.headers_mut(), o);
    }
    res
}

fn cors(h: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

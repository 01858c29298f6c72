//! The console: the web app built from `console/` (`npm run build` writes
//! `console/dist`, which is committed) and embedded in the binary, so a
//! server started on a machine without Node serves it.
//!
//! Every GET outside the API (`/v1/...`) is the console's: a built file
//! when one has that path, else `index.html`, whose script routes on the
//! client (`/sign-in`, `/conversations/<id>`, ...). Hashed files under
//! `/assets/` never change and are cached for a year; `index.html` is
//! revalidated on every load (by its ETag). Every page carries a strict
//! content security policy and sends no referrer: setup and invitation
//! links hold their token in the URL.

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderName, IF_NONE_MATCH,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::{EmbeddedFile, RustEmbed};

use crate::app::AppError;

#[derive(RustEmbed)]
#[folder = "../../console/dist/"]
struct Built;

/// The page every client-side route loads.
const INDEX: &str = "index.html";

/// Where the hashed (never changing) files are.
const ASSETS: &str = "assets/";

/// Scripts, styles, images and connections (the WebSocket included) only
/// from this server; nothing inline, no framing, forms post here only.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Paths that are never the console's: the API, and the metrics (served
/// on a listener of their own).
fn is_server_path(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/") || path == "/metrics"
}

/// What the router does with a request no route took: the console for a
/// GET or HEAD outside the API, else the API's 404.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if is_server_path(uri.path()) || !(method == Method::GET || method == Method::HEAD) {
        return AppError::NotFound("no such endpoint").into_response();
    }
    let path = uri.path().trim_start_matches('/');
    match Built::get(path).filter(|_| !path.is_empty()) {
        Some(file) => serve(path, &file, &headers),
        // A missing hashed file is a stale page asking: not the app.
        None if path.starts_with(ASSETS) => AppError::NotFound("no such file").into_response(),
        None => match Built::get(INDEX) {
            Some(index) => serve(INDEX, &index, &headers),
            None => AppError::NotFound("the console is not built").into_response(),
        },
    }
}

/// One built file, or 304 when the client holds this version of it.
fn serve(path: &str, file: &EmbeddedFile, request: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let cache = if path.starts_with(ASSETS) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let fresh = request
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        file.data.clone().into_owned().into_response()
    };
    let headers = response.headers_mut();
    let content_type = file.metadata.mimetype();
    let pairs: [(HeaderName, &str); 7] = [
        (CONTENT_TYPE, content_type),
        (CACHE_CONTROL, cache),
        (ETAG, &etag),
        (CONTENT_SECURITY_POLICY, POLICY),
        (REFERRER_POLICY, "no-referrer"),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn get(path: &str, headers: HeaderMap) -> Response {
        fallback(Method::GET, path.parse().unwrap(), headers).await
    }

    #[tokio::test]
    async fn client_routes_load_the_index_and_the_api_keeps_its_404() {
        let index = Built::get(INDEX).expect("console/dist/index.html");
        for path in ["/", "/sign-in", "/conversations/0193", "/setup?token=x"] {
            let response = get(path, HeaderMap::new()).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let csp = response.headers()[CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap();
            assert!(csp.contains("default-src 'self'"), "{path}");
            assert_eq!(response.headers()[REFERRER_POLICY], "no-referrer");
            let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
            assert_eq!(body, index.data.as_ref(), "{path}");
        }
        for path in ["/v1/nothing", "/assets/gone-1234.js", "/metrics"] {
            let response = get(path, HeaderMap::new()).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let post = fallback(Method::POST, "/sign-in".parse().unwrap(), HeaderMap::new()).await;
        assert_eq!(post.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn a_client_holding_the_current_version_gets_304() {
        let first = get("/", HeaderMap::new()).await;
        let etag = first.headers()[ETAG].clone();
        let mut headers = HeaderMap::new();
        headers.insert(IF_NONE_MATCH, etag);
        assert_eq!(get("/", headers).await.status(), StatusCode::NOT_MODIFIED);
        let mut stale = HeaderMap::new();
        stale.insert(IF_NONE_MATCH, HeaderValue::from_static("\"old\""));
        assert_eq!(get("/", stale).await.status(), StatusCode::OK);
    }
}

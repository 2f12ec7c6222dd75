//! The HTTP side: the rendered book as static files, plus the live-reload script and status.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::get;

use super::files;
use super::live_reload::{self, SCRIPT_PATH, STATUS_PATH};
use super::site::Site;

pub fn router(site: Arc<Site>) -> Router {
    Router::new()
        .route(STATUS_PATH, get(status))
        .route(SCRIPT_PATH, get(script))
        // `get` answers HEAD as well, and 405 to any other method.
        .fallback(get(book_file))
        .with_state(site)
}

async fn status(State(site): State<Arc<Site>>) -> Response {
    respond(
        StatusCode::OK,
        "application/json",
        live_reload::status_json(&site.snapshot()),
    )
}

async fn script() -> Response {
    respond(
        StatusCode::OK,
        "text/javascript; charset=utf-8",
        live_reload::SCRIPT,
    )
}

async fn book_file(State(site): State<Arc<Site>>, uri: Uri) -> Response {
    let snapshot = site.snapshot();
    let Some(html_dir) = &snapshot.html_dir else {
        return respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/html; charset=utf-8",
            live_reload::waiting_page(&snapshot),
        );
    };
    match files::resolve(html_dir, uri.path()) {
        Some(file) => send(StatusCode::OK, &file, snapshot.version),
        None => not_found(html_dir, snapshot.version),
    }
}

/// mdBook's own 404 page (it has the book's look and links), or a line of text.
fn not_found(html_dir: &Path, version: u64) -> Response {
    let page = html_dir.join("404.html");
    if page.is_file() {
        send(StatusCode::NOT_FOUND, &page, version)
    } else {
        respond(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found\n",
        )
    }
}

/// Sends `file`, with the live-reload script in it if it is a page.
fn send(status: StatusCode, file: &Path, version: u64) -> Response {
    // Files of a local book are small: reading one on the runtime's thread blocks it for well
    // under a millisecond, not worth a blocking-pool round trip.
    let Ok(bytes) = std::fs::read(file) else {
        // Removed between resolving and reading: an older build being cleaned up.
        return respond(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found\n",
        );
    };
    let content_type = files::content_type(file);
    if content_type.starts_with("text/html") {
        let page = live_reload::inject(&String::from_utf8_lossy(&bytes), version);
        respond(status, content_type, page)
    } else {
        respond(status, content_type, bytes)
    }
}

fn respond(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        // Every build replaces the files under the same names: never let the browser reuse one.
        .header(header::CACHE_CONTROL, "no-store")
        .body(body.into())
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

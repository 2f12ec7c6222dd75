//! Live reload: every HTML page served gets a small script that polls the site's status and
//! reloads the page when a new build is published (see `live-reload.js`).

use super::site::Snapshot;

/// Where the script is served, and where it polls; no page of the book uses this prefix.
pub const SCRIPT_PATH: &str = "/__serve-book/live-reload.js";
pub const STATUS_PATH: &str = "/__serve-book/status";

pub const SCRIPT: &str = include_str!("live-reload.js");

/// `html` with the live-reload script added at the end of its body, remembering the version the
/// page belongs to.
pub fn inject(html: &str, version: u64) -> String {
    let tag = format!("<script src=\"{SCRIPT_PATH}\" data-version=\"{version}\"></script>\n");
    match html.rfind("</body>") {
        Some(end) => format!("{}{tag}{}", &html[..end], &html[end..]),
        None => format!("{html}{tag}"),
    }
}

/// What the script polls: `{"version": N, "error": null | "why the latest build failed"}`.
pub fn status_json(snapshot: &Snapshot) -> String {
    serde_json::json!({ "version": snapshot.version, "error": snapshot.error }).to_string()
}

/// The page for every path while there is no good build to show: the first build is running, or
/// it failed. It reloads itself like any other page once a build is published.
pub fn waiting_page(snapshot: &Snapshot) -> String {
    let message = match &snapshot.error {
        Some(error) => format!(
            "<h1>The book did not build</h1>\n<pre>{}</pre>\n\
             <p>Fix the source; this page reloads when the book builds.</p>",
            escape_html(error)
        ),
        None => "<h1>Building the book…</h1>\n<p>This page reloads when it is ready.</p>".into(),
    };
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>serve-book</title></head>\n\
         <body>\n{message}\n</body>\n</html>\n"
    );
    inject(&html, snapshot.version)
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_goes_before_the_end_of_the_body_with_the_pages_version() {
        let page = inject("<html><body><p>x</p></body></html>", 7);
        assert_eq!(
            page,
            "<html><body><p>x</p><script src=\"/__serve-book/live-reload.js\" \
             data-version=\"7\"></script>\n</body></html>"
        );
        assert!(inject("<p>fragment</p>", 1).ends_with("data-version=\"1\"></script>\n"));
    }

    #[test]
    fn the_status_carries_the_version_and_the_error() {
        let snapshot = Snapshot {
            html_dir: None,
            version: 3,
            error: Some("chapter `Demo`: \"quoted\"".into()),
        };
        let status: serde_json::Value =
            serde_json::from_str(&status_json(&snapshot)).expect("JSON");
        assert_eq!(status["version"], 3);
        assert_eq!(status["error"], "chapter `Demo`: \"quoted\"");
        let fresh: serde_json::Value =
            serde_json::from_str(&status_json(&Snapshot::default())).expect("JSON");
        assert_eq!(fresh, serde_json::json!({ "version": 0, "error": null }));
    }

    #[test]
    fn the_waiting_page_shows_the_error_escaped_and_reloads_itself() {
        let page = waiting_page(&Snapshot {
            html_dir: None,
            version: 0,
            error: Some("<bad> & worse".into()),
        });
        assert!(page.contains("&lt;bad&gt; &amp; worse"), "{page}");
        assert!(page.contains("data-version=\"0\""), "{page}");
    }
}

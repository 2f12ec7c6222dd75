//! Mapping a request path to a file of the rendered book, and never to anything outside it.

use std::path::{Path, PathBuf};

/// The file under `dir` that `request_path` (a URL path, still percent-encoded) names; a
/// directory means its `index.html`. `None` for anything that is not a file inside `dir`, however
/// it is spelled: `..` segments (plain or percent-encoded), backslashes, NUL bytes, or a symbolic
/// link leading outside.
pub fn resolve(dir: &Path, request_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(request_path)?;
    let mut path = dir.to_path_buf();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            _ if segment.contains(['\\', '\0']) => return None,
            _ => path.push(segment),
        }
    }
    if path.is_dir() {
        path.push("index.html");
    }
    // Canonical paths have every symbolic link resolved, so this is the check that holds even
    // when the segments above look harmless.
    let file = path.canonicalize().ok()?;
    let dir = dir.canonicalize().ok()?;
    (file.starts_with(&dir) && file.is_file()).then_some(file)
}

/// Decodes `%XX` escapes; `None` for a malformed escape or a result that is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

/// The Content-Type for the files mdBook writes.
pub fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" | "md" | "rs" | "toml" | "yaml" | "yml" | "sh" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "eot" => "application/vnd.ms-fontobject",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `outside/secret.txt`, and `served/` with a page, a subdirectory and two links out.
    fn layout() -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().expect("temp dir");
        let served = root.path().join("served");
        std::fs::create_dir_all(served.join("sub dir")).expect("mkdir");
        std::fs::create_dir_all(root.path().join("outside")).expect("mkdir");
        std::fs::write(served.join("index.html"), "index").expect("write");
        std::fs::write(served.join("sub dir/index.html"), "sub").expect("write");
        std::fs::write(served.join("page.html"), "page").expect("write");
        std::fs::write(root.path().join("outside/secret.txt"), "secret").expect("write");
        std::os::unix::fs::symlink(
            root.path().join("outside/secret.txt"),
            served.join("leak.txt"),
        )
        .expect("symlink");
        std::os::unix::fs::symlink(root.path().join("outside"), served.join("leak-dir"))
            .expect("symlink");
        std::os::unix::fs::symlink(served.join("page.html"), served.join("alias.html"))
            .expect("symlink");
        (root, served)
    }

    #[test]
    fn names_files_and_directory_indexes_inside_the_served_directory() {
        let (_root, served) = layout();
        let served = served.canonicalize().expect("canonical");
        assert_eq!(resolve(&served, "/"), Some(served.join("index.html")));
        assert_eq!(
            resolve(&served, "/page.html"),
            Some(served.join("page.html"))
        );
        assert_eq!(
            resolve(&served, "/./page.html"),
            Some(served.join("page.html"))
        );
        assert_eq!(
            resolve(&served, "/sub%20dir/"),
            Some(served.join("sub dir/index.html"))
        );
        // A link that stays inside is fine.
        assert_eq!(
            resolve(&served, "/alias.html"),
            Some(served.join("page.html"))
        );
        assert_eq!(resolve(&served, "/missing.html"), None);
    }

    #[test]
    fn refuses_every_way_out_of_the_served_directory() {
        let (_root, served) = layout();
        for path in [
            "/../outside/secret.txt",
            "/sub%20dir/../../outside/secret.txt",
            "/%2e%2e/outside/secret.txt",
            "/%2E%2E/outside/secret.txt",
            "/.%2e/outside/secret.txt",
            "/%2e%2e%2foutside%2fsecret.txt",
            "/..%5coutside%5csecret.txt",
            "/leak.txt",
            "/leak-dir/secret.txt",
            "/page.html%00.txt",
            "/%zz",
            "/%ff",
        ] {
            assert_eq!(resolve(&served, path), None, "{path}");
        }
    }

    #[test]
    fn pages_scripts_and_fonts_get_their_content_types() {
        assert_eq!(
            content_type(Path::new("a/index.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("book.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("fonts/x.WOFF2")), "font/woff2");
        assert_eq!(
            content_type(Path::new("searchindex")),
            "application/octet-stream"
        );
    }
}

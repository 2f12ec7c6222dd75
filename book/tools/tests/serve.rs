//! `serve-book` serves the built book, nothing outside it, and rebuilds it when a source changes,
//! telling open pages to reload; a failed build is reported and the last good one stays served.
//!
//! Each test runs the real binary on a fixture repository, on a free port, and speaks HTTP to it
//! over a plain socket, so that request paths reach the server exactly as written.

// Each test crate uses part of the shared fixture.
#[allow(dead_code)]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Fixture, page, write};

const BIN: &str = env!("CARGO_BIN_EXE_serve-book");

/// A running `serve-book`, stopped when dropped; everything it prints is kept.
struct Server {
    child: Child,
    port: u16,
    printed: Arc<Mutex<String>>,
}

impl Server {
    fn start(fixture: &Fixture) -> Self {
        let mut child = Command::new(BIN)
            .arg("--root")
            .arg(fixture.root())
            .arg("--output")
            .arg(output_dir(fixture))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve-book starts");
        let printed = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let printed = Arc::clone(&printed);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut printed = printed.lock().expect("lock");
                    printed.push_str(&line);
                    printed.push('\n');
                }
            });
        }
        let mut server = Self {
            child,
            port: 0,
            printed,
        };
        server.port = wait_for("the server to start", || {
            printed_port(&server.printed()).or_else(|| server.exited())
        });
        server
    }

    fn printed(&self) -> String {
        self.printed.lock().expect("lock").clone()
    }

    /// Panics with the server's output if it has exited.
    fn exited<T>(&mut self) -> Option<T> {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("serve-book exited ({status}):\n{}", self.printed());
        }
        None
    }

    /// Status code and body of `GET path`, the path sent exactly as given.
    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connects");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .expect("request sent");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("response read");
        let response = String::from_utf8_lossy(&response);
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line for {path}: {head}"));
        (status, body.to_string())
    }

    /// What the live-reload script polls.
    fn status(&self) -> serde_json::Value {
        let (code, body) = self.get("/__serve-book/status");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).expect("status JSON")
    }

    fn version(&self) -> u64 {
        self.status()["version"].as_u64().expect("a version")
    }

    /// Waits for a build after `version`, and returns the new version.
    fn wait_for_version_after(&self, version: u64) -> u64 {
        wait_for("a new build", || {
            Some(self.version()).filter(|now| *now > version)
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in `serving the book at http://localhost:PORT/`.
fn printed_port(printed: &str) -> Option<u16> {
    let rest = printed
        .split("serving the book at http://localhost:")
        .nth(1)?;
    rest.split('/').next()?.parse().ok()
}

fn output_dir(fixture: &Fixture) -> PathBuf {
    fixture.root().join("target/serve-book")
}

/// Polls `check` until it answers, for up to two minutes (a debug build on a busy machine).
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The directory the server serves from: the build directory holding the fixture's page.
fn served_dir(fixture: &Fixture) -> PathBuf {
    let builds = std::fs::read_dir(output_dir(fixture)).expect("output directory");
    builds
        .flatten()
        .map(|entry| entry.path())
        .find(|dir| dir.join("demo.html").is_file())
        .expect("a build with demo.html")
}

fn edit(path: &Path, text: &str) {
    // A different length changes the size, whatever the file system's clock resolution.
    std::fs::write(path, text).expect("write");
}

#[test]
fn serves_the_book_with_live_reload_a_404_and_nothing_outside_it() {
    let fixture = Fixture::with_chapter(&page("Hello from the fixture."));
    write(fixture.root(), "secret.txt", "TOP SECRET");
    let server = Server::start(&fixture);

    let (code, index) = server.get("/");
    assert_eq!(code, 200, "{index}");
    assert!(index.contains("<title>"), "{index}");
    assert!(
        index.contains("src=\"/__serve-book/live-reload.js\" data-version=\"1\""),
        "live reload injected"
    );
    let (code, chapter) = server.get("/demo.html");
    assert_eq!(code, 200);
    assert!(chapter.contains("Hello from the fixture."), "{chapter}");
    let (code, script) = server.get("/__serve-book/live-reload.js");
    assert_eq!(code, 200);
    assert!(script.contains("/__serve-book/status"), "{script}");
    assert_eq!(server.get("/no-such-page.html").0, 404);

    // The served directory is target/serve-book/build-1 of the fixture, three levels below it.
    std::os::unix::fs::symlink(
        fixture.root().join("secret.txt"),
        served_dir(&fixture).join("leak.txt"),
    )
    .expect("symlink");
    for path in [
        "/../../../secret.txt",
        "/demo.html/../../../../secret.txt",
        "/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret.txt",
        "/..%5c..%5c..%5csecret.txt",
        "/leak.txt",
    ] {
        let (code, body) = server.get(path);
        assert!(code == 404 || code == 400, "{path}: {code}");
        assert!(!body.contains("TOP SECRET"), "{path} leaked the file");
    }
}

#[test]
fn a_changed_chapter_or_checkpoint_is_rebuilt_and_pages_are_told_to_reload() {
    let fixture = Fixture::with_chapter(&page("First text.\n\n{{#cp 01 src/lib.rs:greet}}"));
    let server = Server::start(&fixture);
    assert_eq!(
        server.status(),
        serde_json::json!({ "version": 1, "error": null })
    );

    edit(
        &fixture.root().join("book/src/demo.md"),
        &page("Second text, longer.\n\n{{#cp 01 src/lib.rs:greet}}"),
    );
    let version = server.wait_for_version_after(1);
    let (code, chapter) = server.get("/demo.html");
    assert_eq!(code, 200);
    assert!(chapter.contains("Second text, longer."), "{chapter}");
    assert!(chapter.contains(&format!("data-version=\"{version}\"")));

    // The checkpoints are watched too: the chapter shows their code.
    edit(
        &fixture.root().join("checkpoints/01-demo/src/lib.rs"),
        "// ANCHOR: greet\npub fn greet() -> &'static str {\n    \"changed\"\n}\n// ANCHOR_END: greet\n",
    );
    server.wait_for_version_after(version);
    assert!(server.get("/demo.html").1.contains("changed"));
    assert!(
        server
            .printed()
            .contains("checkpoints/01-demo/src/lib.rs changed, rebuilding"),
        "{}",
        server.printed()
    );
}

#[test]
fn a_failed_build_is_reported_and_the_last_good_build_stays_served() {
    let fixture = Fixture::with_chapter(&page("Good text."));
    let server = Server::start(&fixture);
    let chapter = fixture.root().join("book/src/demo.md");

    edit(
        &chapter,
        &page("Broken: {{#cp 01 src/lib.rs:no_such_anchor}}"),
    );
    let error = wait_for("the build to fail", || {
        server.status()["error"].as_str().map(str::to_string)
    });
    assert!(error.contains("anchor `no_such_anchor`"), "{error}");
    assert!(
        server.printed().contains("anchor `no_such_anchor`"),
        "the terminal shows the error:\n{}",
        server.printed()
    );
    assert_eq!(server.version(), 1, "nothing new published");
    let (code, page_now) = server.get("/demo.html");
    assert_eq!(code, 200);
    assert!(page_now.contains("Good text."), "the last good build");

    edit(&chapter, &page("Fixed text, at last."));
    server.wait_for_version_after(1);
    assert_eq!(server.status()["error"], serde_json::Value::Null);
    assert!(server.get("/demo.html").1.contains("Fixed text, at last."));
}

#[test]
fn a_book_that_never_built_shows_why_on_every_path_until_it_builds() {
    let fixture = Fixture::with_chapter(&page("{{#cp 07 src/lib.rs:greet}}"));
    let server = Server::start(&fixture);

    let (code, body) = server.get("/demo.html");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("checkpoint 07 does not exist"), "{body}");
    assert!(
        body.contains("data-version=\"0\""),
        "the page reloads itself"
    );

    edit(
        &fixture.root().join("book/src/demo.md"),
        &page("Now it builds.\n\n{{#cp 01 src/lib.rs:greet}}"),
    );
    server.wait_for_version_after(0);
    assert!(server.get("/demo.html").1.contains("Now it builds."));
}

//! `serve-book`: the book built in this process (our preprocessor, mdbook-admonish and mdBook's
//! HTML renderer, as the tests build it), served on localhost, and rebuilt when a source changes;
//! open pages reload themselves, and a failed build leaves the last good one served.

mod files;
mod http;
mod live_reload;
mod rebuild;
mod site;
mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;

use rebuild::Builds;
use site::Site;
use watch::Watcher;

/// How often the sources are looked at.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Options {
    /// The directory holding book.toml.
    pub root: PathBuf,
    /// Where the builds are written.
    pub output: PathBuf,
    pub address: SocketAddr,
    /// Open the book in the default browser once it is built.
    pub open: bool,
}

/// Serves the book until the process is stopped; returns only on an error.
pub fn run(options: &Options) -> anyhow::Result<()> {
    // Bound first, so that a busy port fails before any work.
    let listener = std::net::TcpListener::bind(options.address).with_context(|| {
        format!(
            "cannot listen on {} (is another server running? pass --port)",
            options.address
        )
    })?;
    let url = url_for(listener.local_addr()?);
    let site = Arc::new(Site::default());
    let server = spawn_server(listener, Arc::clone(&site))?;

    let mut watcher = Watcher::new(&options.root, &options.output);
    let mut builds = Builds::new(&options.output)?;
    say("building the book");
    rebuild(&options.root, &mut builds, &site);
    say(&format!("serving the book at {url} (Ctrl-C stops)"));
    if options.open {
        open_in_browser(&url);
    }
    loop {
        std::thread::sleep(POLL_INTERVAL);
        if server.is_finished() {
            return match server.join() {
                Ok(Err(error)) => Err(error).context("the HTTP server stopped"),
                _ => anyhow::bail!("the HTTP server stopped"),
            };
        }
        if let Some(changed) = watcher.changed() {
            let shown = changed.strip_prefix(&options.root).unwrap_or(&changed);
            say(&format!("{} changed, rebuilding", shown.display()));
            rebuild(&options.root, &mut builds, &site);
        }
    }
}

/// One build: published when good; otherwise the reason is printed and shown in open pages.
fn rebuild(root: &std::path::Path, builds: &mut Builds, site: &Site) {
    match builds.build(root) {
        Ok(published) => {
            site.publish(published.html_dir);
            say(&format!(
                "built in {:.1} s (version {})",
                published.took.as_secs_f64(),
                site.snapshot().version
            ));
        }
        Err(error) => {
            let error = format!("{error:#}");
            eprintln!("serve-book: the book did not build:\n{error}");
            if site.snapshot().html_dir.is_some() {
                eprintln!("serve-book: still serving the last good build");
            }
            site.fail(error);
        }
    }
}

fn spawn_server(
    listener: std::net::TcpListener,
    site: Arc<Site>,
) -> anyhow::Result<JoinHandle<std::io::Result<()>>> {
    listener.set_nonblocking(true)?;
    // One thread is plenty for one reader's browser; builds run on the caller's thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(std::thread::spawn(move || {
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, http::router(site)).await
        })
    }))
}

/// The address to print: `localhost` when the server listens on it, so the link works as typed.
fn url_for(address: SocketAddr) -> String {
    let ip = address.ip();
    if ip.is_loopback() || ip.is_unspecified() {
        format!("http://localhost:{}/", address.port())
    } else {
        format!("http://{address}/")
    }
}

fn open_in_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let opened = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if opened.is_err() {
        say(&format!("could not run `{opener}`; open {url} yourself"));
    }
}

fn say(message: &str) {
    println!("serve-book: {message}");
}

//! `{{#output NAME}}`: an output captured from a real run (`book/src/gen/outputs/NAME.txt`,
//! command line first), written by the test that the `captures` crate names for it.

use anyhow::{anyhow, bail};
use captures::{CAPTURES, Capture};

use crate::code;
use crate::workspace::Workspace;

/// The capture `name` as a `text` code block; an error naming the command that writes it when
/// the file is missing, and the known captures when the name is not one of them.
pub fn show(workspace: &Workspace, name: &str) -> anyhow::Result<String> {
    let capture = Capture::find(name).ok_or_else(|| {
        let known: Vec<&str> = CAPTURES.iter().map(|capture| capture.name).collect();
        anyhow!(
            "`{name}` is not a captured output (known: {}; a new one needs an entry in \
             testing/captures and a test that writes it)",
            known.join(", ")
        )
    })?;
    let path = capture.relative_path();
    let Ok(text) = std::fs::read_to_string(workspace.root().join(&path)) else {
        bail!(
            "{path} is missing: it is captured by {}",
            capture.how_to_write()
        );
    };
    if text.trim().is_empty() {
        bail!(
            "{path} is empty: capture it again with {}",
            capture.how_to_write()
        );
    }
    Ok(code::block_without_header("text", &text))
}

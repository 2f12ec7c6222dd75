//! The checkpoints as one chain. Checkpoint NN is checkpoint NN-1 plus chapter NN's change, which
//! is recorded beside them as `checkpoints/NN-name.diff` (the package name `checkpoint-NN`
//! counts as no change). Rust files a chapter leaves alone are links to the previous
//! checkpoint's, so they exist once; everything else is a file of its own.
//!
//! - [`check`]: every checkpoint is its predecessor plus its recorded change, and unchanged Rust
//!   files are links. An edit to one checkpoint that was not carried into the later ones fails,
//!   naming the file.
//! - [`record`]: the recorded change of a chapter becomes what its two trees show (after an
//!   edit to that chapter, on purpose).
//! - [`carry`]: the checkpoints after NN are generated again from NN and their recorded changes
//!   (after an edit to NN that the later chapters must keep).

pub mod patch;
pub mod tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

pub use patch::{Conflict, FileDiff};
pub use tree::Checkpoint;

/// One way a checkpoint is not its predecessor plus its recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The change to `path` from the previous checkpoint differs from the recorded one.
    Drift { checkpoint: String, path: String },
    /// `path` is an unchanged copy of the previous checkpoint's Rust file: it should be a link.
    Copy { checkpoint: String, path: String },
    /// `path` is a link to something other than the same file of the previous checkpoint.
    StrayLink { checkpoint: String, path: String },
}

impl Problem {
    /// The file, relative to the repository.
    pub fn file(&self) -> String {
        let (Problem::Drift { checkpoint, path }
        | Problem::Copy { checkpoint, path }
        | Problem::StrayLink { checkpoint, path }) = self;
        format!("checkpoints/{checkpoint}/{path}")
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = self.file();
        match self {
            Problem::Drift { checkpoint, .. } => {
                let number = &checkpoint[..2];
                let previous = format!("{:02}", number.parse::<u8>().unwrap_or(1) - 1);
                write!(
                    f,
                    "{file}: is not checkpoint {previous}'s file plus chapter {number}'s recorded \
                     change (checkpoints/{checkpoint}.diff). Changed checkpoint {previous}? Carry \
                     it forward: scripts/checkpoints.sh carry {previous}. Changed chapter \
                     {number} on purpose? scripts/checkpoints.sh record {number}, then carry \
                     {number}."
                )
            }
            Problem::Copy { .. } => write!(
                f,
                "{file}: an unchanged copy of the previous checkpoint's file; make it a link \
                 (scripts/checkpoints.sh carry does)"
            ),
            Problem::StrayLink { .. } => write!(
                f,
                "{file}: a link to something other than the previous checkpoint's file of the \
                 same path"
            ),
        }
    }
}

/// The checkpoints of the repository at `root`, in order.
pub fn checkpoints(root: &Path) -> anyhow::Result<Vec<Checkpoint>> {
    tree::checkpoints(&root.join("checkpoints"))
}

/// What chapter `next` changes, file by file, as the trees show it.
pub fn chapter_change(previous: &Checkpoint, next: &Checkpoint) -> anyhow::Result<Vec<FileDiff>> {
    let old = previous.files_renamed_to(next)?;
    let new = next.files()?;
    let paths: std::collections::BTreeSet<&PathBuf> = old.keys().chain(new.keys()).collect();
    Ok(paths
        .into_iter()
        .filter_map(|path| {
            let shown = tree::display(path);
            patch::diff(
                &shown,
                old.get(path).map(String::as_str),
                new.get(path).map(String::as_str),
            )
        })
        .collect())
}

/// The recorded change of `next` (none yet: empty).
pub fn recorded_change(next: &Checkpoint) -> anyhow::Result<Vec<FileDiff>> {
    match std::fs::read_to_string(next.diff_file()) {
        Ok(text) => Ok(patch::parse(&text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(error).context(format!("cannot read {}", next.diff_file().display())),
    }
}

/// Everything that keeps the checkpoints from being one chain.
pub fn check(root: &Path) -> anyhow::Result<Vec<Problem>> {
    let chain = checkpoints(root)?;
    let mut problems = Vec::new();
    for pair in chain.windows(2) {
        let (previous, next) = (&pair[0], &pair[1]);
        for path in drifted_paths(previous, next)? {
            let checkpoint = next.name.clone();
            problems.push(Problem::Drift { checkpoint, path });
        }
        problems.extend(tree::link_problems(previous, next)?);
    }
    Ok(problems)
}

/// The files whose change from `previous` to `next` is not `next`'s recorded change.
fn drifted_paths(previous: &Checkpoint, next: &Checkpoint) -> anyhow::Result<Vec<String>> {
    let computed = by_path(chapter_change(previous, next)?);
    let recorded = by_path(recorded_change(next)?);
    let paths: std::collections::BTreeSet<&String> =
        computed.keys().chain(recorded.keys()).collect();
    Ok(paths
        .into_iter()
        .filter(|path| computed.get(*path) != recorded.get(*path))
        .cloned()
        .collect())
}

fn by_path(diffs: Vec<FileDiff>) -> BTreeMap<String, String> {
    diffs.into_iter().map(|d| (d.path, d.text)).collect()
}

/// Records chapter `number`'s change as its trees show it.
pub fn record(root: &Path, number: u8) -> anyhow::Result<PathBuf> {
    let chain = checkpoints(root)?;
    let at = chain.iter().position(|c| c.number == number);
    let Some(at) = at.filter(|&at| at > 0) else {
        bail!("there is no chapter change into checkpoint {number:02}");
    };
    let change = chapter_change(&chain[at - 1], &chain[at])?;
    let file = chain[at].diff_file();
    let text: String = change.into_iter().map(|d| d.text).collect();
    std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
    Ok(file)
}

/// Generates every checkpoint after `number` again, from its predecessor and its recorded
/// change, and records each change again (its lines of context may have moved). A file whose
/// recorded change does not apply any more (the later chapter rewrote the lines the edit
/// touched, say) is kept as it was and reported: check it. Returns the checkpoints written and
/// those files.
pub fn carry(root: &Path, number: u8) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let chain = checkpoints(root)?;
    let Some(start) = chain.iter().position(|c| c.number == number) else {
        bail!("checkpoint {number:02} does not exist");
    };
    // A later checkpoint's own edit, not yet recorded, would be overwritten: refuse instead.
    // A file that links into the edited checkpoint (or before it) changed with the edit: its
    // next chapter's change looks different for that reason alone.
    let edited: Vec<PathBuf> = chain[..=start]
        .iter()
        .filter_map(|c| c.dir.canonicalize().ok())
        .collect();
    let follows_the_edit = |checkpoint: &Checkpoint, path: &str| {
        checkpoint
            .dir
            .join(path)
            .canonicalize()
            .is_ok_and(|real| edited.iter().any(|dir| real.starts_with(dir)))
    };
    for pair in chain[start + 1..].windows(2) {
        let next = &pair[1];
        let unrecorded: Vec<String> = drifted_paths(&pair[0], next)?
            .iter()
            .filter(|path| !follows_the_edit(&pair[0], path))
            .map(|path| format!("checkpoints/{}/{path}", next.name))
            .collect();
        if !unrecorded.is_empty() {
            bail!(
                "checkpoint {} has changes its chapter has not recorded, which carrying would \
                 overwrite: {}. Record them first (scripts/checkpoints.sh record {:02}) or undo \
                 them.",
                next.name,
                unrecorded.join(", "),
                next.number
            );
        }
    }
    let (mut written, mut kept) = (Vec::new(), Vec::new());
    for pair in chain[start..].windows(2) {
        let (previous, next) = (&pair[0], &pair[1]);
        let (generated, conflicts) = generate(previous, next)?;
        tree::write(previous, next, &generated)?;
        // The change is the same; only the lines around it may differ now.
        record(root, next.number)?;
        written.push(next.name.clone());
        kept.extend(conflicts);
    }
    Ok((written, kept))
}

/// `next`'s files as `previous` plus `next`'s recorded change; where a change does not apply,
/// `next`'s file as it is, and the conflict.
fn generate(
    previous: &Checkpoint,
    next: &Checkpoint,
) -> anyhow::Result<(BTreeMap<PathBuf, String>, Vec<String>)> {
    let mut files = previous.files_renamed_to(next)?;
    let current = next.files()?;
    let mut conflicts = Vec::new();
    for change in recorded_change(next)? {
        let path = PathBuf::from(&change.path);
        match patch::apply(files.get(&path).map(String::as_str), &change) {
            Ok(Some(text)) => {
                files.insert(path, text);
            }
            Ok(None) => {
                files.remove(&path);
            }
            Err(conflict) => {
                conflicts.push(format!("checkpoints/{}/{conflict}", next.name));
                match current.get(&path) {
                    Some(text) => files.insert(path, text.clone()),
                    None => files.remove(&path),
                };
            }
        }
    }
    Ok((files, conflicts))
}

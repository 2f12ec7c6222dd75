//! The repository's own checkpoints are one chain: each is its predecessor plus its recorded
//! change, and unchanged Rust files are links.

use std::path::PathBuf;

#[test]
fn every_checkpoint_is_its_predecessor_plus_its_recorded_change() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let problems = checkpoint_diffs::check(&root).expect("the checkpoints can be read");
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "\n{}\n", listed.join("\n"));
}

//! The outputs the book shows, captured from real runs: `book/src/gen/outputs/NAME.txt`, each
//! written by one test ([`CAPTURES`] names it) and shown by the book's `{{#output NAME}}`.
//!
//! A test that produces such an output passes it to [`check_or_update`]. With
//! `CAPDKC_UPDATE_CAPTURES=1` that writes the capture (and leaves a committed capture that still
//! matches untouched, so a rerun does not churn ages and addresses); otherwise it compares the
//! output with the committed capture, and a stale or missing capture fails the test.
//!
//! Some parts of an output differ from run to run: an object's age, an address Docker hands out,
//! the random suffix of a test's object names. The test names them as [`Volatile`] parts, each
//! with the [`Shape`] every value of it must have; only those are compared by shape. Everything
//! else is compared exactly: the command line, the number of lines, a table's header, and every
//! other cell or line (after trailing whitespace, which no reader sees, is dropped).

mod compare;
mod tree;

use std::fmt;
use std::path::{Path, PathBuf};

pub use compare::compare;
pub use tree::tree;

/// Set to `1` to write the captures instead of comparing with them (as for the step captures of
/// `testing/exercises/tests/learner.rs`).
pub const UPDATE_ENV: &str = "CAPDKC_UPDATE_CAPTURES";

/// Where the captures live, relative to the repository.
pub const DIR: &str = "book/src/gen/outputs";

/// One captured output: its name (the file `DIR/NAME.txt`) and the test that writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capture {
    pub name: &'static str,
    /// The `cargo test` command line that runs the writing test (and nothing else).
    pub test: &'static str,
    /// What that test needs; without it, it skips on a laptop (and fails in CI).
    pub needs: &'static str,
}

const REAL_PARTS: &str = "KUBEBUILDER_ASSETS from scripts/test-assets.sh, and Docker with the \
                          images of scripts/build-test-images.sh";

const QUICK_START: &str = "KUBEBUILDER_ASSETS from scripts/test-assets.sh (with the kubeadm \
                           providers and clusterctl), CAPDKC_NODE_IMAGE from \
                           scripts/build-node-image.sh, and Docker with the test images";

/// The quick-start test writes all three of its captures in one run.
const QUICK_START_TEST: &str = "cargo test -p apiserver-harness --test quickstart \
                                the_quick_start_builds_a_working_cluster_that_scales_and_goes_away";

/// Every capture the book may show, with the test that writes it.
pub const CAPTURES: &[Capture] = &[
    Capture {
        name: "quickstart-phases",
        test: QUICK_START_TEST,
        needs: QUICK_START,
    },
    Capture {
        name: "quickstart-get-nodes",
        test: QUICK_START_TEST,
        needs: QUICK_START,
    },
    Capture {
        name: "quickstart-describe-cluster",
        test: QUICK_START_TEST,
        needs: QUICK_START,
    },
    Capture {
        name: "kubectl-get-dockerclusters",
        test: "cargo test -p apiserver-harness --test checkpoint_03 \
               a_docker_cluster_lives_and_dies_on_real_parts",
        needs: REAL_PARTS,
    },
    Capture {
        name: "kubectl-get-dockermachines",
        test: "cargo test -p apiserver-harness --test checkpoint_04 \
               machines_live_and_die_on_real_parts",
        needs: REAL_PARTS,
    },
    Capture {
        name: "clusterctl-list-variables",
        test: "cargo test -p apiserver-harness --test checkpoint_05_templates \
               clusterctl_lists_the_variables_of_the_default_template",
        needs: "KUBEBUILDER_ASSETS from scripts/test-assets.sh, which builds clusterctl",
    },
    Capture {
        name: "release-tree",
        test: "cargo test -p book-tools --test scripts release_lays_out_the_tree_the_book_shows",
        needs: "kustomize on PATH or in KUSTOMIZE (scripts/install-kustomize.sh)",
    },
];

impl Capture {
    /// The capture named `name`, if [`CAPTURES`] has it.
    pub fn find(name: &str) -> Option<&'static Capture> {
        CAPTURES.iter().find(|capture| capture.name == name)
    }

    /// The capture's file, relative to the repository.
    pub fn relative_path(&self) -> String {
        format!("{DIR}/{}.txt", self.name)
    }

    /// How to (re)write the capture, for messages.
    pub fn how_to_write(&self) -> String {
        format!("`{UPDATE_ENV}=1 {}` (needs {})", self.test, self.needs)
    }
}

/// The repository this crate is part of.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What every value of a volatile part looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// An age as the API server prints it for kubectl (`duration.HumanDuration`): `7s`, `119s`,
    /// `2m3s`, `15m`, `3h20m`, `2d4h`, `1y30d`, or `<invalid>` / `<unknown>`.
    Age,
    /// A dotted IPv4 address, `172.18.0.3`.
    Ipv4,
    /// A TCP port, `1` to `65535`.
    Port,
    /// Exactly this many lowercase hexadecimal digits, not followed by another one.
    Hex(usize),
    /// A decimal number with one digit after the point: `22.0`, seconds in a table of phases.
    Decimal,
    /// The rest of a Kubernetes name: lowercase letters, digits, `-` and `.` (a machine's random
    /// suffixes, say, after its cluster's name).
    Name,
}

impl Shape {
    /// Whether `text` is, as a whole, a value of this shape.
    pub fn matches(self, text: &str) -> bool {
        self.len_at_start(text) == Some(text.len())
    }

    /// What a value looks like, for messages.
    pub fn describe(self) -> String {
        match self {
            Shape::Age => "an age (7s, 2m3s, 3h)".to_owned(),
            Shape::Ipv4 => "an IPv4 address".to_owned(),
            Shape::Port => "a port".to_owned(),
            Shape::Hex(digits) => format!("{digits} hexadecimal digits"),
            Shape::Decimal => "a decimal number (22.0)".to_owned(),
            Shape::Name => "the rest of a name (a-z, 0-9, - and .)".to_owned(),
        }
    }

    /// What stands for any value in a masked line.
    fn placeholder(self) -> String {
        match self {
            Shape::Age => "<age>".to_owned(),
            Shape::Ipv4 => "<ipv4>".to_owned(),
            Shape::Port => "<port>".to_owned(),
            Shape::Hex(digits) => format!("<hex{digits}>"),
            Shape::Decimal => "<decimal>".to_owned(),
            Shape::Name => "<name>".to_owned(),
        }
    }

    /// The length in bytes of the value of this shape that `text` starts with, if any.
    fn len_at_start(self, text: &str) -> Option<usize> {
        match self {
            Shape::Age => age_len(text),
            Shape::Ipv4 => {
                let run = text
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(text.len());
                let candidate = text[..run].trim_end_matches('.');
                let parts: Vec<&str> = candidate.split('.').collect();
                let octet = |p: &&str| (1..=3).contains(&p.len()) && p.parse::<u8>().is_ok();
                (parts.len() == 4 && parts.iter().all(octet)).then_some(candidate.len())
            }
            Shape::Port => {
                let run = digits(text);
                (1..=5).contains(&run).then_some(run).filter(|&run| {
                    text[..run]
                        .parse::<u32>()
                        .is_ok_and(|port| (1..=65535).contains(&port))
                })
            }
            Shape::Decimal => {
                let whole = digits(text);
                let rest = &text[whole..];
                (whole > 0 && rest.starts_with('.') && digits(&rest[1..]) == 1).then_some(whole + 2)
            }
            Shape::Name => {
                let run = text
                    .find(|c: char| {
                        !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
                    })
                    .unwrap_or(text.len());
                (run > 0).then_some(run)
            }
            Shape::Hex(count) => {
                let is_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
                let bytes = text.as_bytes();
                (bytes.len() >= count
                    && bytes[..count].iter().all(is_hex)
                    && !bytes.get(count).is_some_and(is_hex))
                .then_some(count)
            }
        }
    }
}

fn digits(text: &str) -> usize {
    text.find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len())
}

/// `HumanDuration`'s forms: one or two number-unit pairs, units in decreasing order.
fn age_len(text: &str) -> Option<usize> {
    for special in ["<invalid>", "<unknown>"] {
        if text.starts_with(special) {
            return Some(special.len());
        }
    }
    const UNITS: &str = "ydhms";
    let (mut at, mut pairs, mut last_unit) = (0, 0, None);
    while pairs < 2 {
        let number = digits(&text[at..]);
        let Some(unit) = text[at + number..].chars().next() else {
            break;
        };
        let Some(rank) = UNITS.find(unit) else {
            break;
        };
        if number == 0 || last_unit.is_some_and(|last| rank <= last) {
            break;
        }
        at += number + 1;
        pairs += 1;
        last_unit = Some(rank);
    }
    (pairs > 0).then_some(at)
}

/// A part of an output that differs from run to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Volatile {
    /// Every cell of a table's column, named by its header as printed (`AGE`). The table's
    /// header is the first line after the command line (`$ ...`, with its `\` continuations);
    /// cells are found by the header's column positions, so alignment may change with the
    /// widths of volatile cells.
    Column(&'static str, Shape),
    /// The text right after each occurrence of the prefix, where it has the shape: the random
    /// suffix of a test's names (`c03-` and 8 hex digits), in any cell or line.
    After(&'static str, Shape),
    /// The last word of each line, where it has the shape: the age at the end of each row of a
    /// table whose columns are one space apart (`clusterctl describe cluster`, where headers such
    /// as `UP TO DATE` hold spaces too, so no [`Volatile::Column`] can be found). Applies to the
    /// lines that are not read as a table, so it does not mix with `Column`.
    LastWord(Shape),
}

/// What [`check_or_update`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The output matches the committed capture (nothing written).
    Matches,
    /// The capture was (re)written, as `CAPDKC_UPDATE_CAPTURES=1` asked.
    Written,
}

/// A capture that does not match the output, is missing, or is not in [`CAPTURES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale(String);

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Stale {}

/// Compares `output` with the committed capture `name`, or writes it when
/// `CAPDKC_UPDATE_CAPTURES=1`; `volatile` names the parts compared by shape only.
pub fn check_or_update(name: &str, output: &str, volatile: &[Volatile]) -> Result<Outcome, Stale> {
    let update = std::env::var(UPDATE_ENV).is_ok_and(|value| value == "1");
    check_or_update_in(&repository_root(), name, output, volatile, update)
}

fn check_or_update_in(
    root: &Path,
    name: &str,
    output: &str,
    volatile: &[Volatile],
    update: bool,
) -> Result<Outcome, Stale> {
    let capture = Capture::find(name).ok_or_else(|| {
        Stale(format!(
            "`{name}` is not a capture: add it to captures::CAPTURES with the test that writes it"
        ))
    })?;
    let output = normalised(output);
    let file = root.join(capture.relative_path());
    let committed = std::fs::read_to_string(&file).ok();
    let difference = match &committed {
        Some(committed) => compare(committed, &output, volatile).err(),
        None => Some("there is no such file".to_owned()),
    };
    let Some(difference) = difference else {
        return Ok(Outcome::Matches);
    };
    if update {
        let written =
            std::fs::create_dir_all(root.join(DIR)).and_then(|()| std::fs::write(&file, &output));
        written.map_err(|error| Stale(format!("{}: {error}", capture.relative_path())))?;
        eprintln!("captured {}", capture.relative_path());
        return Ok(Outcome::Written);
    }
    let path = capture.relative_path();
    Err(Stale(match committed {
        None => format!(
            "{path} is missing: write it with {}, and commit it",
            capture.how_to_write()
        ),
        Some(_) => format!(
            "{path} is stale: {difference}\n--- this run ---\n{output}--- end ---\n\
             If the change is expected, write it with {} and commit it",
            capture.how_to_write()
        ),
    }))
}

/// The output as it is stored: no trailing whitespace on a line, no blank lines at the end, one
/// final newline.
pub fn normalised(output: &str) -> String {
    let lines: Vec<&str> = output.lines().map(str::trim_end).collect();
    let kept = lines.len() - lines.iter().rev().take_while(|l| l.is_empty()).count();
    lines[..kept]
        .iter()
        .map(|line| format!("{line}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_accept_their_values_only() {
        for age in [
            "0s",
            "7s",
            "119s",
            "2m3s",
            "15m",
            "3h20m",
            "2d4h",
            "1y30d",
            "<unknown>",
        ] {
            assert!(Shape::Age.matches(age), "{age}");
        }
        for not_age in ["", "s", "3", "3x", "3s2m", "1h2m3s", "true", "3 s"] {
            assert!(!Shape::Age.matches(not_age), "{not_age}");
        }
        assert!(Shape::Ipv4.matches("172.18.0.3") && Shape::Ipv4.matches("10.0.0.255"));
        for not_ip in ["172.18.0", "172.18.0.256", "1.2.3.4.5", "a.b.c.d", ""] {
            assert!(!Shape::Ipv4.matches(not_ip), "{not_ip}");
        }
        assert!(Shape::Port.matches("6443") && !Shape::Port.matches("70000"));
        assert!(Shape::Hex(8).matches("0a1b2c3d"));
        assert!(!Shape::Hex(8).matches("0a1b2c3") && !Shape::Hex(8).matches("0A1B2C3D"));
        assert_eq!(Shape::Hex(8).len_at_start("0a1b2c3d-cp-0"), Some(8));
        assert_eq!(Shape::Hex(8).len_at_start("0a1b2c3d9"), None);
        assert!(Shape::Decimal.matches("22.0") && Shape::Decimal.matches("0.4"));
        for not_decimal in ["22", "22.", ".5", "22.05", "x.1"] {
            assert!(!Shape::Decimal.matches(not_decimal), "{not_decimal}");
        }
        assert!(Shape::Name.matches("0a1b2c3d-md-0-7f9c6-xk2pq"));
        assert_eq!(Shape::Name.len_at_start("ab-12 Ready"), Some(5));
        assert!(!Shape::Name.matches("") && !Shape::Name.matches("Ab"));
    }

    #[test]
    fn every_capture_has_a_distinct_name_and_a_test_that_writes_it() {
        for (index, capture) in CAPTURES.iter().enumerate() {
            assert!(capture.test.starts_with("cargo test -p "), "{capture:?}");
            assert!(
                !CAPTURES[..index].iter().any(|c| c.name == capture.name),
                "{} twice",
                capture.name
            );
        }
        let how = Capture::find("release-tree").expect("known").how_to_write();
        assert!(how.starts_with("`CAPDKC_UPDATE_CAPTURES=1 cargo test -p book-tools"));
    }

    #[test]
    fn every_capture_is_committed_and_every_committed_file_is_a_capture() {
        let dir = repository_root().join(DIR);
        for capture in CAPTURES {
            let file = repository_root().join(capture.relative_path());
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            assert!(
                text.starts_with("$ "),
                "{} is missing or does not start with its command line: write it with {}",
                capture.relative_path(),
                capture.how_to_write()
            );
        }
        for entry in std::fs::read_dir(dir).expect("the captures directory") {
            let name = entry.expect("an entry").file_name();
            let name = name.to_string_lossy();
            let known = name.strip_suffix(".txt").and_then(Capture::find).is_some();
            assert!(known, "{DIR}/{name} is no capture of CAPTURES: remove it");
        }
    }

    #[test]
    fn trailing_whitespace_and_blank_lines_are_dropped() {
        assert_eq!(normalised("a  \n\nb\t\n\n\n"), "a\n\nb\n");
        assert_eq!(normalised("a"), "a\n");
    }

    const RUN_1: &str = "$ tool\nname c03-0a1b2c3d\n";
    const RUN_2: &str = "$ tool\nname c03-99887766\n";
    const SUFFIX: &[Volatile] = &[Volatile::After("c03-", Shape::Hex(8))];

    #[test]
    fn a_capture_is_written_when_asked_then_compared() {
        let root = tempfile::tempdir().expect("temp dir");
        let run = |output: &str, update: bool| {
            check_or_update_in(root.path(), "release-tree", output, SUFFIX, update)
        };
        let missing = run(RUN_1, false).expect_err("no capture yet").to_string();
        assert!(
            missing.contains("book/src/gen/outputs/release-tree.txt is missing")
                && missing.contains("CAPDKC_UPDATE_CAPTURES=1 cargo test -p book-tools"),
            "{missing}"
        );
        assert_eq!(run(RUN_1, true), Ok(Outcome::Written));
        let file = root.path().join("book/src/gen/outputs/release-tree.txt");
        assert_eq!(std::fs::read_to_string(&file).expect("written"), RUN_1);
        // Another run differs only in a volatile part: it matches, and updating keeps the file.
        assert_eq!(run(RUN_2, false), Ok(Outcome::Matches));
        assert_eq!(run(RUN_2, true), Ok(Outcome::Matches));
        assert_eq!(std::fs::read_to_string(&file).expect("kept"), RUN_1);
        // A real change is stale, and says how to write it.
        let stale = run("$ tool\nname c04-0a1b2c3d\n", false)
            .expect_err("stale")
            .to_string();
        assert!(
            stale.contains("release-tree.txt is stale: line 2")
                && stale.contains("name c04-0a1b2c3d")
                && stale.contains("CAPDKC_UPDATE_CAPTURES=1"),
            "{stale}"
        );
        assert_eq!(
            run("$ tool\nname c04-0a1b2c3d\n", true),
            Ok(Outcome::Written)
        );
    }

    #[test]
    fn an_unknown_capture_is_refused() {
        let root = tempfile::tempdir().expect("temp dir");
        let error = check_or_update_in(root.path(), "nope", RUN_1, &[], true).expect_err("unknown");
        assert!(error.to_string().contains("captures::CAPTURES"), "{error}");
        assert!(!root.path().join(DIR).exists());
    }
}

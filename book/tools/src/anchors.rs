//! Named regions of source files: `ANCHOR: name` ... `ANCHOR_END: name` in a comment line.
//!
//! Regions are named after concepts, never line ranges, so that editing a checkpoint cannot
//! silently shift what a chapter shows.

/// Why a region could not be taken from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorError {
    /// No `ANCHOR: name` line.
    Missing,
    /// `ANCHOR: name` without a matching `ANCHOR_END: name` after it.
    Unterminated,
    /// The region holds nothing but blank lines.
    Empty,
}

impl std::fmt::Display for AnchorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AnchorError::Missing => "has no `ANCHOR:` line",
            AnchorError::Unterminated => "has no `ANCHOR_END:` line after its `ANCHOR:` line",
            AnchorError::Empty => "marks an empty region",
        })
    }
}

/// The name a marker line opens (`start = true`) or closes, if the line is such a marker.
fn marker(line: &str, start: bool) -> Option<&str> {
    let keyword = if start { "ANCHOR:" } else { "ANCHOR_END:" };
    let (_, rest) = line.split_once(keyword)?;
    // `ANCHOR:` is also a suffix of `ANCHOR_END:`; the split above finds the first, so check the
    // character before it is not part of a longer word.
    let before = &line[..line.len() - rest.len() - keyword.len()];
    if before.ends_with('_') || before.ends_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    rest.split_whitespace().next()
}

/// True for any anchor marker line; such lines never reach the book.
pub fn is_marker(line: &str) -> bool {
    marker(line, true).is_some() || marker(line, false).is_some()
}

/// The text between `ANCHOR: name` and `ANCHOR_END: name`, without any marker lines and with the
/// common indentation removed.
pub fn region(text: &str, name: &str) -> Result<String, AnchorError> {
    let mut lines = text.lines();
    lines
        .by_ref()
        .find(|line| marker(line, true) == Some(name))
        .ok_or(AnchorError::Missing)?;
    let mut body = Vec::new();
    let mut terminated = false;
    for line in lines {
        if marker(line, false) == Some(name) {
            terminated = true;
            break;
        }
        if !is_marker(line) {
            body.push(line);
        }
    }
    if !terminated {
        return Err(AnchorError::Unterminated);
    }
    if body.iter().all(|line| line.trim().is_empty()) {
        return Err(AnchorError::Empty);
    }
    Ok(dedent(&body))
}

/// The lines (0-based, exclusive of both markers) that region `name` spans.
pub fn span(text: &str, name: &str) -> Result<std::ops::Range<usize>, AnchorError> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|line| marker(line, true) == Some(name))
        .ok_or(AnchorError::Missing)?;
    let end = lines[start + 1..]
        .iter()
        .position(|line| marker(line, false) == Some(name))
        .ok_or(AnchorError::Unterminated)?;
    Ok(start + 1..start + 1 + end)
}

/// Every region of the file, by name, with the lines it spans (as [`span`] gives them).
pub fn spans(text: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let names: Vec<String> = text
        .lines()
        .filter_map(|line| marker(line, true))
        .map(str::to_owned)
        .collect();
    names
        .into_iter()
        .filter_map(|name| span(text, &name).ok().map(|range| (name, range)))
        .collect()
}

/// The whole file without marker lines.
pub fn strip_markers(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|line| !is_marker(line)).collect();
    join_lines(&lines)
}

/// Every line of the file except marker lines, each flagged with whether it lies in region `name`.
pub fn lines_with_focus<'a>(
    text: &'a str,
    name: &str,
) -> Result<Vec<(bool, &'a str)>, AnchorError> {
    region(text, name)?;
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if marker(line, true) == Some(name) {
            inside = true;
        } else if marker(line, false) == Some(name) {
            inside = false;
        } else if !is_marker(line) {
            out.push((inside, line));
        }
    }
    Ok(out)
}

fn dedent(lines: &[&str]) -> String {
    let indent = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let trimmed: Vec<&str> = lines
        .iter()
        .map(|line| line.get(indent..).unwrap_or("").trim_end_matches('\r'))
        .collect();
    join_lines(&trimmed)
}

fn join_lines(lines: &[&str]) -> String {
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
fn outside() {}
    // ANCHOR: outer
    fn a() {}
    // ANCHOR: inner
    fn b() {}
    // ANCHOR_END: inner
    // ANCHOR_END: outer
# ANCHOR: yaml
key: value
# ANCHOR_END: yaml
// ANCHOR: empty

// ANCHOR_END: empty
// ANCHOR: open
";

    #[test]
    fn takes_the_named_region_without_nested_markers_and_dedents_it() {
        assert_eq!(region(SOURCE, "outer").unwrap(), "fn a() {}\nfn b() {}\n");
        assert_eq!(region(SOURCE, "inner").unwrap(), "fn b() {}\n");
        assert_eq!(region(SOURCE, "yaml").unwrap(), "key: value\n");
    }

    #[test]
    fn reports_missing_empty_and_unterminated_regions() {
        assert_eq!(region(SOURCE, "nope"), Err(AnchorError::Missing));
        assert_eq!(region(SOURCE, "empty"), Err(AnchorError::Empty));
        assert_eq!(region(SOURCE, "open"), Err(AnchorError::Unterminated));
        // A prefix of a real name is not that name.
        assert_eq!(region(SOURCE, "out"), Err(AnchorError::Missing));
    }

    #[test]
    fn flags_the_lines_of_the_focus_region() {
        let lines = lines_with_focus(SOURCE, "inner").unwrap();
        let focused: Vec<&str> = lines.iter().filter(|(f, _)| *f).map(|(_, l)| *l).collect();
        assert_eq!(focused, ["    fn b() {}"]);
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn strips_every_marker_from_a_whole_file() {
        let stripped = strip_markers(SOURCE);
        assert!(!stripped.contains("ANCHOR"));
        assert!(stripped.starts_with("fn outside() {}\n    fn a() {}\n"));
    }
}

//! The comparison of a committed capture with a new run's output.

use crate::{Shape, Volatile};

/// Compares the committed capture `expected` with `actual` (both [`crate::normalised`]): `Ok`
/// when they are equal but for the `volatile` parts, each of which must have its shape in both;
/// else the first difference, naming its line (and column).
///
/// When `volatile` names a [`Volatile::Column`], the lines from the header on (the first line
/// after the command line) are a table: each side's cells are read at its own header's column
/// positions (a column starts where the header has text after two or more spaces), and a cell
/// that does not start at its column's position is a difference.
pub fn compare(expected: &str, actual: &str, volatile: &[Volatile]) -> Result<(), String> {
    let expected: Vec<&str> = expected.lines().collect();
    let actual: Vec<&str> = actual.lines().collect();
    if expected.len() != actual.len() {
        return Err(format!(
            "{} lines, where the capture has {}",
            actual.len(),
            expected.len()
        ));
    }
    let after: Vec<(&str, Shape)> = volatile
        .iter()
        .filter_map(|v| match v {
            Volatile::After(prefix, shape) => Some((*prefix, *shape)),
            _ => None,
        })
        .collect();
    let columns: Vec<(&str, Shape)> = volatile
        .iter()
        .filter_map(|v| match v {
            Volatile::Column(name, shape) => Some((*name, *shape)),
            _ => None,
        })
        .collect();
    let last_words: Vec<Shape> = volatile
        .iter()
        .filter_map(|v| match v {
            Volatile::LastWord(shape) => Some(*shape),
            _ => None,
        })
        .collect();
    let masked = |line: &str| mask_last_word(&mask(line, &after), &last_words);
    let header = if columns.is_empty() {
        expected.len()
    } else {
        command_lines(&expected)
    };
    for (index, (want, got)) in expected.iter().zip(&actual).take(header).enumerate() {
        if masked(want) != masked(got) {
            return Err(format!(
                "line {}: expected `{want}`, got `{got}`",
                index + 1
            ));
        }
    }
    if header < expected.len() {
        compare_table(&expected[header..], &actual[header..], &columns, &after)
            .map_err(|(line, problem)| format!("line {}: {problem}", header + line + 1))?;
    }
    Ok(())
}

/// How many lines the command line takes: `$ ...` and the lines its `\` continues onto.
fn command_lines(lines: &[&str]) -> usize {
    if !lines.first().is_some_and(|line| line.starts_with("$ ")) {
        return 0;
    }
    1 + lines
        .iter()
        .take_while(|line| line.ends_with('\\'))
        .count()
        .min(lines.len() - 1)
}

/// A table's lines, header first; the error is the index of the line and what differs.
fn compare_table(
    expected: &[&str],
    actual: &[&str],
    volatile: &[(&str, Shape)],
    after: &[(&str, Shape)],
) -> Result<(), (usize, String)> {
    let (want_starts, want_names) = header(expected[0]);
    let (got_starts, got_names) = header(actual[0]);
    if want_names != got_names {
        return Err((
            0,
            format!("columns {got_names:?}, where the capture has {want_names:?}"),
        ));
    }
    let shapes: Vec<Option<Shape>> = want_names
        .iter()
        .map(|name| {
            volatile
                .iter()
                .find(|(column, _)| column == name)
                .map(|(_, shape)| *shape)
        })
        .collect();
    if let Some((missing, _)) = volatile
        .iter()
        .find(|(column, _)| !want_names.iter().any(|name| name == column))
    {
        return Err((0, format!("no column `{missing}` in {want_names:?}")));
    }
    for line in 1..expected.len() {
        let want = cells(expected[line], &want_starts)
            .map_err(|problem| (line, format!("in the capture, {problem}")))?;
        let got = cells(actual[line], &got_starts).map_err(|problem| (line, problem))?;
        for (column, name) in want_names.iter().enumerate() {
            let (want, got) = (&want[column], &got[column]);
            let same = match shapes[column] {
                _ if want == got => true,
                Some(shape) if !shape.matches(want) => {
                    let problem = format!(
                        "in the capture, {name} `{want}` is not {}",
                        shape.describe()
                    );
                    return Err((line, problem));
                }
                Some(shape) => shape.matches(got),
                None => mask(want, after) == mask(got, after),
            };
            if !same {
                return Err((line, format!("{name}: expected `{want}`, got `{got}`")));
            }
        }
    }
    Ok(())
}

/// The start (in characters) and name of each column of a header line.
fn header(line: &str) -> (Vec<usize>, Vec<String>) {
    let chars: Vec<char> = line.chars().collect();
    let mut starts = Vec::new();
    for (at, c) in chars.iter().enumerate() {
        let after_gap = at == 0 || (at >= 2 && chars[at - 1] == ' ' && chars[at - 2] == ' ');
        if *c != ' ' && after_gap {
            starts.push(at);
        }
    }
    let names = starts
        .iter()
        .enumerate()
        .map(|(index, &start)| {
            let end = starts.get(index + 1).copied().unwrap_or(chars.len());
            chars[start..end]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect();
    (starts, names)
}

/// A row's cells at the header's column positions; an error when a cell is not aligned.
fn cells(line: &str, starts: &[usize]) -> Result<Vec<String>, String> {
    let chars: Vec<char> = line.chars().collect();
    let mut cells = Vec::new();
    for (index, &start) in starts.iter().enumerate() {
        let end = starts.get(index + 1).copied().unwrap_or(chars.len());
        let (start, end) = (start.min(chars.len()), end.min(chars.len()));
        let text: String = chars[start..end].iter().collect();
        let runs_into = start > 0 && start < chars.len() && chars[start - 1] != ' ';
        let starts_late = text.starts_with(' ') && !text.trim().is_empty();
        if runs_into || starts_late {
            return Err(format!("`{line}` is not aligned with the header"));
        }
        cells.push(text.trim_end().to_owned());
    }
    Ok(cells)
}

/// `line` with its last word replaced by the placeholder of the first shape it has.
fn mask_last_word(line: &str, shapes: &[Shape]) -> String {
    let (head, last) = line.rsplit_once(' ').unwrap_or(("", line));
    match shapes.iter().find(|shape| shape.matches(last)) {
        Some(shape) if line.contains(' ') => format!("{head} {}", shape.placeholder()),
        _ => line.to_owned(),
    }
}

/// `line` with each volatile part after its prefix replaced by its shape's placeholder.
fn mask(line: &str, after: &[(&str, Shape)]) -> String {
    let mut masked = String::new();
    let mut rest = line;
    'scan: while let Some(c) = rest.chars().next() {
        for (prefix, shape) in after {
            if let Some(tail) = rest.strip_prefix(prefix)
                && let Some(len) = shape.len_at_start(tail)
            {
                masked.push_str(prefix);
                masked.push_str(&shape.placeholder());
                rest = &tail[len..];
                continue 'scan;
            }
        }
        masked.push(c);
        rest = &rest[c.len_utf8()..];
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[Volatile] = &[
        Volatile::Column("AGE", Shape::Age),
        Volatile::Column("ENDPOINT", Shape::Ipv4),
        Volatile::After("c03-", Shape::Hex(8)),
    ];

    const COMMITTED: &str = "\
$ kubectl get dockerclusters
NAME           CLUSTER        ENDPOINT     PROVISIONED   READY   AGE
c03-0a1b2c3d   c03-0a1b2c3d   172.18.0.3   true          True    9s
";

    #[test]
    fn a_last_word_may_change_where_it_has_its_shape() {
        let tree = |since: &str, reason: &str| {
            format!(
                "$ clusterctl describe cluster demo\n\
                 NAME                    READY UP TO DATE STATUS SINCE\n\
                 Cluster default/d-a1b2  1     1          {reason} {since}\n"
            )
        };
        let volatile = [
            Volatile::LastWord(Shape::Age),
            Volatile::After("d-", Shape::Name),
        ];
        let committed = tree("2s", "True");
        assert_eq!(
            compare(&committed, &tree("1m5s", "True"), &volatile),
            Ok(())
        );
        let changed = compare(&committed, &tree("2s", "False"), &volatile);
        assert!(changed.is_err_and(|e| e.starts_with("line 3:")));
        let not_an_age = compare(&committed, &tree("soon", "True"), &volatile);
        assert!(not_an_age.is_err(), "the last word must keep its shape");
    }

    #[test]
    fn volatile_cells_may_change_value_and_width() {
        let later = "\
$ kubectl get dockerclusters
NAME           CLUSTER        ENDPOINT      PROVISIONED   READY   AGE
c03-ffee0011   c03-ffee0011   172.18.0.12   true          True    2m3s
";
        assert_eq!(compare(COMMITTED, later, TABLE), Ok(()));
        assert_eq!(compare(COMMITTED, COMMITTED, TABLE), Ok(()));
    }

    #[test]
    fn stable_cells_headers_and_rows_must_not_change() {
        let cases = [
            (
                COMMITTED.replace("True ", "False"),
                "line 3: READY: expected `True`, got `False`",
            ),
            (
                COMMITTED.replace("true          True", "false         True"),
                "line 3: PROVISIONED: expected `true`, got `false`",
            ),
            (
                COMMITTED.replace("READY", "STATE"),
                "line 2: columns [\"NAME\", \"CLUSTER\", \"ENDPOINT\", \"PROVISIONED\", \"STATE\", \"AGE\"]",
            ),
            (
                COMMITTED.replace("c03-0a1b2c3d   c03", "c03-0a1b2c3d   c04"),
                "line 3: CLUSTER: expected `c03-0a1b2c3d`, got `c04-0a1b2c3d`",
            ),
            (
                COMMITTED.replace("get dockerclusters", "get dockermachines"),
                "line 1: expected `$ kubectl get dockerclusters`",
            ),
            (
                COMMITTED.replace("9s", "soon"),
                "line 3: AGE: expected `9s`, got `soon`",
            ),
            (
                COMMITTED.replace("172.18.0.3", "localhost "),
                "line 3: ENDPOINT: expected `172.18.0.3`, got `localhost`",
            ),
            (
                format!(
                    "{COMMITTED}{}",
                    COMMITTED.lines().last().unwrap_or_default()
                ),
                "4 lines, where the capture has 3",
            ),
        ];
        for (changed, expected) in cases {
            let error = compare(COMMITTED, &changed, TABLE).expect_err(&changed);
            assert!(error.starts_with(expected), "{error}\nfor\n{changed}");
        }
    }

    #[test]
    fn a_misaligned_row_is_a_difference() {
        let misaligned = COMMITTED.replace(
            "c03-0a1b2c3d   c03-0a1b2c3d ",
            "c03-0a1b2c3d  c03-0a1b2c3d  ",
        );
        let error = compare(COMMITTED, &misaligned, TABLE).expect_err("misaligned");
        assert!(error.contains("not aligned with the header"), "{error}");
    }

    #[test]
    fn empty_cells_and_the_committed_capture_are_checked_too() {
        let empty = "$ k\nNAME   READY   AGE\na              1s\n";
        assert_eq!(compare(empty, empty, TABLE[..1].as_ref()), Ok(()));
        let ready = "$ k\nNAME   READY   AGE\na      True    1s\n";
        assert!(compare(empty, ready, &TABLE[..1]).is_err());
        let broken = "$ k\nNAME   READY   AGE\na      True    old\n";
        let error = compare(broken, ready, &TABLE[..1]).expect_err("bad capture");
        assert!(
            error.contains("in the capture, AGE `old` is not an age"),
            "{error}"
        );
        let error =
            compare(ready, ready, &[Volatile::Column("IP", Shape::Ipv4)]).expect_err("no IP");
        assert!(error.contains("no column `IP`"), "{error}");
    }

    #[test]
    fn text_without_a_table_is_compared_line_by_line() {
        let text =
            "$ clusterctl generate cluster demo \\\n  --from t.yaml\nRequired Variables:\n  - A\n";
        assert_eq!(compare(text, text, &[]), Ok(()));
        let error = compare(text, &text.replace("- A", "- B"), &[]).expect_err("changed");
        assert_eq!(error, "line 4: expected `  - A`, got `  - B`");
        assert_eq!(command_lines(&text.lines().collect::<Vec<_>>()), 2);
    }

    #[test]
    fn masks_only_what_has_the_shape() {
        let after = [("c04-", Shape::Hex(8))];
        assert_eq!(
            mask("docker:////c04-0a1b2c3d-cp-0 c04-xyz", &after),
            "docker:////c04-<hex8>-cp-0 c04-xyz"
        );
    }
}

//! `kubectl get` output as the API server computes it: a list requested as a `meta.k8s.io/v1`
//! Table, whose columns come from the CRD's `additionalPrinterColumns`; and that Table printed as
//! kubectl prints it, for the outputs the book shows.

use kube::Client;
use serde_json::Value;

use crate::Error;

/// The media type kubectl asks for; the server answers with a Table instead of a list.
const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// A server-side printed table: column names and one row of cells per object.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Column names in order (`Name` first, then the printer columns).
    pub columns: Vec<String>,
    /// Each column's priority: kubectl shows only the columns of priority 0 (the others with
    /// `-o wide`).
    pub priorities: Vec<i64>,
    /// Rows, each with `(object name, cells)`.
    pub rows: Vec<(String, Vec<Value>)>,
}

impl Table {
    /// The cell of `column` in the row of object `name`, if both exist.
    pub fn cell(&self, name: &str, column: &str) -> Option<&Value> {
        let index = self.columns.iter().position(|c| c == column)?;
        let (_, cells) = self.rows.iter().find(|(row_name, _)| row_name == name)?;
        cells.get(index)
    }

    /// The table as `kubectl get` prints it (cli-runtime's `printTable` through its tabwriter):
    /// the columns of priority 0, headers in upper case, each column but the last padded to its
    /// widest cell plus 3 spaces (at least 6 wide), a string cell cut at its first line break
    /// (with `...`), an absent value empty. `AGE` is as the server formats it for kubectl.
    /// Nothing when there are no rows (kubectl then says "No resources found" on stderr).
    pub fn kubectl_text(&self) -> String {
        if self.rows.is_empty() {
            return String::new();
        }
        let shown: Vec<usize> = (0..self.columns.len())
            .filter(|&index| self.priorities.get(index).copied().unwrap_or(0) == 0)
            .collect();
        let mut lines: Vec<Vec<String>> = vec![
            shown
                .iter()
                .map(|&index| self.columns[index].to_uppercase())
                .collect(),
        ];
        for (_, cells) in &self.rows {
            lines.push(
                shown
                    .iter()
                    .map(|&index| cell_text(cells.get(index)))
                    .collect(),
            );
        }
        tabwriter(&lines)
    }
}

/// kubectl's tabwriter settings (cli-runtime `GetNewTabWriter`).
const MIN_WIDTH: usize = 6;
const PADDING: usize = 3;

/// Aligns cells as Go's tabwriter does with kubectl's settings: every column but the last is as
/// wide as its widest cell (in characters) plus the padding, and at least the minimum width.
fn tabwriter(lines: &[Vec<String>]) -> String {
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns.saturating_sub(1))
        .map(|column| {
            lines
                .iter()
                .filter_map(|line| line.get(column))
                .map(|cell| cell.chars().count() + PADDING)
                .fold(MIN_WIDTH, usize::max)
        })
        .collect();
    let mut out = String::new();
    for line in lines {
        for (column, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if let Some(width) = widths.get(column).filter(|_| column + 1 < line.len()) {
                out.push_str(&" ".repeat(width - cell.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

/// A cell as kubectl prints it: a string up to its first line break, any other value as JSON
/// prints it (`true`, `3`), no value as nothing.
fn cell_text(cell: Option<&Value>) -> String {
    match cell {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => match text.find(['\u{c}', '\n', '\r']) {
            Some(end) => format!("{}...", &text[..end]),
            None => text.clone(),
        },
        Some(other) => other.to_string(),
    }
}

/// GETs `path` (a collection URL such as `Api::resource_url()`) as a Table.
pub async fn get_table(client: &Client, path: &str) -> Result<Table, Error> {
    let request = http::Request::get(path)
        .header(http::header::ACCEPT, TABLE_ACCEPT)
        .body(Vec::new())?;
    let body: Value = client.request(request).await?;
    let unexpected = |reason: &str| Error::UnexpectedResponse {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if body.get("kind").and_then(Value::as_str) != Some("Table") {
        return Err(unexpected("not a Table"));
    }
    let definitions = body
        .get("columnDefinitions")
        .and_then(Value::as_array)
        .ok_or_else(|| unexpected("no columnDefinitions"))?;
    let columns = definitions
        .iter()
        .filter_map(|column| {
            column
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    let priorities = definitions
        .iter()
        .map(|column| column.get("priority").and_then(Value::as_i64).unwrap_or(0))
        .collect();
    let rows = body
        .get("rows")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|row| {
            // Without includeObject=None the server embeds partial object metadata per row.
            let name = row
                .pointer("/object/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let cells = row
                .get("cells")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            (name, cells)
        })
        .collect();
    Ok(Table {
        columns,
        priorities,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(rows: Vec<(String, Vec<Value>)>) -> Table {
        Table {
            columns: [
                "Name",
                "Cluster",
                "Endpoint",
                "Provisioned",
                "Ready",
                "Wide",
                "Age",
            ]
            .map(str::to_owned)
            .to_vec(),
            priorities: vec![0, 0, 0, 0, 0, 1, 0],
            rows,
        }
    }

    #[test]
    fn prints_as_kubectl_get_does() {
        let rows = vec![
            (
                "sample".to_owned(),
                vec![
                    json!("sample"),
                    json!("sample"),
                    json!("172.18.0.3"),
                    json!(true),
                    json!("True"),
                    json!("hidden"),
                    json!("45s"),
                ],
            ),
            (
                "other-cluster".to_owned(),
                vec![
                    json!("other-cluster"),
                    Value::Null,
                    Value::Null,
                    json!(false),
                    json!("line one\nline two"),
                    json!("hidden"),
                    json!("3m2s"),
                ],
            ),
        ];
        // As kubectl prints these cells: Go's text/tabwriter with kubectl's settings.
        assert_eq!(
            table(rows).kubectl_text(),
            "\
NAME            CLUSTER   ENDPOINT     PROVISIONED   READY         AGE
sample          sample    172.18.0.3   true          True          45s
other-cluster                          false         line one...   3m2s
"
        );
        assert_eq!(table(Vec::new()).kubectl_text(), "");
    }

    #[test]
    fn narrow_columns_keep_the_minimum_width() {
        let lines = vec![
            vec!["A".to_owned(), "B".to_owned()],
            vec!["x".to_owned(), "y".to_owned()],
        ];
        assert_eq!(tabwriter(&lines), "A     B\nx     y\n");
    }
}

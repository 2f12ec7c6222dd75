//! `kubectl get` output as the API server computes it: a list requested as a `meta.k8s.io/v1`
//! Table, whose columns come from the CRD's `additionalPrinterColumns`.

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
    let columns = body
        .get("columnDefinitions")
        .and_then(Value::as_array)
        .ok_or_else(|| unexpected("no columnDefinitions"))?
        .iter()
        .filter_map(|column| {
            column
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
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
    Ok(Table { columns, rows })
}

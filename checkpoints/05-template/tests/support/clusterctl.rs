//! clusterctl's template variables, as `clusterctl generate cluster` processes them: its simple
//! processor parses the text with drone/envsubst (the 2021 version clusterctl pins) and refuses
//! to render while a variable without a default has no value.
//!
//! The rules, all checked against clusterctl itself:
//!
//! - `${VAR}` is the value of VAR. A variable that is set to the empty string is set.
//! - `${VAR:=default}`, `${VAR:-default}`, `${VAR=default}` (and `${VAR:?x}`, `${VAR:+x}`, which
//!   drone/envsubst also treats as defaults) give `default` when VAR is unset **or empty**: the
//!   pinned drone/envsubst cannot tell unset from empty, so `=` behaves as `:=`. Nothing is
//!   assigned: a later plain `${VAR}` is still empty.
//! - `${VAR-default}` and `${VAR+x}` are not supported: "missing closing brace".
//! - A default may contain `${OTHER}`; OTHER is then no variable of the template (never
//!   reported missing; empty when unset).
//! - Whether a variable is required is decided by its **first** occurrence: required when that
//!   one has no default text (`${VAR}`, `${VAR:=}`).
//! - `$${...}` is a literal `${...}` (and `$$` a `$`), outside defaults only. `$VAR` without
//!   braces is plain text. `${ VAR }` is read as `${VAR}` (clusterctl's legacy syntax).
//! - Every missing required variable is reported at once, sorted.
//!
//! Other drone/envsubst functions (`${#VAR}`, `${VAR:1}`, `${VAR,,}`, `${VAR/a/b}`, ...) are
//! rejected here: no template of ours uses them.

use std::collections::BTreeMap;
use std::fmt;

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// drone/envsubst's own message for text it cannot parse.
    Parse(&'static str),
    /// A drone/envsubst function this renderer does not implement.
    Unsupported(String),
    /// Required variables without a value, sorted.
    Missing(Vec<String>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse(message) => f.write_str(message),
            Error::Unsupported(what) => write!(f, "unsupported substitution `{what}`"),
            Error::Missing(names) => write!(
                f,
                "value for variables [{}] is not set. Please set the value using os environment \
                 variables or the clusterctl config file",
                names.join(", ")
            ),
        }
    }
}

impl std::error::Error for Error {}

const MISSING_BRACE: &str = "missing closing brace";
const BAD_NAME: &str = "unable to parse variable name";
const BAD_PARAMETER: &str = "unable to parse substitution within function";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text(String),
    /// `${name}` (`default` None) or `${name<op>args}` with a default operator.
    Var {
        name: String,
        default: Option<Vec<Node>>,
    },
}

/// The template's variables: name to default text, `None` for a required variable. The default
/// text is as clusterctl shows it (a nested variable as `${NAME}`).
pub fn variables(template: &str) -> Result<BTreeMap<String, Option<String>>, Error> {
    let nodes = parse(&convert_legacy_variables(template))?;
    Ok(inspect(&nodes))
}

// ANCHOR: render
/// Renders `template` with `values` (a variable present with `""` is set, and empty).
pub fn render(template: &str, values: &BTreeMap<String, String>) -> Result<String, Error> {
    let nodes = parse(&convert_legacy_variables(template))?;
    let missing: Vec<String> = inspect(&nodes)
        .into_iter()
        .filter(|(name, default)| default.is_none() && !values.contains_key(name))
        .map(|(name, _)| name)
        .collect();
    if !missing.is_empty() {
        return Err(Error::Missing(missing));
    }
    let mut out = String::with_capacity(template.len());
    evaluate(&nodes, values, &mut out);
    Ok(out)
}
// ANCHOR_END: render

/// Renders with `NAME=value` pairs: the usual way a test names its variables.
pub fn render_with(template: &str, values: &[(&str, &str)]) -> Result<String, Error> {
    let values = values
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    render(template, &values)
}

/// clusterctl's first occurrence rule: only top-level substitutions are variables, and the first
/// one of each name decides its default.
fn inspect(nodes: &[Node]) -> BTreeMap<String, Option<String>> {
    let mut found = BTreeMap::new();
    for node in nodes {
        if let Node::Var { name, default } = node {
            found.entry(name.clone()).or_insert_with(|| {
                let text: String = default
                    .iter()
                    .flatten()
                    .map(|arg| match arg {
                        Node::Text(text) => text.clone(),
                        Node::Var { name, .. } => format!("${{{name}}}"),
                    })
                    .collect();
                (!text.is_empty()).then_some(text)
            });
        }
    }
    found
}

fn evaluate(nodes: &[Node], values: &BTreeMap<String, String>, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Var { name, default } => {
                let value = values.get(name).map(String::as_str).unwrap_or_default();
                match default {
                    Some(args) if value.is_empty() => evaluate(args, values, out),
                    _ => out.push_str(value),
                }
            }
        }
    }
}

/// clusterctl's legacy syntax: whitespace inside `${ NAME }` is dropped before parsing.
fn convert_legacy_variables(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while let Some(offset) = text[at..].find("${") {
        let start = at + offset;
        let mut cursor = start + 2;
        let leading = skip_while(bytes, &mut cursor, is_go_space);
        let name_start = cursor;
        let name_len = skip_while(bytes, &mut cursor, |b| {
            b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
        });
        let name_end = cursor;
        let trailing = skip_while(bytes, &mut cursor, is_go_space);
        if name_len > 0 && leading + trailing > 0 && bytes.get(cursor) == Some(&b'}') {
            out.push_str(&text[copied..start]);
            out.push_str("${");
            out.push_str(&text[name_start..name_end]);
            out.push('}');
            copied = cursor + 1;
            at = copied;
        } else {
            at = start + 2;
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn is_go_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

fn skip_while(bytes: &[u8], cursor: &mut usize, accept: impl Fn(u8) -> bool) -> usize {
    let start = *cursor;
    while bytes.get(*cursor).is_some_and(|b| accept(*b)) {
        *cursor += 1;
    }
    *cursor - start
}

/// A cursor over the template's characters.
struct Parser {
    chars: Vec<char>,
    at: usize,
}

fn parse(text: &str) -> Result<Vec<Node>, Error> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        at: 0,
    };
    let mut nodes = Vec::new();
    let mut text = String::new();
    while let Some(c) = parser.peek(0) {
        if parser.at_substitution() {
            flush(&mut text, &mut nodes);
            parser.at += 2;
            nodes.push(parser.substitution()?);
        } else if c == '$' && parser.peek(1) == Some('$') {
            // `$$` is one literal `$`; the second one never starts a substitution.
            text.push('$');
            parser.at += 2;
        } else {
            text.push(c);
            parser.at += 1;
        }
    }
    flush(&mut text, &mut nodes);
    Ok(nodes)
}

fn flush(text: &mut String, nodes: &mut Vec<Node>) {
    if !text.is_empty() {
        nodes.push(Node::Text(std::mem::take(text)));
    }
}

impl Parser {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn at_substitution(&self) -> bool {
        self.peek(0) == Some('$') && self.peek(1) == Some('{')
    }

    /// After `${`: a name, then `}` or a default operator and its arguments.
    fn substitution(&mut self) -> Result<Node, Error> {
        if self.peek(0) == Some('#') {
            return Err(Error::Unsupported("${#...} (length)".into()));
        }
        let mut name = String::new();
        while let Some(c) = self.peek(0).filter(|c| c.is_alphanumeric() || *c == '_') {
            name.push(c);
            self.at += 1;
        }
        if name.is_empty() {
            return Err(Error::Parse(BAD_NAME));
        }
        match (self.peek(0), self.peek(1)) {
            (Some('}'), _) => {
                self.at += 1;
                Ok(Node::Var {
                    name,
                    default: None,
                })
            }
            (Some(':'), Some('=' | '-' | '?' | '+')) => {
                self.at += 2;
                self.default_arguments(name)
            }
            (Some('='), _) => {
                self.at += 1;
                self.default_arguments(name)
            }
            (Some(':'), _) => Err(Error::Unsupported(format!("${{{name}:...}} (substring)"))),
            (Some(c @ (',' | '^' | '/' | '#' | '%')), _) => {
                Err(Error::Unsupported(format!("${{{name}{c}...}}")))
            }
            _ => Err(Error::Parse(MISSING_BRACE)),
        }
    }

    /// The default: text (no escapes) and nested substitutions up to the closing `}`.
    fn default_arguments(&mut self, name: String) -> Result<Node, Error> {
        let mut args = Vec::new();
        loop {
            match self.peek(0) {
                Some('}') => {
                    self.at += 1;
                    return Ok(Node::Var {
                        name,
                        default: Some(args),
                    });
                }
                None => return Err(Error::Parse(BAD_PARAMETER)),
                Some(_) if self.at_substitution() => {
                    self.at += 2;
                    args.push(self.substitution()?);
                }
                Some(_) => {
                    let mut text = String::new();
                    while let Some(c) = self.peek(0) {
                        if c == '}' || self.at_substitution() {
                            break;
                        }
                        text.push(c);
                        self.at += 1;
                    }
                    args.push(Node::Text(text));
                }
            }
        }
    }
}

/// Every top-level substitution in order, with its default text (`None`: none): what
/// [`variables`] reduces to the first occurrence of each name.
pub fn occurrences(template: &str) -> Result<Vec<(String, Option<String>)>, Error> {
    let nodes = parse(&convert_legacy_variables(template))?;
    Ok(nodes
        .iter()
        .filter_map(|node| match node {
            Node::Var { name, .. } => {
                let first = inspect(std::slice::from_ref(node));
                Some((name.clone(), first.into_values().next().flatten()))
            }
            Node::Text(_) => None,
        })
        .collect())
}

//! Markdown for a piece of a file: a header naming the file, then a fenced code block.

/// The fence language for a file, from its name.
pub fn language(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("rs") => "rust",
        Some("toml") => "toml",
        Some("yaml" | "yml") => "yaml",
        Some("sh") => "bash",
        Some("json") => "json",
        Some("md") => "markdown",
        Some("cfg") => "text",
        _ if name == "Dockerfile" || name.starts_with("Dockerfile.") => "dockerfile",
        _ if name == "Tiltfile" || name.ends_with(".tiltfile") => "python",
        _ => "text",
    }
}

/// A file-name header and the code in a fence long enough never to clash with the code itself.
pub fn block(display_path: &str, language: &str, code: &str) -> String {
    format!(
        "<div class=\"cp-file\"><code>{display_path}</code></div>\n\n{}",
        block_without_header(language, code)
    )
}

/// Just the fenced code block.
pub fn block_without_header(language: &str, code: &str) -> String {
    let longest_run = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    let code = code.trim_end_matches('\n');
    format!("{fence}{language}\n{code}\n{fence}\n")
}

/// Hides every line outside the focus region, the way mdBook hides Rust lines starting with `# `
/// (the reader can expand them). Takes the file's lines, each flagged with whether it is in focus.
pub fn hide_unfocused(lines: &[(bool, &str)]) -> String {
    let mut out = String::new();
    for (in_focus, line) in lines {
        if *in_focus {
            out.push_str(line);
        } else if line.is_empty() {
            out.push('#');
        } else {
            out.push_str("# ");
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_a_fence_longer_than_any_backtick_run() {
        let md = block("book.md", "markdown", "```rust\nfn x() {}\n```\n");
        assert!(md.contains("\n````markdown\n"));
        assert!(md.ends_with("\n````\n"));
    }

    #[test]
    fn names_the_file_and_the_language() {
        let md = block(
            "checkpoints/01-scaffold/src/lib.rs",
            language("src/lib.rs"),
            "fn x() {}\n",
        );
        assert!(md.starts_with(
            "<div class=\"cp-file\"><code>checkpoints/01-scaffold/src/lib.rs</code></div>"
        ));
        assert!(md.contains("```rust\nfn x() {}\n```"));
    }

    #[test]
    fn hides_lines_outside_the_focus() {
        let lines = [
            (false, "use a;"),
            (false, ""),
            (true, "fn f() {"),
            (true, "    body();"),
            (true, "}"),
        ];
        let hidden = hide_unfocused(&lines);
        assert_eq!(hidden, "# use a;\n#\nfn f() {\n    body();\n}\n");
    }
}

//! A directory listed as `tree -F` lists it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// `dir` as `tree -F` (tree 2) prints it, the root shown as `shown_as`: entries sorted by name
/// (bytewise, as in the C locale), directories with `/` and executables with `*` after the name,
/// and the closing count, which includes the root. tree pads the `│` lines with no-break spaces;
/// this uses plain spaces. Symbolic links are listed by what they point at.
pub fn tree(dir: &Path, shown_as: &str) -> std::io::Result<String> {
    let mut out = format!("{}/\n", shown_as.trim_end_matches('/'));
    let mut counts = (1, 0);
    entries(dir, "", &mut out, &mut counts)?;
    let (dirs, files) = counts;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    out.push_str(&format!(
        "\n{}, {}\n",
        plural(dirs, "directory", "directories"),
        plural(files, "file", "files")
    ));
    Ok(out)
}

fn entries(
    dir: &Path,
    prefix: &str,
    out: &mut String,
    counts: &mut (usize, usize),
) -> std::io::Result<()> {
    let mut children: Vec<(std::ffi::OsString, std::path::PathBuf)> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| (e.file_name(), e.path())))
        .collect::<Result<_, _>>()?;
    children.sort();
    for (index, (name, path)) in children.iter().enumerate() {
        let last = index + 1 == children.len();
        let metadata = std::fs::metadata(path)?;
        let mark = if metadata.is_dir() {
            "/"
        } else if metadata.permissions().mode() & 0o111 != 0 {
            "*"
        } else {
            ""
        };
        let branch = if last { "└── " } else { "├── " };
        out.push_str(&format!(
            "{prefix}{branch}{}{mark}\n",
            name.to_string_lossy()
        ));
        if metadata.is_dir() {
            counts.0 += 1;
            let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
            entries(path, &deeper, out, counts)?;
        } else {
            counts.1 += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_like_tree_dash_f() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for file in [
            "v0.1.0/metadata.yaml",
            "v0.1.0/cluster-template.yaml",
            "v0.1.0/cluster-template-topology.yaml",
            "repo/provider/v0.1.0/metadata.yaml",
            "clusterctl.yaml",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "").expect("write");
        }
        let script = root.join("run.sh");
        std::fs::write(&script, "").expect("write");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        // As `tree -F out` prints it (tree v2.1.0, C.UTF-8), no-break spaces made plain.
        let expected = "\
out/
├── clusterctl.yaml
├── repo/
│   └── provider/
│       └── v0.1.0/
│           └── metadata.yaml
├── run.sh*
└── v0.1.0/
    ├── cluster-template-topology.yaml
    ├── cluster-template.yaml
    └── metadata.yaml

5 directories, 6 files
";
        assert_eq!(tree(root, "out").expect("lists"), expected);
        let one = tempfile::tempdir().expect("temp dir");
        std::fs::write(one.path().join("a"), "").expect("write");
        assert!(
            tree(one.path(), "x/")
                .expect("lists")
                .ends_with("\n1 directory, 1 file\n")
        );
    }
}

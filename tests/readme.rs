//! The README is the newcomer's map: its layout names every top-level entry and every folder
//! of `src/` and `src/server/` that exists, and nothing that does not; its guarantees table
//! names files that exist and tests that do.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

/// The paths the Layout section's code block starts its lines with.
fn layout_entries(readme: &str) -> Vec<String> {
    let section = readme.split("## Layout").nth(1).expect("a Layout section");
    let block = section
        .split("```")
        .nth(1)
        .expect("a code block in the Layout section");
    block
        .lines()
        .skip(1) // the fence's language tag
        .filter(|line| !line.is_empty() && !line.starts_with(' '))
        .map(|line| line.split_whitespace().next().unwrap().to_owned())
        .collect()
}

/// Tracked files (git), or every file when this is not a git checkout.
fn tracked_files() -> Vec<String> {
    let output = std::process::Command::new("git")
        .args(["ls-files"])
        .current_dir(root())
        .output()
        .expect("git ls-files");
    assert!(output.status.success(), "git ls-files failed");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The folders directly under `dir` that hold tracked files, as `dir/name/`.
fn folders_under(files: &[String], dir: &str) -> BTreeSet<String> {
    files
        .iter()
        .filter_map(|file| file.strip_prefix(dir))
        .filter_map(|rest| rest.split_once('/'))
        .map(|(folder, _)| format!("{dir}{folder}/"))
        .collect()
}

#[test]
fn the_readme_layout_names_what_exists_and_every_folder_that_does() {
    let entries = layout_entries(&readme());
    let files = tracked_files();
    for entry in &entries {
        let path = entry.trim_end_matches('/');
        assert!(
            files
                .iter()
                .any(|file| file == path || file.starts_with(&format!("{path}/"))),
            "README's layout names {entry}, which is not in the repository"
        );
    }
    // An entry names a folder itself (`src/`) or a file in it (`.ci/run`).
    let listed = |wanted: &str| {
        entries.iter().any(|entry| {
            entry.trim_end_matches('/') == wanted.trim_end_matches('/')
                || (wanted.ends_with('/') && entry.starts_with(wanted))
        })
    };
    let mut missing: Vec<String> = files
        .iter()
        .map(|file| match file.split_once('/') {
            Some((top, _)) => format!("{top}/"),
            None => file.clone(),
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|top| !listed(top))
        .collect();
    // src/ and src/server/ are where a newcomer looks first: each of their folders is named,
    // alone or in the line of its parent.
    let text = readme();
    for folder in folders_under(&files, "src/")
        .into_iter()
        .chain(folders_under(&files, "src/server/"))
    {
        let name = folder
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        if !listed(&folder) && !text.contains(&format!("{name}/")) {
            missing.push(folder);
        }
    }
    assert!(
        missing.is_empty(),
        "README's layout does not name {missing:?}"
    );
}

/// `name` is defined as a test function somewhere in the repository's Rust files.
fn test_exists(files: &[String], name: &str) -> bool {
    files
        .iter()
        .filter(|file| file.ends_with(".rs"))
        .any(|file| {
            std::fs::read_to_string(root().join(file))
                .map(|source| source.contains(&format!("fn {name}(")))
                .unwrap_or(false)
        })
}

#[test]
fn every_guarantee_in_the_readme_names_a_file_and_a_test_that_exist() {
    let text = readme();
    let files = tracked_files();
    let table = text
        .split("## Never charged twice")
        .nth(1)
        .and_then(|section| section.split("\n## ").next())
        .expect("the guarantees section");
    let rows: Vec<&str> = table
        .lines()
        .filter(|line| line.starts_with("| ") && line.contains('`'))
        .collect();
    assert!(
        rows.len() >= 10,
        "the guarantees table has {} rows",
        rows.len()
    );
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (where_, tests) = (cells[2], cells[3]);
        let quoted = |cell: &str| -> Vec<String> {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect()
        };
        for path in quoted(where_) {
            assert!(
                Path::new(&root().join(&path)).exists(),
                "the README names {path}, which does not exist"
            );
        }
        let names = quoted(tests);
        assert!(!names.is_empty(), "a guarantee without a test: {row}");
        for name in names {
            assert!(
                test_exists(&files, &name),
                "the README names the test {name}, which does not exist"
            );
        }
    }
}

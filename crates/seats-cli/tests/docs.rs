//! The docs match the repository and the binary: every relative link in README.md,
//! CONTRIBUTING.md and `docs/` names a file that exists (and a heading of it, for a `#…`
//! link), and every `seats …` command in a shell block (```sh) names a subcommand the binary
//! has, with flags its `--help` lists.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// README.md, CONTRIBUTING.md and every page of docs/.
fn pages() -> Vec<PathBuf> {
    let root = repo();
    let mut out = vec![root.join("README.md"), root.join("CONTRIBUTING.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// GitHub's anchor for a heading: lowercase, spaces to hyphens, other punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.push(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// `(target, line)` of every Markdown link `[text](target)` outside code blocks and spans.
fn links(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut in_code = false;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Drop code spans, whose brackets are not links.
        let plain: String = line.split('`').step_by(2).collect::<Vec<_>>().join("");
        let mut rest = plain.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push((after[..end].to_owned(), n + 1));
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (target, line) in links(&text) {
            if target.starts_with("http://") || target.starts_with("https://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let path = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            let at = format!("{}:{line}: {target}", page.strip_prefix(repo()).unwrap().display());
            if !path.exists() {
                broken.push(format!("{at}: no such file"));
                continue;
            }
            if !fragment.is_empty() && path.extension().is_some_and(|e| e == "md") {
                let headings = anchors(&std::fs::read_to_string(&path).unwrap());
                if !headings.iter().any(|h| h == fragment) {
                    broken.push(format!("{at}: no heading #{fragment} (has {headings:?})"));
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} links found");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// The words of every `seats …` command line in the docs' shell blocks, with where it is.
/// `cargo run --release -- …` counts as `seats …`; continued lines (`\`) are joined; a
/// trailing comment or `&` is dropped.
fn commands() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let mut in_sh = false;
        let mut joined = String::new();
        let mut start = 0;
        for (n, line) in text.lines().enumerate() {
            if line.starts_with("```") {
                in_sh = line.trim() == "```sh";
                continue;
            }
            if !in_sh {
                continue;
            }
            if joined.is_empty() {
                start = n + 1;
            }
            let line = line.split(" #").next().unwrap();
            if let Some(head) = line.strip_suffix('\\') {
                joined.push_str(head);
                joined.push(' ');
                continue;
            }
            joined.push_str(line);
            let command = std::mem::take(&mut joined);
            let command = command.trim().trim_end_matches('&').trim();
            let command = command.strip_prefix("$ ").unwrap_or(command);
            let words = if let Some(rest) = command.strip_prefix("cargo run --release -- ") {
                rest
            } else if let Some(rest) = command.strip_prefix("seats ") {
                rest
            } else {
                continue;
            };
            let at = format!("{}:{start}", page.strip_prefix(repo()).unwrap().display());
            out.push((at, words.split_whitespace().map(str::to_owned).collect()));
        }
    }
    out
}

#[test]
fn every_command_in_the_docs_is_one_the_binary_has() {
    let mut help: BTreeMap<Vec<String>, Option<String>> = BTreeMap::new();
    let mut help_of = |path: &[String]| -> Option<String> {
        help.entry(path.to_vec())
            .or_insert_with(|| {
                let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
                args.push("--help");
                let out = common::seats().args(&args).output().unwrap();
                out.status
                    .success()
                    .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
            })
            .clone()
    };
    let commands = commands();
    assert!(
        commands.len() >= 10,
        "only {} commands found: {commands:?}",
        commands.len()
    );
    let mut wrong = Vec::new();
    for (at, words) in &commands {
        // The subcommand: the longest run of leading words the binary knows as one.
        let mut path: Vec<String> = Vec::new();
        for word in words.iter().take_while(|w| !w.starts_with('-')) {
            let mut longer = path.clone();
            longer.push(word.clone());
            let known = help_of(&path).is_some_and(|h| {
                h.lines()
                    .skip_while(|l| !l.starts_with("Commands:"))
                    .skip(1)
                    .take_while(|l| l.starts_with("  "))
                    .any(|l| l.split_whitespace().next() == Some(word.as_str()))
            });
            if !known {
                break;
            }
            path = longer;
        }
        if path.is_empty() {
            wrong.push(format!("{at}: `seats {}`: no such subcommand", words.join(" ")));
            continue;
        }
        let text = help_of(&path).unwrap();
        for flag in words.iter().filter(|w| w.starts_with("--")) {
            let flag = flag.split('=').next().unwrap();
            let listed = text
                .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']' || c == '<')
                .any(|w| w == flag);
            if !listed {
                wrong.push(format!("{at}: `seats {}` has no flag {flag}", path.join(" ")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "commands the binary does not have:\n{}",
        wrong.join("\n")
    );
}

/// The checks above find what they should: a planted broken link and an unknown flag.
#[test]
fn the_checks_catch_what_they_look_for() {
    let text = "See [a](missing.md) and `[not](a-link)`.\n```sh\nseats serve --no-such-flag\n```\n";
    assert_eq!(links(text), vec![("missing.md".to_owned(), 1)]);
    assert_eq!(anchor("Several nodes on PostgreSQL"), "several-nodes-on-postgresql");
    assert_eq!(anchor("`seats serve`: flags"), "seats-serve-flags");
    let out = common::seats().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--listen"), "{help}");
    assert!(!help.split_whitespace().any(|w| w == "--no-such-flag"));
}

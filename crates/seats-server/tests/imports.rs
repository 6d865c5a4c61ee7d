//! No import circles between modules, in any crate of the workspace.
//!
//! Every `crate::…`, `super::…` and `self::…` path in a crate's `src/` is resolved to the
//! module it names; a reference from module A to module B is an edge between the two children
//! of their closest common ancestor that hold them (`routes/users.rs` naming `crate::openapi`
//! is an edge `routes → openapi`; `dashboard/page.rs` naming `super::session`, one
//! `page → session`). A parent naming its children and a child naming its parent are not
//! edges: that is what a module is. Any circle among those edges is a failure, printed with
//! the references that make it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`["routes", "users"]`) of each `.rs` file under `src`.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                parts.pop();
            }
            out.insert(parts, path);
        }
    }
    out
}

/// The code of a file without comments and string literals, so paths in them do not count.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// Every path that starts at `crate`, `super` or `self`, with `use` groups expanded:
/// `use crate::{a, b::{c, d}}` gives `crate::a`, `crate::b::c`, `crate::b::d`.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_' || bytes[i - 1] == ':');
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let head = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|h| rest.starts_with(h));
        if let (true, Some(_)) = (starts_word, head) {
            let (found, end) = expand(&bytes, i);
            out.extend(found);
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// Reads a path (with `{…}` groups) starting at `i`; returns its expansions and where it ended.
fn expand(chars: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    let mut word = String::new();
    loop {
        match chars.get(i) {
            Some(c) if c.is_alphanumeric() || *c == '_' => word.push(*c),
            Some(':') if chars.get(i + 1) == Some(&':') => {
                prefix.push(std::mem::take(&mut word));
                i += 1;
            }
            Some('{') if word.is_empty() => {
                let mut all = Vec::new();
                i += 1;
                loop {
                    while chars.get(i).is_some_and(|c| c.is_whitespace() || *c == ',') {
                        i += 1;
                    }
                    if chars.get(i).is_none_or(|c| *c == '}') {
                        break;
                    }
                    let (inner, end) = expand(chars, i);
                    for tail in inner {
                        all.push(prefix.iter().cloned().chain(tail).collect());
                    }
                    // Skip an `as name` or a glob after the item.
                    i = end;
                    while chars.get(i).is_some_and(|c| *c != ',' && *c != '}') {
                        i += 1;
                    }
                }
                return (all, i + 1);
            }
            _ => {
                if !word.is_empty() {
                    prefix.push(word);
                }
                return (vec![prefix], i);
            }
        }
        i += 1;
    }
}

/// The module a path names, resolved from module `from`: its longest prefix that is a module.
fn target(from: &[String], path: &[String], known: &BTreeMap<Vec<String>, PathBuf>) -> Option<Vec<String>> {
    let mut at: Vec<String> = Vec::new();
    let mut parts = path.iter().peekable();
    match parts.peek().map(|s| s.as_str()) {
        Some("crate") => {
            parts.next();
        }
        Some("self" | "super") => {
            at = from.to_vec();
            while let Some(p) = parts.peek() {
                match p.as_str() {
                    "self" => {}
                    "super" => {
                        at.pop()?;
                    }
                    _ => break,
                }
                parts.next();
            }
        }
        _ => return None,
    }
    for p in parts {
        let mut next = at.clone();
        next.push(p.clone());
        if !known.contains_key(&next) {
            break;
        }
        at = next;
    }
    Some(at)
}

/// Circles among the edges, as lists of modules, each found once.
fn circles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    let mut found = BTreeSet::new();
    for start in edges.keys() {
        // Depth-first search for a path back to `start` through modules greater than it, so
        // each circle is reported from its smallest module only.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((node, path)) = stack.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if next == start {
                    found.insert(path.clone());
                } else if next > start && !path.contains(next) && path.len() < 8 {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    found.into_iter().collect()
}

fn check_crate(src: &Path) -> Vec<String> {
    let known = modules(src);
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut why: BTreeMap<(Vec<String>, Vec<String>), String> = BTreeMap::new();
    for (module, file) in &known {
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        for path in paths(&code) {
            let Some(to) = target(module, &path, &known) else {
                continue;
            };
            let common = module.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common == module.len() || common == to.len() {
                continue; // an ancestor or a descendant
            }
            let (a, b) = (module[..=common].to_vec(), to[..=common].to_vec());
            why.entry((a.clone(), b.clone()))
                .or_insert_with(|| format!("{} names {}", file.display(), path.join("::")));
            edges.entry(a).or_default().insert(b);
        }
    }
    circles(&edges)
        .into_iter()
        .map(|circle| {
            let mut text = circle.iter().map(|m| m.join("::")).collect::<Vec<_>>().join(" → ");
            text.push_str(" → back");
            for (i, a) in circle.iter().enumerate() {
                let b = &circle[(i + 1) % circle.len()];
                text.push_str(&format!("\n    {}", why[&(a.clone(), b.clone())]));
            }
            text
        })
        .collect()
}

#[test]
fn no_crate_has_an_import_circle_between_its_modules() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(crates).unwrap() {
        let src = entry.unwrap().path().join("src");
        if src.is_dir() {
            checked += 1;
            for circle in check_crate(&src) {
                failures.push(format!("{}: {circle}", src.display()));
            }
        }
    }
    assert!(checked >= 7, "found only {checked} crates under {}", crates.display());
    assert!(failures.is_empty(), "import circles:\n{}", failures.join("\n"));
}

/// The checker itself finds a circle it is shown, and resolves `super` and groups.
#[test]
fn the_checker_finds_a_planted_circle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod a; mod b; use crate::a::x;").unwrap();
    std::fs::write(src.join("a/mod.rs"), "mod inner; pub fn x() {}").unwrap();
    std::fs::write(
        src.join("a/inner.rs"),
        "// crate::b::y in a comment does not count\nuse super::super::{b::{y, z}};",
    )
    .unwrap();
    std::fs::write(src.join("b.rs"), "pub fn y() { let s = \"crate::a\"; crate::a::x() }").unwrap();
    let found = check_crate(src);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("a → b → back"), "{}", found[0]);
    assert!(found[0].contains("inner.rs names super::super::b::y"), "{}", found[0]);
    assert!(found[0].contains("b.rs names crate::a::x"), "{}", found[0]);

    // Without b's reference back, there is no circle.
    std::fs::write(src.join("b.rs"), "pub fn y() {}").unwrap();
    assert!(check_crate(src).is_empty());
}

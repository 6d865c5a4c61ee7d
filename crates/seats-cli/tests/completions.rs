//! `seats completions` and `seats man`, generated from the CLI definition: the bash script is
//! loaded into a real bash and asked to complete, the man pages are checked for the
//! commands and flags the parser knows.

mod common;

use std::process::Command;

use common::*;

/// What the bash completion offers for `words`, the last one being completed.
fn complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let current = words.last().unwrap();
    let previous = words[words.len() - 2];
    let program = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _seats seats '{current}' '{previous}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        words.join(" "),
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .expect("bash");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_bash_completion_completes_commands_and_flags() {
    let out = run_with(&["completions", "bash"], &[], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("seats.bash");
    std::fs::write(&script, &out.stdout).unwrap();

    let top = complete(&script, &["seats", ""]);
    for command in [
        "serve",
        "edit",
        "users",
        "idp",
        "admin",
        "export",
        "import",
        "completions",
        "man",
    ] {
        assert!(top.iter().any(|c| c == command), "{command} in {top:?}");
    }
    assert_eq!(complete(&script, &["seats", "serve", "--li"]), ["--listen"]);
    assert_eq!(complete(&script, &["seats", "idp", "cr"]), ["create"]);
    let flags = complete(&script, &["seats", "idp", "create", "--s"]);
    assert!(
        flags.contains(&"--scim".to_owned()) && flags.contains(&"--seat-deprovision".to_owned()),
        "{flags:?}"
    );
    assert_eq!(complete(&script, &["seats", "completions", "z"]), ["zsh"]);
}

#[test]
fn zsh_fish_and_the_man_pages_come_from_the_same_definition() {
    let zsh = run_with(&["completions", "zsh"], &[], None);
    assert_eq!(zsh.code, Some(0));
    assert!(zsh.stdout.starts_with("#compdef seats"), "{}", zsh.stdout);
    assert!(zsh.stdout.contains("--rate-limit"));
    let fish = run_with(&["completions", "fish"], &[], None);
    assert_eq!(fish.code, Some(0));
    assert!(fish.stdout.contains("complete -c seats"), "{}", fish.stdout);
    let bad = run_with(&["completions", "powershell"], &[], None);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);

    let page = run_with(&["man"], &[], None);
    assert_eq!(page.code, Some(0));
    assert!(page.stdout.contains(".TH seats 1"), "{}", page.stdout);
    assert!(page.stdout.contains("seats\\-serve(1)"), "{}", page.stdout);

    let dir = tempfile::tempdir().unwrap();
    let out = run_with(&["man", "--out-dir", dir.path().to_str().unwrap()], &[], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let serve = std::fs::read_to_string(dir.path().join("seats-serve.1")).unwrap();
    for flag in ["\\-\\-listen", "\\-\\-operator\\-key", "\\-\\-max\\-connections"] {
        assert!(serve.contains(flag), "{flag} in seats-serve.1");
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"seats-idp-create.1".to_owned()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.contains("-help")),
        "no pages for clap's help: {names:?}"
    );
}

//! House rules checked on the source tree: the numerical core does not
//! depend on the surface syntax, and marks of missing work explain
//! themselves.

use crate::common::repo_path;

fn rust_files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(repo_path(dir))];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The code of a file before its unit tests.
fn non_test_code(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[test]
fn graph_eval_and_optim_do_not_depend_on_the_syntax() {
    for dir in ["src/graph", "src/eval", "src/optim"] {
        for f in rust_files(dir) {
            let code = non_test_code(&f);
            assert!(
                !code.contains("crate::syntax"),
                "{} uses the syntax module",
                f.display()
            );
        }
    }
}

#[test]
fn todo_marks_say_what_is_missing() {
    // A mark is `TODO:` followed by a sentence, never a bare `TODO`.
    for f in rust_files("src") {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if let Some(i) = line.find("TODO") {
                let rest = &line[i + 4..];
                assert!(
                    rest.starts_with(": ") && rest.len() > 20,
                    "{}:{}: bare TODO",
                    f.display(),
                    n + 1
                );
            }
            assert!(
                !line.contains("FIXME") && !line.contains("XXX") && !line.contains("dbg!("),
                "{}:{}",
                f.display(),
                n + 1
            );
        }
    }
}

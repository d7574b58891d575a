//! The REPL core driven directly: input lines in, a transcript out. Each
//! input is echoed after `> `, followed by what it printed on standard
//! output and then on standard error, so a snapshot reads like a session.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use nll::repl::complete::candidates;
use nll::repl::lexer::is_unfinished;
use nll::repl::Session;

use crate::common::repo_path;

/// A new session whose relative paths start at the repository root.
fn session() -> Session {
    Session::in_dir(Some(repo_path("").into()))
}

/// Feeds `script` to `session` line by line, as piped input is fed (a
/// statement that is not finished takes the next line too). Returns the
/// transcript and whether any input failed.
fn feed(session: &mut Session, script: &str) -> (String, bool) {
    let mut transcript = String::new();
    let mut failed = false;
    let mut done = Vec::new();
    for line in script.lines() {
        done.extend(session.feed_line(line));
    }
    done.extend(session.finish());
    for (input, reply) in done {
        for (i, l) in input.lines().enumerate() {
            transcript.push_str(if i == 0 { "> " } else { "  " });
            transcript.push_str(l);
            transcript.push('\n');
        }
        transcript.push_str(&reply.out);
        transcript.push_str(&reply.err);
        failed |= reply.failed;
    }
    (transcript.replace(&repo_path(""), "<repo>/"), failed)
}

/// A fresh session after `script`, which must not fail.
fn session_after(script: &str) -> Session {
    let mut s = session();
    let (transcript, failed) = feed(&mut s, script);
    assert!(!failed, "{transcript}");
    s
}

/// Runs `script` in a fresh session and snapshots the transcript.
fn check_session(name: &str, script: &str) -> bool {
    let (transcript, failed) = feed(&mut session(), script);
    assert!(!transcript.contains("panicked"), "{transcript}");
    insta::assert_snapshot!(name, crate::common::redact_rounding(&transcript));
    failed
}

/// A fresh directory under the system's temporary directory.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nll-repl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// The heteroscedastic Engel model, one statement per input, as in
/// `examples/engel_heteroscedastic.nll`.
const ENGEL: &str = "\
:data examples/data/engel.csv
data income, foodexp
param b0, b1, g0, g1
mu(x) = b0 + b1 * x
sigma(x) = exp(g0 + g1 * log(x))
foodexp ~ Normal(mu(income),
                 sigma(income))
";

#[test]
fn heteroscedastic_model_built_statement_by_statement_and_fitted() {
    // The estimates are those of
    // `nll fit examples/engel_heteroscedastic.nll --data examples/data/engel.csv`.
    let script = format!(
        "{ENGEL}\
:nll
:fit
:params
b1 * 1000
sigma(income)
foodexp - mu(income)
:nll
"
    );
    assert!(!check_session("engel_heteroscedastic", &script));
}

#[test]
fn a_refit_starts_from_an_estimate_at_its_bound() {
    // `a > 0.5` has its maximum at the bound: its estimate rounds to 0.5
    // itself, and the next fit starts from the estimates.
    let mut s = session_after(":load tests/fixtures/bound_binds.nll\n:data tests/fixtures/xy.csv");
    let first = s.process(":fit");
    assert!(
        format!("{}{}", first.out, first.err).contains("edge of its constraint"),
        "{first:?}"
    );
    for command in [":params", ":fit"] {
        let reply = s.process(command);
        assert!(!reply.failed, "{command}: {reply:?}");
    }
}

#[test]
fn repl_fit_equals_the_command_line_fit() {
    let mut s = session_after(ENGEL);
    let reply = s.process(":fit");
    let cli = crate::common::fit_example("engel_heteroscedastic.nll", "engel.csv", &[]);
    assert_eq!(reply.out, cli.to_text());
}

#[test]
fn an_error_leaves_the_session_as_it_was() {
    let script = format!(
        "{ENGEL}\
:model
:set b0 = 50
# An unknown name in the new statement:
foodexp ~ Normal(mu(income), sigm(income))
# A redefinition that breaks a statement typed before:
mu(x, z) = b0 + b1 * x
# An error in the data:
data hh
# A new constraint, which keeps the other values; then a bad number:
param g1 > 0
:set b0 = 1e
:model
:params
:fit
"
    );
    assert!(check_session("error_leaves_state", &script));
}

#[test]
fn redefinition_replaces_the_old_definition() {
    let script = "\
data x, y
param a, b, s
y ~ Normal(a + b * x, s)
param s > 0
mu(x) = a + b * x
mu(x) = a + b * x^2
y ~ Normal(mu(x), s)
const k = 2
const k = 3
:model
:drop b
:drop k
:drop y ~
:model
";
    // `:drop b` fails: `mu` uses it.
    assert!(check_session("redefinition", script));
}

#[test]
fn save_then_load_gives_the_same_model() {
    let dir = scratch_dir("save");
    let mut first = Session::in_dir(Some(dir.clone()));
    let model = repo_path("examples/engel_heteroscedastic.nll");
    let data = repo_path("examples/data/engel.csv");
    let (_, failed) = feed(
        &mut first,
        &format!(":load {model}\n:data {data}\nparam g1 = 1\n:save saved.nll\n"),
    );
    assert!(!failed);
    let saved = std::fs::read_to_string(dir.join("saved.nll")).unwrap();
    assert!(
        saved.ends_with("= 1\n"),
        "a text file ends its last line: {saved:?}"
    );
    // No temporary file is left next to it.
    let n_files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(n_files, 1);

    let mut second = Session::in_dir(Some(dir.clone()));
    let (_, failed) = feed(&mut second, &format!(":load saved.nll\n:data {data}\n"));
    assert!(!failed);
    assert_eq!(first.model_text(), second.model_text());
    assert_eq!(first.process(":fit").out, second.process(":fit").out);
    insta::assert_snapshot!("saved_model", second.model_text());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn completion_offers_declared_names_and_columns() {
    let s = session_after(":data examples/data/engel.csv\ndata income\nparam b0, b1\n");
    let names = s.names();
    // `foodexp` is a column of the file, not declared yet.
    assert_eq!(
        candidates("y ~ Normal(b0 + b1 * inc", 24, &names),
        (21, vec!["income".to_string()])
    );
    assert_eq!(
        candidates("data food", 9, &names),
        (5, vec!["foodexp".to_string()])
    );
    assert_eq!(candidates("b", 1, &names).1, vec!["b0", "b1"]);
    assert_eq!(candidates(":d", 2, &names).1, vec![":data", ":drop"]);
    assert_eq!(
        candidates("y ~ Gam", 7, &names).1,
        vec!["Gamma".to_string()]
    );
}

#[test]
fn unfinished_statements_continue_on_the_next_line() {
    for text in [
        "y ~ Normal(mu,",
        "mu = a +",
        "param a,",
        "data X = [age,\n bmi",
        "y ~ Normal(mu(x),   # a comment\n",
    ] {
        assert!(is_unfinished(text), "{text:?}");
    }
    for text in [
        "y ~ Normal(mu, s)",
        "mu = a + b # ends with +",
        ":set a = (",
        "",
        "# comment",
        "mu = a\n- b",
    ] {
        assert!(!is_unfinished(text), "{text:?}");
    }
}

#[test]
fn bad_input_is_reported_without_panicking() {
    let script = r"
# a comment alone
:set a = 1
:set = 1
y ~ Normal(
:load tests/fixtures/no_such_model.nll
:data tests/fixtures/no_such_data.csv
:fit
:nll
:frobnicate
:save
data x, y
x + 1
:data tests/fixtures/bad_cells.csv
param a, s > 0
y ~ Normal(a * x, s)
:set a = 2 # a comment
a * 3
:load tests/fixtures/parse_error.nll
:model
:save /nonexistent-nll-dir/model.nll
:reset
data g: factor
:params
:model
";
    assert!(check_session("bad_input", script));
}

#[test]
fn a_cancelled_fit_changes_nothing() {
    let mut s = session_after(ENGEL);
    // What Ctrl-C does during a fit: the optimizer stops at its next
    // iteration.
    s.cancel_flag().cancel();
    let reply = s.process(":fit");
    assert!(reply.failed);
    insta::assert_snapshot!("cancelled_fit", reply.err);
    assert!(s.process(":params").out.contains("(start values)"));
}

/// Runs `nll repl ARGS` with `script` on standard input; returns the exit
/// code and the output.
fn run_piped(args: &[&str], script: impl AsRef<[u8]>) -> (i32, String) {
    use std::io::Write;
    let home = scratch_dir("home");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nll"))
        .arg("repl")
        .args(args)
        .current_dir(repo_path(""))
        .env("NO_COLOR", "1")
        .env("HOME", &home)
        .env("XDG_STATE_HOME", &home)
        .env("NLL_HISTORY", home.join("history"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the nll binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_ref())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    // Piped input keeps no history.
    assert!(!home.join("history").exists());
    let _ = std::fs::remove_dir_all(&home);
    let text = format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A script line that is not UTF-8 (a Latin-1 comment) fails alone, with
/// its line and column; the lines after it run, and a byte-order mark and
/// CRLF line ends are read as a model file's are.
#[test]
fn a_script_line_that_is_not_utf8_fails_alone() {
    let mut script = "\u{feff}data income, foodexp\r\nparam b0, b1, s > 0\r\n"
        .as_bytes()
        .to_vec();
    script.extend(b"# caf\xe9\n");
    script.extend(b"foodexp ~ Normal(b0 + b1 * income, s)\n:data examples/data/engel.csv\n:fit\n");
    let (code, text) = run_piped(&[], script);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("error[E001]: input line 3 is not UTF-8 text (at column 6)"),
        "{text}"
    );
    assert!(text.contains("converged"), "{text}");
    assert_eq!(text.matches("error[").count(), 1, "{text}");

    // A later error keeps the script's line number, the skipped line
    // counted.
    let mut script = b"data x\n# caf\xe9\n1 +\n".to_vec();
    script.extend(b"x ^\n");
    let (code, text) = run_piped(&[], script);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("<repl>:4:"), "{text}");
}

#[test]
fn piped_script_runs_without_prompt_and_sets_the_exit_code() {
    let (code, text) = run_piped(
        &[
            "examples/engel_heteroscedastic.nll",
            "--data",
            "examples/data/engel.csv",
        ],
        "b1\n:fit\nb1\n",
    );
    assert_eq!(code, 0, "{text}");
    insta::assert_snapshot!("piped_clean", crate::common::redact_rounding(&text));

    let (code, text) = run_piped(&[], "data x\nx ~ Normal(m, 1)\nparam m\n");
    assert_eq!(code, 1, "{text}");
    insta::assert_snapshot!("piped_failing", text);
}

#[test]
fn explain_and_compile_print_what_the_command_line_prints() {
    let mut s = session_after(":load tests/fixtures/linear.nll\n:data tests/fixtures/xy.csv\n");
    let explain = s.process(":explain");
    let compile = s.process(":compile");
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_nll"))
            .args(args)
            .current_dir(repo_path(""))
            .output()
            .expect("the nll binary runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(explain.out, cli(&["explain", "tests/fixtures/linear.nll"]));
    assert_eq!(
        compile.out,
        cli(&[
            "compile",
            "tests/fixtures/linear.nll",
            "--data",
            "tests/fixtures/xy.csv"
        ])
    );
}

#[test]
fn help_lists_every_command() {
    let help = session().process(":help").out;
    for cmd in nll::repl::commands::COMMANDS {
        assert!(help.contains(cmd.name), "{} missing from :help", cmd.name);
    }
}

#[test]
fn vectors_and_factors_by_element() {
    let script = "\
data g: factor
data y
param u[g]
:params
:data tests/fixtures/groups.csv
param s > 0
y ~ Normal(u[g], s)
:params
:set u = 2
:set u[south] = 3.5
u[g]
:nll
:grad
:set u[east] = 1
u
:fit
u[2] - u[1]
u[south] - u[north]
";
    // In expressions an element of `u[g]` is picked by its number, not by
    // the name of its level: the last line fails.
    assert!(check_session("vectors_and_factors", script));
}

#[test]
fn data_is_read_again_by_data() {
    let dir = scratch_dir("reload");
    std::fs::write(dir.join("d.csv"), "x\n1\n2\n").unwrap();
    let mut s = Session::in_dir(Some(dir.clone()));
    let (_, failed) = feed(&mut s, ":data d.csv\ndata x\nparam m\n");
    assert!(!failed);
    assert_eq!(
        s.process("x").out,
        "n = 2  mean = 1.500000  sd = 0.7071068  min = 1.000000  max = 2.000000\n"
    );
    std::fs::write(dir.join("d.csv"), "x\n5\n").unwrap();
    // A statement that asks for no new column keeps the loaded rows.
    assert!(!s.process("x ~ Normal(m, 1)").failed);
    assert_eq!(
        s.process("x").out,
        "n = 2  mean = 1.500000  sd = 0.7071068  min = 1.000000  max = 2.000000\n"
    );
    assert!(!s.process(":data d.csv").failed);
    assert_eq!(
        s.process("x").out,
        "n = 1  mean = 5.000000  sd = 0.000000  min = 5.000000  max = 5.000000\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_warning_is_shown_once_with_all_its_labels() {
    let script = "\
:data tests/fixtures/xy.csv
data x, y
param a, b, s
y ~ Normal(a + b * x, s)
const k = 1
param s > 0
";
    assert!(!check_session("warning_once", script));
}

/// A warning whose cause is removed and then brought back is shown again.
#[test]
fn a_warning_comes_back_with_its_cause() {
    let mut s = session();
    let (transcript, failed) = feed(
        &mut s,
        "data y\nparam m, s\ny ~ Normal(m, s)\nparam s > 0\nparam s\n",
    );
    assert!(!failed, "{transcript}");
    assert_eq!(
        transcript.matches("warning[W202]").count(),
        2,
        "{transcript}"
    );
}

#[test]
fn dropping_a_name_still_in_use_says_where_and_changes_nothing() {
    let mut s = session_after(
        "data x, y\nparam b0, b1, s > 0\nmu(x) = b0 + b1 * x\ny ~ Normal(mu(x), s)\n",
    );
    let before = s.model_text();
    // Refused with E007 at the use, not "unknown name", and no change.
    let mut refused = |command: &str, expected: &str| {
        let reply = s.process(command);
        assert!(reply.failed);
        assert!(reply.err.contains(expected), "{}", reply.err);
        assert!(reply.err.contains("still used here"), "{}", reply.err);
        assert!(!reply.err.contains("E201"), "{}", reply.err);
        assert!(!reply.err.contains("Did you mean"), "{}", reply.err);
        s.model_text()
    };
    let after = refused(
        ":drop b0",
        "error[E007]: cannot drop `b0`: it is used at <model>:3:9",
    );
    assert_eq!(after, before);
    // A function in use, too.
    let after = refused(":drop mu", "cannot drop `mu`: it is used at <model>:4:12");
    assert_eq!(after, before);
    // Once nothing uses it, it goes.
    assert!(!s.process("mu(x) = b1 * x").failed);
    assert!(!s.process(":drop b0").failed);
    assert!(!s.model_text().contains("b0"));
}

#[test]
fn a_value_outside_its_constraint_is_marked_from_its_first_character() {
    let mut s = session();
    let (text, failed) = feed(
        &mut s,
        "data x, y\nparam s > 0\ny ~ Normal(x, s)\n:set s = -0.5\n",
    );
    assert!(failed);
    // `:set s = -0.5`: the value starts at column 10.
    assert!(text.contains("<repl>:4:10"), "{text}");
}

/// `:nll` is the data's NLL, as the fit report's; with a prior, the sum a
/// fit minimises is shown beside it. At a = 0.5 on the Engel rows with a
/// Normal(0, 1) prior on a, the two differ by -log N(0.5; 0, 1) =
/// 0.125 + log(2 pi) / 2.
#[test]
fn nll_is_the_data_s_and_the_sum_with_priors_is_shown_beside_it() {
    let script = "data income, foodexp\nparam a, s > 0\nfoodexp ~ Normal(a * income, s)\n\
                  :data examples/data/engel.csv\n:set a = 0.5\n:set s = 100\n:nll\n\
                  a ~ Normal(0, 1)\n:nll\n";
    let (code, text) = run_piped(&[], script);
    assert_eq!(code, 0, "{text}");
    let values: Vec<f64> = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("nll = ")
                .or(l.strip_prefix("nll + priors = "))
        })
        .map(|v| v.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(values.len(), 3, "{text}");
    // the data's NLL is the same with and without the prior
    assert_eq!(values[0], values[1], "{text}");
    let prior = 0.125 + 0.5 * (2.0 * std::f64::consts::PI).ln();
    // printed to 7 significant digits
    assert!(
        (values[2] - values[1] - prior).abs() < 1e-6 * values[2],
        "{text}"
    );
}

/// `:save` refuses the loaded data file (the model is saved over it
/// otherwise); saving onto the model file itself is allowed.
#[test]
fn save_does_not_replace_the_data_file() {
    let dir = scratch_dir("save-over-data");
    let data = dir.join("d.csv");
    std::fs::copy(repo_path("examples/data/engel.csv"), &data).unwrap();
    let before = std::fs::read_to_string(&data).unwrap();
    let script = format!(
        "data income, foodexp\n:data {}\n:save {}\n",
        data.display(),
        data.display()
    );
    let (code, text) = run_piped(&[], script);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("one of the files this command reads"),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&data).unwrap(), before);
    let _ = std::fs::remove_dir_all(&dir);
}

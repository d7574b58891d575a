//! `nll fit --plot DIR`: the figures exist, are well-formed SVG with their
//! axis labels, and degenerate fits still get figures instead of a panic.

use std::path::{Path, PathBuf};

use crate::cli::run;

/// A fresh directory under the system's temporary folder for one test;
/// `sub` below it does not exist yet, so `--plot` must create it.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nll-plots-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("figures")
}

/// Runs `nll fit ARGS --plot DIR`, checks that the fit ran (exit 0, or 4 for
/// a degenerate fit; 1 would be a failure to write) and did not panic, and returns
/// the names of the files in DIR, sorted.
fn check_plots(test: &str, args: &[&str]) -> (PathBuf, Vec<String>) {
    let dir = scratch_dir(test);
    let dir_text = dir.display().to_string();
    let mut all = vec!["fit"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--plot", &dir_text]);
    let text = run(&all);
    assert!(
        text.starts_with("exit: 0") || text.starts_with("exit: 4"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir_text}: {e}\n{text}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    for f in &files {
        assert_well_formed(&dir.join(f));
    }
    (dir, files)
}

/// An SVG document: one `<svg>` root, every tag closed in order.
fn assert_well_formed(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let body = text.trim();
    assert!(
        body.starts_with("<svg"),
        "{}: no <svg> start",
        path.display()
    );
    assert!(
        body.ends_with("</svg>"),
        "{}: no </svg> end",
        path.display()
    );
    let mut open: Vec<&str> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("a tag is closed with >") + start;
        let tag = &rest[start + 1..end];
        if let Some(closing) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(closing.trim()), "{}", path.display());
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            let tag_name = tag.split_whitespace().next().unwrap_or("");
            open.push(tag_name);
        }
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "{}: unclosed {open:?}", path.display());
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn normal_model_gets_residuals_qq_and_profile_figures() {
    let (dir, files) = check_plots(
        "normal",
        &[
            "examples/engel_heteroscedastic.nll",
            "--data",
            "examples/data/engel.csv",
            "--profile",
            "b1,g1",
        ],
    );
    assert_eq!(
        files,
        [
            "profile_b1.svg",
            "profile_g1.svg",
            "qq.svg",
            "residuals.svg"
        ]
    );
    let residuals = read(&dir, "residuals.svg");
    assert!(residuals.contains("fitted mean"));
    assert!(residuals.contains("standardised residual (y - mean) / sd"));
    // One point per row.
    assert_eq!(residuals.matches("<circle").count(), 235);
    let qq = read(&dir, "qq.svg");
    assert!(qq.contains("standard normal quantile"));
    let profile = read(&dir, "profile_g1.svg");
    assert!(profile.contains("2 (NLL_profile - NLL_min)"));
    assert!(profile.contains("Profile likelihood of g1"));
    assert!(profile.contains("chi-square(1) 95% quantile = 3.841"));
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[test]
fn count_model_has_no_qq_plot_and_thins_many_rows() {
    let (dir, files) = check_plots(
        "poisson",
        &[
            "examples/randhie_poisson.nll",
            "--data",
            "examples/data/randhie.csv",
        ],
    );
    assert_eq!(files, ["residuals.svg"]);
    let residuals = read(&dir, "residuals.svg");
    // 20190 rows, at most 5000 shown: every 5th.
    assert!(residuals.contains("every 5th of 20190 rows"));
    assert_eq!(residuals.matches("<circle").count(), 4038);
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[test]
fn collapsed_scale_still_gets_figures() {
    // y = 1 + 2x exactly: the scale goes to 0 and every residual is 0/0.
    let (dir, files) = check_plots(
        "collapse",
        &[
            "tests/fixtures/linear.nll",
            "--data",
            "tests/fixtures/exact.csv",
            "--profile",
            "b",
        ],
    );
    assert_eq!(files, ["profile_b.svg", "qq.svg", "residuals.svg"]);
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[test]
fn mixture_says_why_it_has_no_residual_plot() {
    let dir = scratch_dir("mixture");
    let text = run(&[
        "fit",
        "examples/mixture_gaussian.nll",
        "--data",
        "examples/data/mixture.csv",
        "--plot",
        &dir.display().to_string(),
    ]);
    assert!(text.starts_with("exit: 0"), "{text}");
    assert!(text.contains("note: no residuals for `Mixture`"), "{text}");
    assert!(!dir.join("residuals.svg").exists());
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[test]
fn unwritable_directory_is_an_error() {
    // A regular file where the directory should be.
    let file = std::env::temp_dir().join(format!("nll-plots-file-{}", std::process::id()));
    std::fs::write(&file, "not a directory").unwrap();
    let text = run(&[
        "fit",
        "tests/fixtures/linear.nll",
        "--data",
        "tests/fixtures/xy.csv",
        "--plot",
        &file.display().to_string(),
    ]);
    let _ = std::fs::remove_file(&file);
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(
        text.contains("cannot create the figure directory"),
        "{text}"
    );
}

/// With rows held out, the figures and profiles are those of the fit on
/// the training rows (one residual point per training row), and the text
/// lists them before the held-out table.
#[test]
fn held_out_fit_gets_figures_of_its_training_rows() {
    let (dir, files) = check_plots(
        "held_out",
        &[
            "examples/engel_heteroscedastic.nll",
            "--data",
            "examples/data/engel.csv",
            "--holdout",
            "0.2",
            "--profile",
            "b1",
        ],
    );
    assert_eq!(files, ["profile_b1.svg", "qq.svg", "residuals.svg"]);
    // 235 rows, 47 of them held out.
    assert_eq!(read(&dir, "residuals.svg").matches("<circle").count(), 188);
}

/// Two parameters whose names clean to one file name (`u_north` and
/// `u[north]`) get a figure each, the second numbered, each titled with
/// its own parameter.
#[test]
fn profile_figures_of_names_that_clean_alike_do_not_overwrite_each_other() {
    let (dir, files) = check_plots(
        "clash",
        &[
            "tests/fixtures/profile_names.nll",
            "--data",
            "tests/fixtures/groups.csv",
            "--profile",
            "u_north,u[north]",
        ],
    );
    assert_eq!(
        files,
        [
            "profile_u_north.svg",
            "profile_u_north_2.svg",
            "qq.svg",
            "residuals.svg"
        ]
    );
    let title_of = |file: &str| {
        let text = read(&dir, file);
        ["u_north", "u[north]"]
            .into_iter()
            .find(|p| text.contains(&format!("Profile likelihood of {p} ")))
            .map(str::to_string)
    };
    let mut titles = vec![
        title_of("profile_u_north.svg"),
        title_of("profile_u_north_2.svg"),
    ];
    titles.sort();
    assert_eq!(
        titles,
        [Some("u[north]".to_string()), Some("u_north".to_string())]
    );
}

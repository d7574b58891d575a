//! Snapshots of `nll compile` for every example, and its stability.

use std::process::Command;

use crate::common::repo_path;

fn compile_text(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nll"))
        .arg("compile")
        .args(args)
        .current_dir(repo_path(""))
        .output()
        .expect("the nll binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Each example with the data it is fitted on (factor levels shape the graph).
const EXAMPLES: &[(&str, &str)] = &[
    ("beta_regression", "proportions"),
    ("breast_cancer_probit", "breast_cancer"),
    ("weibull_survival", "survival"),
    ("breast_cancer_logistic", "breast_cancer"),
    ("diabetes_linear", "diabetes"),
    ("engel_heteroscedastic", "engel"),
    ("engel_laplace", "engel"),
    ("engel_linear", "engel"),
    ("engel_studentt", "engel"),
    ("iris_softmax", "iris"),
    ("iris_softmax_matrix", "iris"),
    ("mixture_gaussian", "mixture"),
    ("randhie_negbin", "randhie"),
    ("randhie_poisson", "randhie"),
];

#[test]
fn compile_output_of_every_example() {
    for (model, data) in EXAMPLES {
        let text = compile_text(&[
            &format!("examples/{model}.nll"),
            "--data",
            &format!("examples/data/{data}.csv"),
        ]);
        insta::assert_snapshot!(format!("compile_{model}"), text);
    }
}

#[test]
fn compile_output_is_the_same_for_reordered_statements() {
    // Data declarations, functions and sampling statements may be written in
    // any order; parameter declarations fix the order of theta.
    let dir = std::env::temp_dir().join(format!("nll-compile-order-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.nll");
    let b = dir.join("b.nll");
    std::fs::write(
        &a,
        "data x, y\ndata z\nparam a, b, c\nparam s > 0\nmu(x) = a + b * x\ny ~ Normal(mu(x), s)\nz ~ Normal(c, s)\nc ~ Normal(0, 10)\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "c ~ Normal(0, 10)\nparam a, b, c\nz ~ Normal(c, s)\ndata z\ny ~ Normal(mu(x), s)\nmu(x) = a + b * x\nparam s > 0\ndata x, y\n",
    )
    .unwrap();
    let ta = compile_text(&[a.to_str().unwrap(), "--show", "all"]);
    let tb = compile_text(&[b.to_str().unwrap(), "--show", "all"]);
    assert_eq!(ta, tb);
    // The same model compiled twice gives the same bytes.
    assert_eq!(ta, compile_text(&[a.to_str().unwrap(), "--show", "all"]));
    std::fs::remove_dir_all(&dir).ok();
}

//! Where a fit starts: the start values (declared, then overridden), the
//! coordinates it moves, a check that the NLL is finite there, and the
//! residuals' scale that sizes the first smoothing of kinks.

use super::{objective, FitOptions, ModelObjective};
use crate::compile::Compiled;
use crate::diag::Diagnostic;

/// A scale for residuals: the mean absolute deviation of the observations
/// of the likelihood statements from their mean (1 if that is 0).
pub(super) fn residual_scale(c: &Compiled, theta: &[f64]) -> f64 {
    let mut scale: f64 = 0.0;
    for s in c.statements.iter().filter(|s| !s.is_prior) {
        // Two passes over the observations, a block of rows at a time.
        let n = c.n_rows.max(1) as f64;
        let mut sum = 0.0;
        c.for_each_row_block(&[s.y], theta, |_, cols| {
            sum = cols[0].iter().fold(sum, |acc, v| acc + v);
        });
        let mean = sum / n;
        let mut abs_dev = 0.0;
        c.for_each_row_block(&[s.y], theta, |_, cols| {
            abs_dev = cols[0]
                .iter()
                .fold(abs_dev, |acc, v| acc + (v - mean).abs());
        });
        let mad = abs_dev / n;
        if mad.is_finite() {
            scale = scale.max(mad);
        }
    }
    if scale > 0.0 {
        scale
    } else {
        1.0
    }
}

/// The coordinates of theta the NLL depends on, in increasing order: the
/// ones a fit optimizes. The others stay at their start values.
pub fn free_params(c: &Compiled) -> Vec<usize> {
    let nll_params = &c.graph.info(c.nll).params;
    (0..c.n_params())
        .filter(|k| nll_params.binary_search(&(*k as u32)).is_ok())
        .collect()
}

/// Resolves start values: declared ones, then the overrides in `opts`.
pub fn start_theta(c: &Compiled, opts: &FitOptions) -> Result<Vec<f64>, Diagnostic> {
    let mut natural: Vec<f64> = c.params.iter().map(|p| p.start).collect();
    for (i, (name, _)) in opts.starts.iter().enumerate() {
        if opts.starts[..i].iter().any(|(n, _)| n == name) {
            return Err(Diagnostic::error(
                "E503",
                format!("--start gives `{name}` more than once"),
            )
            .with_help("Give each parameter one start value."));
        }
    }
    for (name, value) in &opts.starts {
        let mut matched = false;
        for (i, p) in c.params.iter().enumerate() {
            if p.name == *name || p.param == *name {
                if !p.transform.admits(*value) {
                    return Err(Diagnostic::error(
                        "E501",
                        format!(
                            "start value {value} for `{name}` is outside its constraint {}",
                            p.transform.describe()
                        ),
                    )
                    .with_help("Choose a start value strictly inside the constraint."));
                }
                natural[i] = *value;
                matched = true;
            }
        }
        if !matched {
            let names: Vec<&str> = c.params.iter().map(|p| p.name.as_str()).collect();
            let mut d = Diagnostic::error(
                "E502",
                format!("--start names an unknown parameter `{name}`"),
            );
            if let Some(s) = crate::diag::suggest::closest(name, names.iter().copied()) {
                d = d.with_help(format!("Did you mean `{s}`?"));
            } else {
                d = d.with_note(format!("The parameters are: {}.", names.join(", ")));
            }
            return Err(d);
        }
    }
    let mut theta: Vec<f64> = c
        .params
        .iter()
        .zip(natural)
        .map(|(p, x)| p.transform.to_theta(x))
        .collect();
    // The smoothing width of kinks, if the model has any; set by `fit`.
    theta.push(0.0);
    Ok(theta)
}

/// Checks that the NLL is finite at `theta`; otherwise says why.
pub fn check_start(c: &Compiled, theta: &[f64]) -> Result<(), Diagnostic> {
    let all: Vec<usize> = (0..c.n_params()).collect();
    let mut obj = ModelObjective::new(c, all, theta.to_vec());
    let x: Vec<f64> = theta[..c.n_params()].to_vec();
    if obj.nll_at(&x).is_finite() {
        Ok(())
    } else {
        Err(objective::explain_nonfinite_start(c, theta))
    }
}

//! The fit file (`nll fit --output FIT.json`): a fitted model kept on disk so
//! that it can be evaluated, used for prediction or simulated from later,
//! on other data, without fitting again.
//!
//! A fit file holds the estimates by element name, the unconstrained theta
//! the compiled program uses, the covariance of theta, the log-likelihood
//! and the status, and two things that make reuse safe:
//!
//! - the **model hash**: SHA-256 of the model printed as canonical source
//!   (comments, spacing and line breaks do not count) followed by the list
//!   of declared parameters. Loading a fit file for a model whose hash
//!   differs is an error that says so;
//! - the **data summary**: the file, the rows used, the columns and, for each
//!   factor, its levels in the order the fit coded them. New data are coded
//!   with these levels, so `u[north]` on new data is the `u[north]` that was
//!   fitted, whatever levels the new file happens to hold.
//!
//! Writing is all or nothing: see [`crate::fsutil::write_atomically`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::compile::Compiled;
use crate::data::{Column, ColumnKind, DataSet};
use crate::infer::FitReport;
use crate::model::Model;
use crate::syntax::ast::Program;

/// The value of [`FitFile::format`]: names the file kind and its version.
pub const FORMAT: &str = "nll-fit/1";

/// A fitted model as stored on disk.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FitFile {
    /// Always [`FORMAT`].
    pub format: String,
    pub model: ModelIdentity,
    pub data: DataSummary,
    /// One entry per element of each parameter, in theta order.
    pub estimates: Vec<Estimate>,
    /// The estimate on the unconstrained scale, one coordinate per element,
    /// then the smoothing width of kinks (0 for a model without any).
    pub theta: Vec<f64>,
    /// Covariance of theta (unconstrained scale), the inverse Hessian of the
    /// NLL at the estimate, one row per element; `None` when the Hessian is
    /// not positive definite. A parameter the likelihood does not use has a
    /// zero row and column.
    pub covariance: Option<Vec<Vec<f64>>>,
    pub log_likelihood: f64,
    pub nll: f64,
    pub n_rows: usize,
    pub converged: bool,
    pub status: String,
}

/// What the fit was made with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelIdentity {
    /// The model file as given on the command line.
    pub file: String,
    /// Hex SHA-256; see [`model_hash`].
    pub hash: String,
    /// The declared parameters, in declaration order.
    pub params: Vec<String>,
}

/// The data the fit was made on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataSummary {
    pub file: String,
    pub n_rows: usize,
    /// Rows that passed the filters but had a missing value (dropped).
    pub n_dropped: usize,
    /// `--where` filters and the row selection (holdout, split column).
    pub selection: Vec<String>,
    pub columns: Vec<ColumnSummary>,
}

/// One column the model uses.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnSummary {
    pub name: String,
    /// `real`, `integer` or `factor`.
    pub kind: String,
    /// For a factor: its levels in coding order.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub levels: Option<Vec<String>>,
}

/// One element of a parameter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Estimate {
    /// `a`, `beta[3]`, `u[north]`, `W[2,1]`, as the fit report names it.
    pub name: String,
    /// The declared parameter it belongs to.
    pub param: String,
    /// On the natural scale.
    pub estimate: f64,
    pub std_error: Option<f64>,
}

/// Why a fit file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FitFileError {
    #[error("cannot read fit file `{path}`: {message}")]
    Read { path: PathBuf, message: String },
    #[error("`{path}` is not a fit file: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("the model differs from the one fit file `{path}` was made with")]
    ModelChanged {
        path: PathBuf,
        /// The model file named in the fit file.
        fitted_file: String,
        fitted_params: Vec<String>,
        params: Vec<String>,
    },
}

/// Hashes a model: SHA-256 over its canonical printed source and the list
/// of declared parameters, as lowercase hex.
///
/// The printed source drops comments, spacing and line breaks inside
/// statements, so reformatting a model keeps its hash, while any change to
/// an expression, a distribution, a declaration or the parameter order
/// changes it.
pub fn model_hash(program: &Program, model: &Model) -> String {
    let mut h = Sha256::new();
    h.update(b"nll model\n");
    h.update(crate::syntax::print_program(program).as_bytes());
    h.update(b"params:");
    for p in &model.params {
        h.update(p.name.as_bytes());
        h.update(b",");
    }
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

/// Summarises the data a fit used: file, rows, columns and factor levels.
pub fn summarize_data(file: &str, ds: &DataSet, selection: Vec<String>) -> DataSummary {
    let columns = ds
        .columns
        .iter()
        .map(|(name, kind, col)| ColumnSummary {
            name: name.clone(),
            kind: kind.to_string(),
            levels: match (kind, col) {
                (ColumnKind::Factor, Column::Factor { levels, .. }) => Some(levels.clone()),
                _ => None,
            },
        })
        .collect();
    DataSummary {
        file: file.to_string(),
        n_rows: ds.n_rows,
        n_dropped: ds.n_dropped,
        selection,
        columns,
    }
}

impl FitFile {
    /// Builds the fit file of a finished fit.
    pub fn new(
        identity: ModelIdentity,
        data: DataSummary,
        compiled: &Compiled,
        report: &FitReport,
    ) -> FitFile {
        let estimates = compiled
            .params
            .iter()
            .zip(&report.parameters)
            .map(|(p, e)| Estimate {
                name: p.name.clone(),
                param: p.param.clone(),
                estimate: e.estimate,
                std_error: e.std_error,
            })
            .collect();
        FitFile {
            format: FORMAT.to_string(),
            model: identity,
            data,
            estimates,
            theta: report.theta.clone(),
            covariance: theta_covariance(compiled, &report.theta),
            log_likelihood: report.log_likelihood,
            nll: report.nll,
            n_rows: report.n,
            converged: report.converged,
            status: report.status.clone(),
        }
    }

    /// Pretty JSON with a final line break.
    pub fn to_json(&self) -> String {
        // Serialising plain structs of numbers and strings cannot fail;
        // non-finite numbers become `null`.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a fit file and checks it belongs to the model with `hash`.
    ///
    /// # Errors
    ///
    /// The file cannot be read, is not a fit file of this format, or was made
    /// with another model ([`FitFileError::ModelChanged`]).
    pub fn load(path: &Path, hash: &str, params: &[String]) -> Result<FitFile, FitFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| FitFileError::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let fit: FitFile = serde_json::from_str(&text).map_err(|e| FitFileError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if fit.format != FORMAT {
            return Err(FitFileError::Invalid {
                path: path.to_path_buf(),
                message: format!("format `{}`, expected `{FORMAT}`", fit.format),
            });
        }
        if fit.theta.len() != fit.estimates.len() + 1 {
            return Err(FitFileError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "{} theta coordinates for {} estimates",
                    fit.theta.len(),
                    fit.estimates.len()
                ),
            });
        }
        if fit.model.hash != hash {
            return Err(FitFileError::ModelChanged {
                path: path.to_path_buf(),
                fitted_file: fit.model.file.clone(),
                fitted_params: fit.model.params.clone(),
                params: params.to_vec(),
            });
        }
        Ok(fit)
    }

    /// The factor levels the fit coded column `name` with.
    pub fn levels_of(&self, name: &str) -> Option<&[String]> {
        self.data
            .columns
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.levels.as_deref())
    }
}

/// The covariance of theta at `theta`: the inverse of the NLL's Hessian on
/// the coordinates the NLL depends on (zero rows elsewhere), or `None` when
/// that Hessian is not positive definite or it or its inverse is not finite.
pub fn theta_covariance(c: &Compiled, theta: &[f64]) -> Option<Vec<Vec<f64>>> {
    let n = c.n_params();
    let prog = c.hess_program();
    let mut ws = crate::eval::Workspace::new(&prog);
    let mut out = vec![0.0; 1 + n + c.hess.len()];
    prog.eval(&mut ws, &c.columns, theta, &mut out);
    let nll_params = &c.graph.info(c.nll).params;
    let free: Vec<usize> = (0..n)
        .filter(|k| nll_params.binary_search(&(*k as u32)).is_ok())
        .collect();
    let m = free.len();
    let hess = nalgebra::DMatrix::from_fn(m, m, |i, j| {
        out[1 + n + Compiled::hess_index(free[i], free[j])]
    });
    if m == 0 || !hess.iter().all(|v| v.is_finite()) {
        return None;
    }
    let inv = hess.cholesky()?.inverse();
    // A Hessian of 1e-300 is positive definite, yet its inverse overflows:
    // a covariance with an infinite entry is none.
    if !inv.iter().all(|v| v.is_finite()) {
        return None;
    }
    let mut cov = vec![vec![0.0; n]; n];
    for (i, ki) in free.iter().enumerate() {
        for (j, kj) in free.iter().enumerate() {
            cov[*ki][*kj] = inv[(i, j)];
        }
    }
    Some(cov)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(src: &str) -> String {
        let program = crate::syntax::parse_program(src).expect("parses");
        let (model, diags) = crate::model::check(&program);
        assert!(!diags.iter().any(|d| d.is_error()), "{diags:?}");
        model_hash(&program, &model)
    }

    #[test]
    fn hash_ignores_comments_and_spacing() {
        let a = hash_of("data x, y\nparam a, b, s > 0\ny ~ Normal(a + b * x, s)\n");
        let b = hash_of("# a model\ndata x,y\nparam a,b,s>0\ny ~ Normal(a+b*x,\n  s) # end\n");
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn hash_changes_with_the_model() {
        let a = hash_of("data x, y\nparam a, b, s > 0\ny ~ Normal(a + b * x, s)\n");
        let b = hash_of("data x, y\nparam a, b, s > 0\ny ~ Laplace(a + b * x, s)\n");
        let c = hash_of("data x, y\nparam b, a, s > 0\ny ~ Normal(a + b * x, s)\n");
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}

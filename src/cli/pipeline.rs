//! The steps shared by the subcommands, each reporting its diagnostics.

use std::path::Path;

use super::{CheckArgs, CompileArgs, DataArgs, ExplainArgs, FitArgs, Format};
use crate::compile::{self, Compiled};
use crate::data::{self, DataSet, LoadOptions};
use crate::diag::{render, Diagnostic};
use crate::infer::{self, FitOptions};
use crate::model::{self, Model};
use crate::syntax::{self, ast::DataKind};

/// Why a command failed; the diagnostics were already printed.
#[derive(Debug)]
pub enum Failure {
    /// The model or the data is wrong (diagnostics printed).
    Input,
    /// Something outside the input failed (a file could not be written).
    Io(String),
    /// The command line lacks something it needs (diagnostics printed).
    Usage,
    /// A fit ran and was reported, but did not converge to a proper
    /// maximum; the exit status that says which way.
    Fit(i32),
}

/// Writes a command's result to standard output. A closed pipe (the reader
/// went away, as in `nll fit ... | head`) ends the command quietly.
pub(super) fn write_out(text: &str) -> Result<(), Failure> {
    use std::io::{IsTerminal, Write};
    let mut out = std::io::stdout().lock();
    // Names from the data (a factor's levels) may hold control characters
    // that a terminal would act on; a file or a pipe gets the text as it is.
    let shown = if out.is_terminal() {
        std::borrow::Cow::Owned(crate::diag::visible(text))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    match out.write_all(shown.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Io(format!("cannot write the output: {e}"))),
    }
}

/// A model file read and checked.
pub(super) struct Loaded {
    pub name: String,
    pub source: String,
    pub model: Model,
}

pub(super) fn emit(diags: &[Diagnostic], name: &str, source: &str, color: bool) {
    for d in diags {
        eprint!("{}", render(d, name, source, color));
    }
}

pub(super) fn load_model(path: &Path, color: bool) -> Result<Loaded, Failure> {
    crate::fsutil::protect_input(path);
    let name = path.display().to_string();
    let source = match syntax::read_model_file(path, &name) {
        Ok(s) => s,
        Err(d) => {
            emit(&[d], &name, "", color);
            return Err(Failure::Input);
        }
    };
    let program = match syntax::parse_program(&source) {
        Ok(p) => p,
        Err(diags) => {
            emit(&diags, &name, &source, color);
            return Err(Failure::Input);
        }
    };
    let (model, diags) = model::check(&program);
    emit(&diags, &name, &source, color);
    if diags.iter().any(|d| d.is_error()) {
        return Err(Failure::Input);
    }
    Ok(Loaded {
        name,
        source,
        model,
    })
}

pub(super) fn load_data(
    loaded: &Loaded,
    args: &DataArgs,
    path: &Path,
    color: bool,
) -> Result<DataSet, Failure> {
    let opts = LoadOptions {
        drop_missing: args.drop_missing,
        filters: args.filters.clone(),
    };
    load_data_with(
        loaded,
        &compile::column_requests(&loaded.model),
        &opts,
        path,
        color,
    )
}

/// Loads the requested columns of `path`, reporting every data problem.
pub(super) fn load_data_with(
    loaded: &Loaded,
    requests: &[data::ColumnRequest],
    opts: &LoadOptions,
    path: &Path,
    color: bool,
) -> Result<DataSet, Failure> {
    crate::fsutil::protect_input(path);
    match data::load_file(path, requests, opts) {
        Ok(ds) => Ok(ds),
        Err(err) => {
            let diags = err.to_diagnostics(&path.display().to_string());
            emit(&diags, &loaded.name, &loaded.source, color);
            Err(Failure::Input)
        }
    }
}

/// Compiles the model on `ds`, moving the data out of it (see
/// [`compile::compile_taking`]).
pub(super) fn compile_on(
    loaded: &Loaded,
    ds: &mut DataSet,
    color: bool,
) -> Result<Compiled, Failure> {
    let compiled = compile::compile_taking(&loaded.model, ds).map_err(|diags| {
        emit(&diags, &loaded.name, &loaded.source, color);
        Failure::Input
    })?;
    emit(&compiled.warnings, &loaded.name, &loaded.source, color);
    Ok(compiled)
}

pub fn check(args: &CheckArgs, color: bool) -> Result<(), Failure> {
    let loaded = load_model(&args.model, color)?;
    let n_params = loaded.model.params.len();
    let n_statements = loaded.model.statements.len();
    match &args.data.data {
        None => {
            let diags = compile::model_shape_diagnostics(&loaded.model);
            emit(&diags, &loaded.name, &loaded.source, color);
            if diags.iter().any(|d| d.is_error()) {
                return Err(Failure::Input);
            }
            write_out(&format!(
                "{}: ok ({}, {}; no data checked)\n",
                loaded.name,
                crate::model::plural(n_params, "parameter declaration"),
                crate::model::plural(n_statements, "statement")
            ))?;
        }
        Some(path) => {
            let mut ds = load_data(&loaded, &args.data, path, color)?;
            let compiled = compile_on(&loaded, &mut ds, color)?;
            let mut text = format!(
                "{}: ok on {} ({}, {}, {} graph nodes)\n",
                loaded.name,
                path.display(),
                crate::model::plural(ds.n_rows, "row"),
                crate::model::plural(compiled.n_params(), "parameter"),
                compiled.graph.len()
            );
            for (name, _, col) in &ds.columns {
                if let data::Column::Factor { levels, .. } = col {
                    text.push_str(&format!("factor {name}: levels {}\n", levels.join(", ")));
                }
            }
            // The start values must give a finite NLL, as `fit` requires.
            let theta = infer::start_theta(&compiled, &FitOptions::default()).map_err(|d| {
                emit(&[d], &loaded.name, &loaded.source, color);
                Failure::Input
            })?;
            if let Err(d) = infer::check_start(&compiled, &theta) {
                emit(&[d], &loaded.name, &loaded.source, color);
                return Err(Failure::Input);
            }
            write_out(&text)?;
        }
    }
    Ok(())
}

pub fn fit(args: &FitArgs, color: bool) -> Result<(), Failure> {
    let loaded = load_model(&args.model, color)?;
    let Some(path) = &args.data.data else {
        let d = Diagnostic::error("E002", "`nll fit` needs data")
            .with_help("Give the data file with --data FILE.csv.");
        emit(&[d], &loaded.name, &loaded.source, color);
        return Err(Failure::Usage);
    };
    super::evaluate::refuse_output_over_input(
        args.held_out.output.as_deref(),
        &[
            (args.model.as_path(), "model file"),
            (path.as_path(), "data file"),
        ],
        color,
    )?;
    if args.held_out.holdout.is_some() || args.held_out.split_column.is_some() {
        return super::held_out::fit_held_out(args, &loaded, path, color);
    }
    let mut ds = load_data(&loaded, &args.data, path, color)?;
    let mut compiled = compile_on(&loaded, &mut ds, color)?;
    if args.jacobian {
        compiled = compiled.with_jacobian();
    }
    let opts = FitOptions {
        starts: args.starts.clone(),
        max_iter: args.max_iter,
        method: super::method_of(args),
        ..FitOptions::default()
    };
    let mut report = infer::fit(&compiled, &opts).map_err(|diags| {
        emit(&diags, &loaded.name, &loaded.source, color);
        Failure::Input
    })?;
    report.n_dropped = ds.n_dropped;
    let extras = super::extras::after_fit(args, &compiled, &report).map_err(|d| {
        emit(&[d], &loaded.name, &loaded.source, color);
        Failure::Input
    })?;
    if let Some(out) = &args.held_out.output {
        let selection = super::evaluate::filter_selection(&args.data);
        super::evaluate::write_fit_file(
            out, &loaded, path, &ds, selection, &compiled, &report, color,
        )?;
    }
    match args.format {
        Format::Text => write_out(&format!("{}{}", report.to_text(), extras.to_text()))?,
        Format::Json => match serde_json::to_string_pretty(&extras.output(&report)) {
            Ok(s) => write_out(&format!("{s}\n"))?,
            Err(e) => return Err(Failure::Io(format!("cannot write JSON: {e}"))),
        },
    }
    match report.outcome {
        infer::FitOutcome::Converged => Ok(()),
        other => Err(Failure::Fit(other.exit_code())),
    }
}

pub fn compile_cmd(args: &CompileArgs, color: bool) -> Result<(), Failure> {
    let loaded = load_model(&args.model, color)?;
    let mut ds = match &args.data.data {
        Some(path) => load_data(&loaded, &args.data, path, color)?,
        None => {
            // Without data the graph is built on zero rows; factor levels
            // decide the shape of the model, so they need the data.
            if let Some(dv) = loaded
                .model
                .data
                .iter()
                .find(|d| d.kind == DataKind::Factor)
            {
                let d = Diagnostic::error("E003", format!("`nll compile` needs --data: the levels of factor `{}` decide the model's parameters", dv.name))
                    .with_primary(dv.span, "a factor")
                    .with_help("Give the data file with --data FILE.csv.");
                emit(&[d], &loaded.name, &loaded.source, color);
                return Err(Failure::Input);
            }
            DataSet::empty(&compile::column_requests(&loaded.model))
        }
    };
    let compiled = compile_on(&loaded, &mut ds, color)?;
    write_out(&compiled.to_text(args.show))
}

pub fn explain(args: &ExplainArgs, color: bool) -> Result<(), Failure> {
    let loaded = load_model(&args.model, color)?;
    // A model the compiler refuses whatever the data has no loss to write
    // out: its errors, as `check` gives them.
    let errors: Vec<_> = compile::model_shape_diagnostics(&loaded.model)
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    if !errors.is_empty() {
        emit(&errors, &loaded.name, &loaded.source, color);
        return Err(Failure::Input);
    }
    write_out(&crate::explain::explain(
        &loaded.model,
        &loaded.source,
        args.latex,
    ))
}

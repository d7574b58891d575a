//! The steps shared by the subcommands, each reporting its diagnostics.

use std::path::Path;

use super::{CheckArgs, DataArgs, ExplainArgs, FitArgs, Format};
use crate::compile::{self, Compiled};
use crate::data::{self, ColumnKind, ColumnRequest, DataSet, LoadOptions};
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
}

/// A model file read and checked.
struct Loaded {
    name: String,
    source: String,
    model: Model,
}

fn emit(diags: &[Diagnostic], name: &str, source: &str, color: bool) {
    for d in diags {
        eprint!("{}", render(d, name, source, color));
    }
}

fn load_model(path: &Path, color: bool) -> Result<Loaded, Failure> {
    let name = path.display().to_string();
    let source = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            let d = Diagnostic::error("E001", format!("cannot read model file `{name}`: {e}"));
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
    Ok(Loaded { name, source, model })
}

fn column_requests(model: &Model) -> Vec<ColumnRequest> {
    let mut out: Vec<ColumnRequest> = Vec::new();
    for dv in &model.data {
        let kind = match dv.kind {
            DataKind::Real => ColumnKind::Real,
            DataKind::Int => ColumnKind::Int,
            DataKind::Factor => ColumnKind::Factor,
        };
        for c in &dv.columns {
            if !out.iter().any(|r| r.name == *c) {
                out.push(ColumnRequest { name: c.clone(), kind });
            }
        }
    }
    out
}

fn load_data(loaded: &Loaded, args: &DataArgs, path: &Path, color: bool) -> Result<DataSet, Failure> {
    let opts = LoadOptions { drop_missing: args.drop_missing, filters: args.filters.clone() };
    match data::load_csv(path, &column_requests(&loaded.model), &opts) {
        Ok(ds) => Ok(ds),
        Err(err) => {
            let diags: Vec<Diagnostic> = err
                .problems
                .iter()
                .map(|p| {
                    let d = Diagnostic::error(p.code(), p.message())
                        .with_note(format!("In data file `{}`.", path.display()));
                    match p.help() {
                        Some(h) => d.with_help(h),
                        None => d,
                    }
                })
                .collect();
            emit(&diags, &loaded.name, &loaded.source, color);
            Err(Failure::Input)
        }
    }
}

fn compile_on(loaded: &Loaded, ds: &DataSet, color: bool) -> Result<Compiled, Failure> {
    compile::compile(&loaded.model, ds, &ds.source_rows).map_err(|diags| {
        emit(&diags, &loaded.name, &loaded.source, color);
        Failure::Input
    })
}

pub fn check(args: &CheckArgs, color: bool) -> Result<(), Failure> {
    let loaded = load_model(&args.model, color)?;
    let n_params = loaded.model.params.len();
    let n_statements = loaded.model.statements.len();
    match &args.data.data {
        None => {
            println!(
                "{}: ok ({} parameter declarations, {} statements; no data checked)",
                loaded.name, n_params, n_statements
            );
        }
        Some(path) => {
            let ds = load_data(&loaded, &args.data, path, color)?;
            let compiled = compile_on(&loaded, &ds, color)?;
            println!(
                "{}: ok on {} ({} rows, {} parameters, {} graph nodes)",
                loaded.name,
                path.display(),
                ds.n_rows,
                compiled.n_params(),
                compiled.graph.len()
            );
            for (name, _, col) in &ds.columns {
                if let data::Column::Factor { levels, .. } = col {
                    println!("factor {name}: levels {}", levels.join(", "));
                }
            }
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
        return Err(Failure::Input);
    };
    let ds = load_data(&loaded, &args.data, path, color)?;
    let compiled = compile_on(&loaded, &ds, color)?;
    let opts = FitOptions { starts: args.starts.clone(), max_iter: args.max_iter, method: super::method_of(args) };
    let mut report = infer::fit(&compiled, &opts).map_err(|diags| {
        emit(&diags, &loaded.name, &loaded.source, color);
        Failure::Input
    })?;
    report.n_dropped = ds.n_dropped;
    match args.format {
        Format::Text => print!("{}", report.to_text()),
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => return Err(Failure::Io(format!("cannot write JSON: {e}"))),
        },
    }
    Ok(())
}

pub fn explain(args: &ExplainArgs, color: bool) -> Result<(), Failure> {
    let loaded = load_model(&args.model, color)?;
    print!("{}", crate::explain::explain(&loaded.model, &loaded.source, args.latex));
    Ok(())
}

//! `nll bench`: times each stage of the pipeline on one model and data file.
//!
//! The stages are timed separately so a regression shows where it is:
//! loading the data, compiling (parse, check, lower, derive the gradient and
//! Hessian, build both evaluation programs), one NLL+gradient evaluation,
//! one NLL+gradient+Hessian evaluation, and a whole fit. Evaluations are
//! timed at the start values, repeated, and the median is reported, because
//! the machine this runs on is usually shared and single timings are noisy.

use std::time::Instant;

use serde::Serialize;

use super::pipeline::{compile_on, load_data, load_model, write_out, Failure};
use super::{BenchArgs, Format};
use crate::diag::Diagnostic;
use crate::eval::Workspace;
use crate::infer::{self, FitOptions};

/// Fewest timed repetitions of an evaluation, however slow it is.
const MIN_REPEATS: usize = 5;
/// Most timed repetitions of an evaluation, however fast it is.
const MAX_REPEATS: usize = 201;
/// Repetitions continue (up to [`MAX_REPEATS`]) until this much time has
/// been spent, so fast evaluations get enough samples for a stable median.
const MIN_TIMED_S: f64 = 0.5;

/// What `nll bench` reports; the JSON field names are part of the
/// benchmark scripts' interface.
#[derive(Debug, Serialize)]
struct BenchReport {
    n_rows: usize,
    n_params: usize,
    threads: usize,
    load_s: f64,
    compile_s: f64,
    eval_s: f64,
    eval_grad_hess_s: f64,
    fit_s: f64,
    evals: usize,
    eval_repeats: usize,
    nll: f64,
    converged: bool,
    /// Estimates on the natural scale, by parameter element name.
    params: serde_json::Map<String, serde_json::Value>,
    /// Bytes of the loaded data columns (factors too) as f64, and the peak resident set
    /// size of the process (Linux only; 0 elsewhere), in MiB.
    data_mib: f64,
    peak_rss_mib: f64,
}

pub fn bench(args: &BenchArgs, color: bool) -> Result<(), Failure> {
    let pool = match args.threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(n))
            .build(),
        None => rayon::ThreadPoolBuilder::new().build(),
    };
    let pool = pool.map_err(|e| Failure::Io(format!("cannot start the thread pool: {e}")))?;
    pool.install(|| bench_in_pool(args, color))
}

fn bench_in_pool(args: &BenchArgs, color: bool) -> Result<(), Failure> {
    // Parsing is part of compiling: time it apart from the data loading.
    let t_parse = Instant::now();
    let loaded = load_model(&args.model, color)?;
    let parse_s = t_parse.elapsed().as_secs_f64();
    let Some(path) = &args.data.data else {
        let d = Diagnostic::error("E002", "`nll bench` needs data")
            .with_help("Give the data file with --data FILE.csv.");
        super::pipeline::emit(&[d], &loaded.name, &loaded.source, color);
        return Err(Failure::Usage);
    };

    let t_load = Instant::now();
    let mut ds = load_data(&loaded, &args.data, path, color)?;
    let load_s = t_load.elapsed().as_secs_f64();

    let t_compile = Instant::now();
    let compiled = compile_on(&loaded, &mut ds, color)?;
    let grad_prog = compiled.grad_program();
    let hess_prog = compiled.hess_program_from(&grad_prog);
    let compile_s = parse_s + t_compile.elapsed().as_secs_f64();
    // Every column the model reads, factors included, counted as doubles.
    let n_columns = compiled.columns.real.len() + compiled.columns.factor.len();
    let n_data_values: usize = n_columns * compiled.n_rows;
    let data_mib = (n_data_values * std::mem::size_of::<f64>()) as f64 / (1024.0 * 1024.0);
    drop(ds);

    let theta = infer::start_theta(&compiled, &FitOptions::default()).map_err(|d| {
        super::pipeline::emit(&[d], &loaded.name, &loaded.source, color);
        Failure::Input
    })?;

    let mut ws = Workspace::new(&grad_prog);
    let mut out = vec![0.0; grad_prog.n_outputs()];
    let (eval_s, eval_repeats) = median_time(|| {
        grad_prog.eval(&mut ws, &compiled.columns, &theta, &mut out);
    });

    let mut ws = Workspace::new(&hess_prog);
    let mut out = vec![0.0; hess_prog.n_outputs()];
    let (eval_grad_hess_s, _) = median_time(|| {
        hess_prog.eval(&mut ws, &compiled.columns, &theta, &mut out);
    });
    drop((grad_prog, hess_prog, ws, out));

    let t_fit = Instant::now();
    let report = infer::fit(&compiled, &FitOptions::default()).map_err(|diags| {
        super::pipeline::emit(&diags, &loaded.name, &loaded.source, color);
        Failure::Input
    })?;
    let fit_s = t_fit.elapsed().as_secs_f64();

    let params = report
        .parameters
        .iter()
        .map(|p| (p.name.clone(), serde_json::Value::from(p.estimate)))
        .collect();
    let bench = BenchReport {
        n_rows: compiled.n_rows,
        n_params: compiled.n_params(),
        threads: rayon::current_num_threads(),
        load_s,
        compile_s,
        eval_s,
        eval_grad_hess_s,
        fit_s,
        evals: report.evaluations,
        eval_repeats,
        nll: report.nll,
        converged: report.converged,
        params,
        data_mib,
        peak_rss_mib: peak_rss_mib(),
    };
    match args.format {
        Format::Json => match serde_json::to_string(&bench) {
            Ok(s) => write_out(&format!("{s}\n")),
            Err(e) => Err(Failure::Io(format!("cannot write JSON: {e}"))),
        },
        Format::Text => write_out(&to_text(&bench)),
    }
}

/// The median wall time of `f` over [`MIN_REPEATS`]..[`MAX_REPEATS`] timed
/// runs after one untimed warm-up run, and the number of timed runs.
fn median_time(mut f: impl FnMut()) -> (f64, usize) {
    f();
    let started = Instant::now();
    let mut times = Vec::new();
    while times.len() < MIN_REPEATS
        || (times.len() < MAX_REPEATS && started.elapsed().as_secs_f64() < MIN_TIMED_S)
    {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times.len())
}

/// The peak resident set size in MiB from `/proc/self/status` (`VmHWM`), or
/// 0 where that file does not exist.
fn peak_rss_mib() -> f64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0.0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

fn to_text(b: &BenchReport) -> String {
    let ms = |s: f64| s * 1e3;
    format!(
        "rows {}, parameters {}, threads {}\n\
         load           {:>10.3} ms\n\
         compile        {:>10.3} ms\n\
         eval (grad)    {:>10.4} ms  (median of {})\n\
         eval (hess)    {:>10.4} ms\n\
         fit            {:>10.3} ms  ({} evaluations, nll {:.6}, {})\n\
         memory         {:>10.1} MiB peak, data {:.1} MiB\n",
        b.n_rows,
        b.n_params,
        b.threads,
        ms(b.load_s),
        ms(b.compile_s),
        ms(b.eval_s),
        b.eval_repeats,
        ms(b.eval_grad_hess_s),
        ms(b.fit_s),
        b.evals,
        b.nll,
        if b.converged {
            "converged"
        } else {
            "not converged"
        },
        b.peak_rss_mib,
        b.data_mib,
    )
}

//! The command line: arguments, the subcommands, and exit codes.
//!
//! Each subcommand runs the pipeline as far as it needs (parse, check, load
//! data, compile, fit) and turns every problem into rendered diagnostics on
//! standard error. Results go to standard output.

mod bench;
mod compare;
mod evaluate;
mod extras;
mod held_out;
mod pipeline;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::optim::Method;

pub use evaluate::{EvalArgs, HeldOutArgs, PredictArgs, SimulateArgs};
pub use held_out::CvArgs;
pub use pipeline::Failure;

#[derive(Debug, Parser)]
#[command(
    name = "nll",
    version,
    about = "Fit statistical models written as distributional statements by maximum likelihood"
)]
pub struct Cli {
    /// Log progress to standard error (repeat for more detail).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fit a model to data and report estimates, standard errors and fit statistics.
    Fit(FitArgs),
    /// Check a model (and its data, if given) without fitting.
    Check(CheckArgs),
    /// Print the compiled graph: parameter transforms, per-statement terms, NLL, gradient, Hessian.
    Compile(CompileArgs),
    /// Print the model's negative log-likelihood as mathematics, with its derivatives.
    Explain(ExplainArgs),
    /// Evaluate a saved fit on data: NLL per statement, calibration, PIT, interval coverage.
    Eval(EvalArgs),
    /// Predict from a saved fit: each row's distribution arguments, mean and interval, or class probabilities.
    Predict(PredictArgs),
    /// Draw outcomes from a saved fit, reproducibly with a seed.
    Simulate(SimulateArgs),
    /// K-fold cross-validation: training against held-out mean NLL.
    Cv(CvArgs),
    /// Time loading, compiling, one evaluation and a fit of a model on data.
    Bench(BenchArgs),
    /// Fit several models to the same data and compare them: AIC, BIC, Akaike weights, likelihood-ratio tests.
    Compare(CompareArgs),
    /// Build, evaluate and fit a model interactively (or from a script on standard input).
    Repl(ReplArgs),
}

#[derive(Debug, Args)]
pub struct ReplArgs {
    /// A model file (.nll) to start from.
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The model files (.nll), two or more.
    #[arg(required = true, num_args = 2.., value_name = "MODEL")]
    pub models: Vec<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Declare that model SMALL is nested in model BIG (file stems, as in
    /// the table), for a likelihood-ratio test (repeatable).
    #[arg(long = "nested", value_name = "SMALL:BIG", value_parser = parse_nested)]
    pub nested: Vec<(String, String)>,
    /// Optimization method.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,
    /// Maximum number of optimizer iterations per fit.
    #[arg(long, default_value_t = crate::infer::DEFAULT_MAX_ITER)]
    pub max_iter: usize,
    /// Fit on the rows where COLUMN equals --train-value and report the
    /// mean NLL of the rows where it equals --test-value.
    #[arg(long, value_name = "COLUMN")]
    pub split_column: Option<String>,
    /// The value of --split-column that marks the rows to fit.
    #[arg(long, default_value = "train", requires = "split_column")]
    pub train_value: String,
    /// The value of --split-column that marks the held-out rows.
    #[arg(long, default_value = "test", requires = "split_column")]
    pub test_value: String,
}

fn parse_nested(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
            Ok((a.trim().to_string(), b.trim().to_string()))
        }
        _ => Err(format!("expected SMALL:BIG, found `{s}`")),
    }
}

#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The model file (.nll).
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// What to print: a comma-separated list of nll, grad, hess, or all.
    #[arg(long, default_value = "nll,grad", value_parser = parse_show)]
    pub show: crate::compile::Show,
}

fn parse_show(s: &str) -> Result<crate::compile::Show, String> {
    crate::compile::Show::parse(s)
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// The data: a CSV file with a header row, or an Arrow IPC file.
    #[arg(long, short = 'd', value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Use only the rows where every used column has a value (rows with a missing cell are dropped).
    #[arg(long)]
    pub drop_missing: bool,
    /// Keep only rows where COLUMN equals VALUE (repeatable; all must hold).
    #[arg(long = "where", value_name = "COLUMN=VALUE", value_parser = parse_where)]
    pub filters: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    /// The model file (.nll).
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Start value for a parameter or one element, like `s=2` or `beta[3]=0.1` (repeatable).
    #[arg(long = "start", value_name = "NAME=VALUE", value_parser = parse_start)]
    pub starts: Vec<(String, f64)>,
    /// Optimization method.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,
    /// Maximum number of optimizer iterations.
    #[arg(long, default_value_t = crate::infer::DEFAULT_MAX_ITER)]
    pub max_iter: usize,
    /// With priors: maximise the posterior density of the unconstrained
    /// parameters, adding the log-Jacobian of each constraint's transform.
    #[arg(long)]
    pub jacobian: bool,
    /// Profile-likelihood intervals for these parameters: element names
    /// (`beta[2]`, `W[2,1]`), parameter names (every element), or `all`;
    /// comma-separated or repeated.
    #[arg(long, value_name = "NAME,...|all")]
    pub profile: Vec<String>,
    /// Confidence level of the profile intervals (and of the Wald intervals
    /// printed beside them).
    #[arg(long, default_value_t = 0.95, value_parser = parse_level, requires = "profile")]
    pub level: f64,
    /// Write SVG figures to this directory (created if missing): residuals
    /// against fitted values, a normal Q-Q plot for Normal models, and the
    /// profile of each parameter given to --profile.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub held_out: HeldOutArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The model file (.nll).
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The model file (.nll).
    pub model: PathBuf,
    /// Print LaTeX math instead of plain text.
    #[arg(long)]
    pub latex: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The model file (.nll).
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Worker threads for loading a CSV file and for evaluation (default, or 0: one per core; at most 1024).
    #[arg(long, value_parser = clap::value_parser!(u16).range(0..=MAX_THREADS))]
    pub threads: Option<u16>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Trust-region Newton with the exact Hessian up to 200 parameters; above that, L-BFGS first, then Newton to polish.
    Auto,
    /// L-BFGS with a strong Wolfe line search.
    Lbfgs,
    /// Trust-region Newton with the exact Hessian.
    Newton,
}

impl MethodArg {
    pub(crate) fn method(self) -> Method {
        match self {
            MethodArg::Auto => Method::Auto,
            MethodArg::Lbfgs => Method::Lbfgs,
            MethodArg::Newton => Method::Newton,
        }
    }
}

fn parse_start(s: &str) -> Result<(String, f64), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, found `{s}`"))?;
    let v: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not a number"))?;
    if !v.is_finite() {
        return Err(format!("`{value}` is not a finite number"));
    }
    Ok((name.trim().to_string(), v))
}

/// The smallest level, and the largest one's distance from 1: an
/// interval's tails of (1 - level) / 2 stay at least 5e-10, whose
/// quantiles every family computes (at 1 - 1e-16 the upper one was
/// infinite), and the level keeps its digits in a name (`upper_99.9999999`).
const LEVEL_MARGIN: f64 = 1e-9;

/// The most worker threads `nll bench` starts: far more threads than
/// cores only measure the system's scheduling (20 000 took minutes).
const MAX_THREADS: i64 = 1024;

/// A confidence level: a number strictly between 0 and 1, at least
/// LEVEL_MARGIN from both.
pub(crate) fn parse_level(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if (LEVEL_MARGIN..=1.0 - LEVEL_MARGIN).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "the level must be between 0 and 1, like 0.95, and at least 1e-9 from both, not {s}"
        ))
    }
}

fn parse_where(s: &str) -> Result<(String, String), String> {
    let (col, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected COLUMN=VALUE, found `{s}`"))?;
    Ok((col.trim().to_string(), value.trim().to_string()))
}

/// Runs the command line; returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    init_logging(cli.verbose);
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let result = match &cli.command {
        Command::Fit(args) => pipeline::fit(args, color),
        Command::Check(args) => pipeline::check(args, color),
        Command::Compile(args) => pipeline::compile_cmd(args, color),
        Command::Explain(args) => pipeline::explain(args, color),
        Command::Repl(args) => {
            let opts = crate::data::LoadOptions {
                drop_missing: args.data.drop_missing,
                filters: args.data.filters.clone(),
            };
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            return crate::repl::run(
                args.model.as_deref(),
                args.data.data.as_deref(),
                opts,
                color,
            );
        }
        Command::Compare(args) => compare::compare_cmd(args, color),
        Command::Eval(args) => evaluate::eval(args, color),
        Command::Predict(args) => evaluate::predict(args, color),
        Command::Simulate(args) => evaluate::simulate(args, color),
        Command::Cv(args) => held_out::cv(args, color),
        Command::Bench(args) => bench::bench(args, color),
    };
    match result {
        Ok(()) => 0,
        Err(Failure::Input) => 1,
        Err(Failure::Usage) => 2,
        Err(Failure::Fit(code)) => code,
        Err(Failure::Io(msg)) => {
            eprintln!("error: {}", crate::diag::visible(&msg));
            1
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default))
        .format_timestamp(None)
        .format_target(false)
        .try_init();
}

pub(crate) fn method_of(args: &FitArgs) -> Method {
    args.method.method()
}

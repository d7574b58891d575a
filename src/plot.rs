//! SVG figures of a fit, for a person to look at.
//!
//! Inputs: a compiled model, its fit report and, optionally, profile
//! intervals. Outputs, in one directory (created if missing):
//!
//! - `residuals.svg`: standardised residuals (y - mean) / sd of the fitted
//!   distribution against the fitted mean, one colour per likelihood
//!   statement, with the lines 0 and +-2;
//! - `qq.svg` (when every likelihood statement is Normal): the sorted
//!   standardised residuals against standard normal quantiles, with the
//!   identity line;
//! - `profile_NAME.svg` per profiled element: the profile deviance
//!   2 (NLL - NLL_min) against the value, the threshold, the profile bounds
//!   and the Wald bounds.
//!
//! Each file is rendered to memory and written to a temporary file in the
//! same directory, then renamed, so a reader never sees half a figure.
//! Text is left to the viewer's sans-serif font (no font files are read).
//! Non-finite points are left out; a figure with none still gets its axes
//! and a title that says so.
//!
//! The frame of a figure (size, fonts, title, labelled axes, grid, legend),
//! the file-stem rule and the thinning rule are `pub(crate)` here and are
//! shared with the evaluation figures of `evaluate::plot`.

use std::path::{Path, PathBuf};

use std::ops::Range;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::drawing::DrawingAreaErrorKind;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use statrs::distribution::{ContinuousCDF, Normal};
use thiserror::Error;

use crate::compile::Compiled;
use crate::infer::residuals::{residuals, StatementResiduals};
use crate::infer::{FitReport, ProfileBound, ProfileInterval};

/// Size of every figure in pixels.
const FIGURE_SIZE: (u32, u32) = (800, 600);

/// Above this many rows a scatter plot shows every k-th row, the same rows
/// on every run, keeping the file small enough for a browser (~100 bytes a
/// point).
const MAX_POINTS: usize = 5000;

/// Font sizes in pixels: title, axis descriptions, tick labels.
const TITLE_PX: u32 = 22;
const LABEL_PX: u32 = 16;
const TICK_PX: u32 = 13;

/// Colours of successive statements' points.
const PALETTE: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

#[derive(Debug, Error)]
pub enum PlotError {
    #[error("cannot create the figure directory `{path}`: {source}")]
    DirCreate {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the figure `{path}`: {source}")]
    FileWrite {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot draw the figure `{name}`: {message}")]
    Draw { name: String, message: String },
}

/// What [`write_fit_figures`] did.
#[derive(Debug, Default)]
pub struct Figures {
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Figures or parts left out, and why, in sentences.
    pub notes: Vec<String>,
}

/// Writes the figures of a fit to `dir`.
///
/// # Errors
///
/// When the directory cannot be created or a file cannot be written.
pub fn write_fit_figures(
    dir: &Path,
    c: &Compiled,
    report: &FitReport,
    profile: Option<&[ProfileInterval]>,
) -> Result<Figures, PlotError> {
    std::fs::create_dir_all(dir).map_err(|source| PlotError::DirCreate {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    let (stmts, notes) = residuals(c, &report.theta);
    if !stmts.is_empty() {
        let svg = residual_figure(&stmts)?;
        written.push(save_figure(dir, "residuals.svg", &svg)?);
        if stmts.iter().all(|s| s.family == "Normal") {
            let svg = qq_figure(&stmts)?;
            written.push(save_figure(dir, "qq.svg", &svg)?);
        }
    }
    // Names that clean to one stem (`s[a_b]`, `s[a-b]`, `s_a_b`) get a
    // number each after the first, so no figure overwrites another.
    let mut used = std::collections::HashSet::new();
    for interval in profile.unwrap_or(&[]) {
        let svg = profile_figure(interval)?;
        let stem = format!("profile_{}", file_stem_of(&interval.name));
        let name = (1..)
            .map(|k| match k {
                1 => format!("{stem}.svg"),
                k => format!("{stem}_{k}.svg"),
            })
            .find(|name| !used.contains(name))
            .expect("a free name");
        used.insert(name.clone());
        written.push(save_figure(dir, &name, &svg)?);
    }
    Ok(Figures {
        files: written,
        notes,
    })
}

/// Characters kept of a name in a file name: well inside the 255 bytes a
/// file name may have on common file systems, with room for a prefix and a
/// number (a factor level can be any length).
const MAX_STEM_CHARS: usize = 100;

/// `beta[2]` -> `beta_2`, `W[2,1]` -> `W_2_1`: letters, digits and `_`, at
/// most [`MAX_STEM_CHARS`] of them.
pub(crate) fn file_stem_of(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
        .take(MAX_STEM_CHARS)
        .collect();
    let trimmed = mapped.trim_end_matches('_');
    if trimmed.is_empty() {
        "param".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Writes a rendered figure as `dir/name` (see [`crate::fsutil::write_atomically`]).
fn save_figure(dir: &Path, name: &str, text: &str) -> Result<PathBuf, PlotError> {
    let path = dir.join(name);
    crate::fsutil::write_atomically(&path, text.as_bytes()).map_err(|source| {
        PlotError::FileWrite {
            path: path.clone(),
            source,
        }
    })?;
    Ok(path)
}

/// An axis range covering `values` with 5% margins; a single value or none
/// gets a unit-wide range around it (or around 0).
fn axis_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return -1.0..1.0;
    }
    let span = hi - lo;
    if span <= f64::EPSILON * lo.abs().max(hi.abs()).max(1.0) {
        let half = 0.5 * lo.abs().max(1.0);
        return (lo - half)..(hi + half);
    }
    (lo - 0.05 * span)..(hi + 0.05 * span)
}

/// The k of "every k-th of `n` rows" so that at most `max` remain.
pub(crate) fn thinning_step(n: usize, max: usize) -> usize {
    n.div_ceil(max).max(1)
}

/// Every k-th index of `n` so that at most [`MAX_POINTS`] remain, and k.
fn thinned(n: usize) -> (Vec<usize>, usize) {
    let step = thinning_step(n, MAX_POINTS);
    ((0..n).step_by(step).collect(), step)
}

/// What plotters' drawing calls return on the SVG backend.
pub(crate) type DrawResult<T> = Result<T, DrawingAreaErrorKind<std::io::Error>>;
pub(crate) type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;
pub(crate) type Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Renders one figure to SVG text: `draw` paints on a white page.
pub(crate) fn render_svg(
    name: &str,
    draw: impl FnOnce(&Area) -> DrawResult<()>,
) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, FIGURE_SIZE).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|_| draw(&root))
            .and_then(|_| root.present())
            .map_err(|e| PlotError::Draw {
                name: name.to_string(),
                message: e.to_string(),
            })?;
    }
    Ok(svg)
}

/// Title, labelled axes and a light grid.
pub(crate) fn axes<'a, 'b>(
    root: &'a Area<'b>,
    title: &str,
    (x_range, y_range): (Range<f64>, Range<f64>),
    (x_desc, y_desc): (&str, &str),
) -> DrawResult<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", TITLE_PX))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, y_range)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(("sans-serif", LABEL_PX))
        .label_style(("sans-serif", TICK_PX))
        .max_light_lines(0)
        .bold_line_style(BLACK.mix(0.12))
        .x_label_formatter(&|v| tick_label(*v))
        .y_label_formatter(&|v| tick_label(*v))
        .draw()?;
    Ok(chart)
}

/// A tick label: plain up to 5 significant digits for moderate
/// magnitudes, exponent form for very large or very small ones, so no label
/// runs into its neighbours.
fn tick_label(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let magnitude = v.abs();
    if (1e-3..1e5).contains(&magnitude) {
        let decimals = (4 - magnitude.log10().floor() as i32).clamp(0, 6) as usize;
        let text = format!("{v:.decimals$}");
        let text = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        };
        text
    } else {
        format!("{v:.2e}")
    }
}

/// The legend of the labelled series, at `position`.
pub(crate) fn legend<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    position: SeriesLabelPosition,
) -> DrawResult<()> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", TICK_PX))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.5))
        .draw()
}

/// A horizontal line across the plot at `y`.
fn horizontal(x_range: &Range<f64>, y: f64) -> [(f64, f64); 2] {
    [(x_range.start, y), (x_range.end, y)]
}

/// A legend entry: a short line in `colour`.
pub(crate) fn legend_line(colour: RGBAColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new([(x - 10, y), (x + 10, y)], colour)
}

fn residual_figure(stmts: &[StatementResiduals]) -> Result<String, PlotError> {
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut n_total = 0;
    let mut step_max = 1;
    for (k, s) in stmts.iter().enumerate() {
        let (rows, step) = thinned(s.fitted.len());
        step_max = step_max.max(step);
        n_total += s.fitted.len();
        let points: Vec<(f64, f64)> = rows
            .iter()
            .map(|i| (s.fitted[*i], s.standardised[*i]))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let label = if stmts.len() == 1 {
            s.family.to_string()
        } else {
            format!("statement {} ({})", k + 1, s.family)
        };
        series.push((label, points));
    }
    let all = || series.iter().flat_map(|(_, p)| p.iter());
    let x_range = axis_range(all().map(|p| p.0));
    // Keep the +-2 reference lines in view.
    let y_range = axis_range(all().map(|p| p.1).chain([-2.5, 2.5]));
    let n_shown: usize = series.iter().map(|(_, p)| p.len()).sum();
    let mut title = "Standardised residuals against fitted values".to_string();
    if n_shown == 0 {
        title.push_str(" (no finite residuals)");
    } else if step_max > 1 {
        title.push_str(&format!(" (every {step_max}th of {n_total} rows)"));
    }

    render_svg("residuals.svg", |root| {
        let labels = ("fitted mean", "standardised residual (y - mean) / sd");
        let mut chart = axes(root, &title, (x_range.clone(), y_range), labels)?;
        for level in [0.0, -2.0, 2.0] {
            let shade = if level == 0.0 { 1.0 } else { 0.4 };
            let line = horizontal(&x_range, level);
            chart.draw_series(LineSeries::new(line, BLACK.mix(shade).stroke_width(1)))?;
        }
        for (k, (label, points)) in series.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let dots = points
                .iter()
                .map(|p| Circle::new(*p, 3, colour.mix(0.6).filled()));
            chart
                .draw_series(dots)?
                .label(label.as_str())
                .legend(move |(x, y)| Circle::new((x, y), 4, colour.filled()));
        }
        // One statement needs no legend: the title says what the points are.
        if series.len() > 1 {
            legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    })
}

fn qq_figure(stmts: &[StatementResiduals]) -> Result<String, PlotError> {
    let mut r: Vec<f64> = stmts
        .iter()
        .flat_map(|s| s.standardised.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    r.sort_by(f64::total_cmp);
    let n = r.len();
    // Theoretical quantiles at the plotting positions (i - 1/2) / n,
    // i = 1..n (Hazen's), which never reach 0 or 1.
    let normal = Normal::standard();
    let (rows, step) = thinned(n);
    let points: Vec<(f64, f64)> = rows
        .iter()
        .map(|i| (normal.inverse_cdf((*i as f64 + 0.5) / n as f64), r[*i]))
        .collect();
    let range = axis_range(points.iter().flat_map(|p| [p.0, p.1]).chain([-2.0, 2.0]));
    let mut title = "Normal Q-Q plot of standardised residuals".to_string();
    if n == 0 {
        title.push_str(" (no finite residuals)");
    } else if step > 1 {
        title.push_str(&format!(" (every {step}th of {n})"));
    }

    render_svg("qq.svg", |root| {
        let labels = ("standard normal quantile", "standardised residual, sorted");
        let mut chart = axes(root, &title, (range.clone(), range.clone()), labels)?;
        let identity = [(range.start, range.start), (range.end, range.end)];
        let grey = BLACK.mix(0.6);
        chart
            .draw_series(LineSeries::new(identity, grey.stroke_width(1)))?
            .label("y = x: residuals as a standard normal")
            .legend(legend_line(grey));
        let dots = points
            .iter()
            .map(|p| Circle::new(*p, 3, PALETTE[0].mix(0.6).filled()));
        chart.draw_series(dots)?;
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

fn profile_figure(p: &ProfileInterval) -> Result<String, PlotError> {
    let name = format!("profile_{}.svg", file_stem_of(&p.name));
    let curve: Vec<(f64, f64)> = p
        .curve
        .iter()
        .map(|c| (c.value, c.deviance))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let bounds: Vec<f64> = [&p.lower, &p.upper]
        .iter()
        .filter_map(|b| b.value())
        .collect();
    let wald: Vec<f64> = [p.wald_lower, p.wald_upper]
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    // Show the curve where it matters: up to four times the threshold
    // (the search goes further on a flat side).
    let shown: Vec<(f64, f64)> = curve
        .iter()
        .copied()
        .filter(|(_, y)| *y <= 4.0 * p.threshold)
        .collect();
    let x_range = axis_range(
        shown
            .iter()
            .map(|c| c.0)
            .chain(bounds.iter().copied())
            .chain(wald.iter().copied())
            .chain([p.estimate]),
    );
    let y_range = axis_range(shown.iter().map(|c| c.1).chain([0.0, 1.2 * p.threshold]));
    let level_pct = format!("{:.1}", 100.0 * p.level);
    let level_pct = level_pct.trim_end_matches(".0");
    let describe = |b: &ProfileBound| match b {
        ProfileBound::Found { .. } => None,
        ProfileBound::Unbounded { .. } => Some("unbounded"),
        ProfileBound::Failed { .. } => Some("failed"),
    };
    let mut title = format!("Profile likelihood of {} ({level_pct}% interval)", p.name);
    if let Some(d) = describe(&p.lower).or(describe(&p.upper)) {
        title.push_str(&format!(", a bound {d}"));
    }

    render_svg(&name, |root| {
        let labels = (p.name.as_str(), "2 (NLL_profile - NLL_min)");
        let mut chart = axes(root, &title, (x_range.clone(), y_range.clone()), labels)?;
        let blue = PALETTE[0].to_rgba();
        chart
            .draw_series(LineSeries::new(shown.iter().copied(), blue.stroke_width(2)))?
            .label("profile deviance")
            .legend(legend_line(blue));
        chart.draw_series(shown.iter().map(|c| Circle::new(*c, 3, blue.filled())))?;
        let grey = BLACK.mix(0.6);
        let threshold = horizontal(&x_range, p.threshold);
        chart
            .draw_series(LineSeries::new(threshold, grey.stroke_width(1)))?
            .label(format!(
                "chi-square(1) {level_pct}% quantile = {:.3}",
                p.threshold
            ))
            .legend(legend_line(grey));

        let vertical = |v: &f64| [(*v, y_range.start), (*v, y_range.end)];
        if !bounds.is_empty() {
            let red = PALETTE[1].to_rgba();
            let lines = bounds
                .iter()
                .map(|v| PathElement::new(vertical(v), red.stroke_width(2)));
            chart
                .draw_series(lines)?
                .label("profile interval")
                .legend(legend_line(red));
        }
        if !wald.is_empty() {
            let green = PALETTE[2].to_rgba();
            let dashes = wald
                .iter()
                .map(|v| DashedPathElement::new(vertical(v), 6, 4, green.stroke_width(1)));
            chart
                .draw_series(dashes)?
                .label("Wald interval")
                .legend(legend_line(green));
        }
        legend(&mut chart, SeriesLabelPosition::UpperMiddle)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_names_become_file_stems() {
        assert_eq!(file_stem_of("beta[2]"), "beta_2");
        assert_eq!(file_stem_of("W[2,1]"), "W_2_1");
        assert_eq!(file_stem_of("sigma"), "sigma");
        let long = format!("u[{}]", "x".repeat(300));
        assert_eq!(file_stem_of(&long).len(), MAX_STEM_CHARS);
    }

    #[test]
    fn tick_labels_stay_short() {
        assert_eq!(tick_label(0.0), "0");
        assert_eq!(tick_label(2.5), "2.5");
        assert_eq!(tick_label(1500.0), "1500");
        assert_eq!(tick_label(-0.125), "-0.125");
        assert_eq!(tick_label(4.5e14), "4.50e14");
        assert_eq!(tick_label(1e-7), "1.00e-7");
    }

    #[test]
    fn axis_ranges_of_degenerate_data_have_width() {
        let r = axis_range([3.0, 3.0].into_iter());
        assert!(r.start < 3.0 && r.end > 3.0);
        let r = axis_range([f64::NAN, f64::INFINITY].into_iter());
        assert_eq!(r, -1.0..1.0);
        let r = axis_range(std::iter::empty());
        assert!(r.start < r.end);
    }
}

//! SVG figures of an evaluation: a reliability diagram per classifier
//! statement, and per continuous or count statement a PIT histogram and the
//! observed values against their prediction intervals.
//!
//! Drawn in the frame of the fit figures ([`crate::plot`]: size, fonts,
//! labelled axes, legend, file-stem and thinning rules), with plotters' SVG
//! backend only, so no font files or system libraries are needed. Each
//! figure is rendered in memory and written atomically.

use std::io;
use std::path::Path;

use plotters::prelude::*;

use super::report::EvalReport;
use super::{Prediction, StatementRows};
use crate::plot::{axes, file_stem_of, legend, legend_line, render_svg, thinning_step, PlotError};

/// At most this many rows are drawn in an interval plot (evenly spaced in
/// the order of the predicted median), so the file stays small.
const MAX_INTERVAL_ROWS: usize = 400;

/// Writes every figure of `report` into `dir` (created if needed); returns
/// the files written.
///
/// # Errors
///
/// The folder cannot be created or a file cannot be written.
pub fn write_all(
    dir: &Path,
    rows: &[StatementRows],
    report: &EvalReport,
) -> io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (idx, (sr, eval)) in rows.iter().zip(&report.statements).enumerate() {
        let stem = format!("{}_{}", idx + 1, file_stem_of(&sr.lhs));
        let mut save = |kind: &str, figure: &dyn Fn(&str) -> Result<String, PlotError>| {
            let name = format!("{kind}_{stem}.svg");
            let svg = figure(&name).map_err(io::Error::other)?;
            crate::fsutil::write_atomically(&dir.join(&name), svg.as_bytes())?;
            written.push(name);
            io::Result::Ok(())
        };
        if let Some(c) = &eval.classification {
            let points: Vec<(f64, f64, usize)> = c
                .reliability_equal_mass
                .iter()
                .filter_map(|b| Some((b.mean_predicted?, b.observed?, b.n)))
                .collect();
            let title = format!(
                "Reliability ({} equal-mass bins): {}",
                points.len(),
                sr.label
            );
            let x_desc = format!("predicted {}", c.calibrated_quantity);
            save("reliability", &|name| {
                reliability_svg(name, &title, &x_desc, &points)
            })?;
        }
        if let Some(p) = &eval.calibration {
            let title = format!(
                "PIT histogram{}: {}",
                if p.randomized_pit {
                    " (randomised)"
                } else {
                    ""
                },
                sr.label
            );
            save("pit", &|name| pit_svg(name, &title, &p.pit_histogram))?;
        }
        if let Prediction::Distribution { dists, .. } = &sr.prediction {
            let title = format!("Observed vs 50% and 95% intervals: {}", sr.label);
            // Only the rows the metrics use: every argument in its support.
            let used = super::rows_in_support(rows, dists.len());
            let dists: Vec<super::Predictive> = used.iter().map(|i| dists[*i].clone()).collect();
            let y: Vec<f64> = used.iter().map(|i| sr.y[*i]).collect();
            save("intervals", &|name| intervals_svg(name, &title, &dists, &y))?;
        }
    }
    Ok(written)
}

type PlotResult = Result<String, PlotError>;

fn reliability_svg(
    name: &str,
    title: &str,
    x_desc: &str,
    points: &[(f64, f64, usize)],
) -> PlotResult {
    render_svg(name, |root| {
        let ranges = (0.0..1.0, 0.0..1.0);
        let mut chart = axes(root, title, ranges, (x_desc, "observed frequency"))?;
        let grey = BLACK.mix(0.5);
        chart
            .draw_series(LineSeries::new(vec![(0.0, 0.0), (1.0, 1.0)], grey))?
            .label("perfect calibration")
            .legend(legend_line(grey));
        let blue = BLUE.to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|(x, y, _)| (*x, *y)),
                blue,
            ))?
            .label("model (bin means)")
            .legend(legend_line(blue));
        chart.draw_series(
            points
                .iter()
                .map(|(x, y, _)| Circle::new((*x, *y), 4, blue.filled())),
        )?;
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

fn pit_svg(name: &str, title: &str, counts: &[usize]) -> PlotResult {
    let n: usize = counts.iter().sum();
    let n_bins = counts.len().max(1);
    let expected = n as f64 / n_bins as f64;
    let top = counts.iter().copied().max().unwrap_or(0) as f64;
    let y_top = top.max(expected) * 1.15 + 1.0;
    render_svg(name, |root| {
        let labels = ("PIT value F(y)", "rows");
        let mut chart = axes(root, title, (0.0..1.0, 0.0..y_top), labels)?;
        let w = 1.0 / n_bins as f64;
        chart.draw_series(counts.iter().enumerate().map(|(b, c)| {
            let x0 = b as f64 * w;
            Rectangle::new([(x0, 0.0), (x0 + w, *c as f64)], BLUE.mix(0.5).filled())
        }))?;
        let red = RED.to_rgba();
        chart
            .draw_series(LineSeries::new(vec![(0.0, expected), (1.0, expected)], red))?
            .label("expected if calibrated")
            .legend(legend_line(red));
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

fn intervals_svg(name: &str, title: &str, dists: &[super::Predictive], y: &[f64]) -> PlotResult {
    // Rows in the order of their predicted median, thinned evenly.
    let mut rows: Vec<(f64, f64, f64, f64, f64, f64)> = dists
        .iter()
        .zip(y)
        .filter_map(|(d, yi)| {
            Some((
                d.quantile(0.5)?,
                d.quantile(0.025)?,
                d.quantile(0.975)?,
                d.quantile(0.25)?,
                d.quantile(0.75)?,
                *yi,
            ))
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let step = thinning_step(rows.len(), MAX_INTERVAL_ROWS);
    let rows: Vec<_> = rows.into_iter().step_by(step).collect();
    let lo = rows
        .iter()
        .map(|r| r.1.min(r.5))
        .fold(f64::INFINITY, f64::min);
    let hi = rows
        .iter()
        .map(|r| r.2.max(r.5))
        .fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() && hi.is_finite() && hi > lo {
        let pad = 0.05 * (hi - lo);
        (lo - pad, hi + pad)
    } else {
        (0.0, 1.0)
    };
    render_svg(name, |root| {
        let ranges = (0.0..rows.len().max(1) as f64, lo..hi);
        let labels = (
            "rows, ordered by predicted median",
            "observed value and intervals",
        );
        let mut chart = axes(root, title, ranges, labels)?;
        let outer = BLUE.mix(0.25);
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let x = i as f64 + 0.5;
                PathElement::new(vec![(x, r.1), (x, r.2)], outer)
            }))?
            .label("95% interval")
            .legend(legend_line(outer));
        let inner = BLUE.mix(0.7);
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let x = i as f64 + 0.5;
                PathElement::new(vec![(x, r.3), (x, r.4)], inner.stroke_width(2))
            }))?
            .label("50% interval")
            .legend(legend_line(inner));
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let inside = r.1 <= r.5 && r.5 <= r.2;
                let color = if inside { BLACK } else { RED };
                Circle::new((i as f64 + 0.5, r.5), 2, color.filled())
            }))?
            .label("observed (red: outside 95%)")
            .legend(|(x, y)| Circle::new((x, y), 3, BLACK.filled()));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

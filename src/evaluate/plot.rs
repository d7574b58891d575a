//! SVG figures of an evaluation: a reliability diagram per classifier
//! statement, and per continuous or count statement a PIT histogram and the
//! observed values against their prediction intervals.
//!
//! Drawn with plotters' SVG backend only: text is written as SVG `<text>`
//! and its size is estimated, so no font files or system libraries are
//! needed. Each figure is rendered in memory and written atomically.

use std::io;
use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::report::EvalReport;
use super::{Prediction, StatementRows};

const SIZE: (u32, u32) = (720, 520);

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
        let stem = format!("{}_{}", idx + 1, file_stem(&sr.lhs));
        let mut save = |kind: &str, svg: String| -> io::Result<()> {
            let name = format!("{kind}_{stem}.svg");
            crate::fitfile::write_atomic(&dir.join(&name), svg.as_bytes())?;
            written.push(name);
            Ok(())
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
            save(
                "reliability",
                reliability_svg(&title, &x_desc, &points).map_err(io::Error::other)?,
            )?;
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
            save(
                "pit",
                pit_svg(&title, &p.pit_histogram).map_err(io::Error::other)?,
            )?;
        }
        if let Prediction::Distribution { dists, .. } = &sr.prediction {
            let title = format!("Observed vs 50% and 95% intervals: {}", sr.label);
            let svg = intervals_svg(&title, dists, &sr.y).map_err(io::Error::other)?;
            save("intervals", svg)?;
        }
    }
    Ok(written)
}

/// Letters, digits and `_` of a left side, for a file name.
fn file_stem(lhs: &str) -> String {
    let s: String = lhs
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    s.trim_matches('_').to_string()
}

type PlotResult = Result<String, String>;

/// The chart type every figure draws on: f64 on both axes, SVG.
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Axes and labels shared by the figures.
struct Frame<'t> {
    title: &'t str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    x_desc: &'t str,
    y_desc: &'t str,
}

/// Renders `frame` with `draw` filling it; returns the SVG text.
fn render(
    frame: Frame<'_>,
    legend_at: SeriesLabelPosition,
    draw: impl FnOnce(&mut Chart<'_, '_>) -> Result<(), String>,
) -> PlotResult {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(frame.title, ("sans-serif", 18))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(frame.x, frame.y)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(frame.x_desc)
            .y_desc(frame.y_desc)
            .draw()
            .map_err(|e| e.to_string())?;
        draw(&mut chart)?;
        chart
            .configure_series_labels()
            .position(legend_at)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

fn reliability_svg(title: &str, x_desc: &str, points: &[(f64, f64, usize)]) -> PlotResult {
    let frame = Frame {
        title,
        x: 0.0..1.0,
        y: 0.0..1.0,
        x_desc,
        y_desc: "observed frequency",
    };
    render(frame, SeriesLabelPosition::UpperLeft, |chart| {
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                BLACK.mix(0.5),
            ))
            .map_err(|e| e.to_string())?
            .label("perfect calibration")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.5)));
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|(x, y, _)| (*x, *y)),
                BLUE,
            ))
            .map_err(|e| e.to_string())?
            .label("model (bin means)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        chart
            .draw_series(
                points
                    .iter()
                    .map(|(x, y, _)| Circle::new((*x, *y), 4, BLUE.filled())),
            )
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

fn pit_svg(title: &str, counts: &[usize]) -> PlotResult {
    let n: usize = counts.iter().sum();
    let n_bins = counts.len().max(1);
    let expected = n as f64 / n_bins as f64;
    let top = counts.iter().copied().max().unwrap_or(0) as f64;
    let frame = Frame {
        title,
        x: 0.0..1.0,
        y: 0.0..top.max(expected) * 1.15 + 1.0,
        x_desc: "PIT value F(y)",
        y_desc: "rows",
    };
    render(frame, SeriesLabelPosition::UpperRight, |chart| {
        let w = 1.0 / n_bins as f64;
        chart
            .draw_series(counts.iter().enumerate().map(|(b, c)| {
                let x0 = b as f64 * w;
                Rectangle::new([(x0, 0.0), (x0 + w, *c as f64)], BLUE.mix(0.5).filled())
            }))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(vec![(0.0, expected), (1.0, expected)], RED))
            .map_err(|e| e.to_string())?
            .label("expected if calibrated")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        Ok(())
    })
}

fn intervals_svg(title: &str, dists: &[super::Predictive], y: &[f64]) -> PlotResult {
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
    let step = rows.len().div_ceil(MAX_INTERVAL_ROWS).max(1);
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
    let frame = Frame {
        title,
        x: 0.0..rows.len().max(1) as f64,
        y: lo..hi,
        x_desc: "rows, ordered by predicted median",
        y_desc: "observed value and intervals",
    };
    render(frame, SeriesLabelPosition::UpperLeft, |chart| {
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let x = i as f64 + 0.5;
                PathElement::new(vec![(x, r.1), (x, r.2)], BLUE.mix(0.25))
            }))
            .map_err(|e| e.to_string())?
            .label("95% interval")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.mix(0.25)));
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let x = i as f64 + 0.5;
                PathElement::new(vec![(x, r.3), (x, r.4)], BLUE.mix(0.7).stroke_width(2))
            }))
            .map_err(|e| e.to_string())?
            .label("50% interval")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.mix(0.7)));
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let inside = r.1 <= r.5 && r.5 <= r.2;
                let color = if inside { BLACK } else { RED };
                Circle::new((i as f64 + 0.5, r.5), 2, color.filled())
            }))
            .map_err(|e| e.to_string())?
            .label("observed (red: outside 95%)")
            .legend(|(x, y)| Circle::new((x + 10, y), 3, BLACK.filled()));
        Ok(())
    })
}

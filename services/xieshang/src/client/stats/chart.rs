//! SVG charts of `xieshang stats chart`, drawn with plotters' SVG backend
//! (text is written as SVG `<text>`, so no fonts are compiled in).

use anyhow::{Result, anyhow};
use plotters::prelude::*;

const SIZE: (u32, u32) = (960, 540);

/// How the y axis reads: counts, or rates in [0, 1] shown as percentages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Count,
    Rate,
}

impl Scale {
    fn top(self, values: &[f64]) -> f64 {
        match self {
            Self::Rate => 1.0,
            Self::Count => {
                let max = values.iter().copied().fold(0.0_f64, f64::max);
                if max <= 0.0 { 1.0 } else { (max * 1.15).ceil() }
            }
        }
    }

    /// At most this many y labels: whole numbers for small counts, tens of percent for rates.
    fn labels(self, top: f64) -> usize {
        match self {
            Self::Rate => 11,
            Self::Count => (top as usize + 1).clamp(2, 11),
        }
    }

    fn label(self, v: f64) -> String {
        match self {
            Self::Rate => format!("{:.0}%", v * 100.0),
            Self::Count if v.fract() == 0.0 => format!("{}", v as i64),
            Self::Count => format!("{v:.1}"),
        }
    }
}

fn fail<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("cannot draw the chart: {e}")
}

/// A line chart of twelve monthly values (January first); `None` is a month without data.
pub fn monthly_line(title: &str, y_desc: &str, scale: Scale, values: &[Option<f64>]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(fail)?;
        let known: Vec<f64> = values.iter().flatten().copied().collect();
        let top = scale.top(&known);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0.5_f64..12.5_f64, 0.0_f64..top)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .x_labels(12)
            .x_label_formatter(&|x| format!("{:02}", x.round() as i64))
            .y_labels(scale.labels(top))
            .y_label_formatter(&|y| scale.label(*y))
            .label_style(("sans-serif", 14))
            .x_desc("month 月份")
            .y_desc(y_desc)
            .draw()
            .map_err(fail)?;
        let points: Vec<(f64, f64)> =
            values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i as f64 + 1.0, v))).collect();
        chart.draw_series(LineSeries::new(points.clone(), BLUE.stroke_width(2))).map_err(fail)?;
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, BLUE.filled()))).map_err(fail)?;
        root.present().map_err(fail)?;
    }
    Ok(svg)
}

/// A bar chart of named values in the given order (the ranking); `None` draws no bar.
pub fn ranking_bars(title: &str, y_desc: &str, scale: Scale, bars: &[(String, Option<f64>)]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(fail)?;
        let known: Vec<f64> = bars.iter().filter_map(|(_, v)| *v).collect();
        let top = scale.top(&known);
        let n = bars.len().max(1) as u32;
        let names: Vec<String> = bars.iter().map(|(name, _)| name.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d((0u32..n).into_segmented(), 0.0_f64..top)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n as usize)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                    names.get(*i as usize).cloned().unwrap_or_default()
                }
                SegmentValue::Last => String::new(),
            })
            .y_labels(scale.labels(top))
            .y_label_formatter(&|y| scale.label(*y))
            .label_style(("sans-serif", 14))
            .y_desc(y_desc)
            .draw()
            .map_err(fail)?;
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(BLUE.mix(0.7).filled())
                    .margin(12)
                    .data(bars.iter().enumerate().filter_map(|(i, (_, v))| v.map(|v| (i as u32, v)))),
            )
            .map_err(fail)?;
        root.present().map_err(fail)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_chart_is_svg_with_a_line() {
        let mut values = vec![Some(0.0); 12];
        values[10] = Some(6.0);
        values[11] = None;
        let svg = monthly_line("宁晋县政协 proposals filed 立案 2026", "proposals filed 立案", Scale::Count, &values)
            .unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert!(svg.contains("<polyline") || svg.contains("<path"), "{svg}");
        assert!(svg.contains("宁晋县政协"));
    }

    #[test]
    fn a_bar_chart_names_its_bars() {
        let bars = vec![("临城县政协".to_owned(), Some(1.0)), ("宁晋县政协".to_owned(), Some(0.5)), ("x".into(), None)];
        let svg = ranking_bars("邢台市政协 on-time reply rate", "rate", Scale::Rate, &bars).unwrap();
        assert!(svg.contains("<svg") && svg.contains("<rect"), "{svg}");
        assert!(svg.contains("临城县政协") && svg.contains("宁晋县政协"), "{svg}");
    }
}

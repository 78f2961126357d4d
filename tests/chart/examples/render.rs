//! Prints the chart rendered for the given values files (relative to helm/xieshang), like
//! `helm template xs helm/xieshang -f FILE…`, for a look without helm:
//!
//!     cargo run -p xieshang-chart --example render -- ci/production-values.yaml

use xieshang_chart::{Chart, Release, chart_dir};

fn main() -> anyhow::Result<()> {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let chart = Chart::load(chart_dir())?;
    let values = chart.values_with(&files)?;
    for rendered in chart.render(&values, &Release::default())? {
        if rendered.text.trim().is_empty() {
            continue;
        }
        println!("---\n# Source: xieshang/{}\n{}", rendered.path, rendered.text.trim_start_matches('\n'));
    }
    Ok(())
}

//! The tables of `xieshang stats`, kept typed so that one model renders as a
//! terminal table, an .xlsx workbook (numbers as numbers, rates as percent),
//! a CSV file (UTF-8 with BOM) and Markdown.

use anyhow::{Context, Result};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// One value of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A count (or a ranking value that is a count).
    Count(f64),
    /// A rate in [0, 1]; `None` when its denominator is zero (no data).
    Rate(Option<f64>),
    /// The change of a count.
    CountChange(f64),
    /// The change of a rate, in [-1, 1]; `None` when it is not defined.
    RateChange(Option<f64>),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    /// How people read it: `12`, `75.0%`, `+4`, `+12.5 pp`, `—` for no data.
    pub fn display(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Count(v) => count_text(*v),
            Self::Rate(Some(v)) => format!("{:.1}%", v * 100.0),
            Self::Rate(None) | Self::RateChange(None) => "—".to_owned(),
            Self::CountChange(v) if *v > 0.0 => format!("+{}", count_text(*v)),
            Self::CountChange(v) => count_text(*v),
            Self::RateChange(Some(v)) => {
                let points = v * 100.0;
                if points.abs() < 0.05 { "0.0 pp".to_owned() } else { format!("{points:+.1} pp") }
            }
        }
    }

    fn numeric(&self) -> bool {
        !matches!(self, Self::Text(_))
    }
}

fn count_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v:.2}") }
}

/// A titled table.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The worksheet's name in an .xlsx (at most 31 characters).
    pub name: String,
    /// A heading for people.
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Sheet {
    /// The table for the terminal, numbers aligned right.
    pub fn table(&self) -> String {
        let mut table = comfy_table::Table::new();
        table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
        table.set_header(self.header.clone());
        for row in &self.rows {
            table.add_row(row.iter().map(|c| {
                let cell = comfy_table::Cell::new(c.display());
                if c.numeric() { cell.set_alignment(comfy_table::CellAlignment::Right) } else { cell }
            }));
        }
        table.to_string()
    }

    /// A Markdown table (pipes in values escaped).
    pub fn markdown(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|");
        let mut text = format!("| {} |\n", self.header.iter().map(|h| esc(h)).collect::<Vec<_>>().join(" | "));
        let aligns: Vec<&str> = (0..self.header.len())
            .map(|i| if self.rows.first().and_then(|r| r.get(i)).is_some_and(Cell::numeric) { "---:" } else { "---" })
            .collect();
        text.push_str(&format!("| {} |\n", aligns.join(" | ")));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| esc(c.display().trim())).collect();
            text.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        text
    }
}

/// Terminal text: each sheet's title, then its table.
pub fn text(sheets: &[Sheet]) -> String {
    let mut text = String::new();
    for (i, sheet) in sheets.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&sheet.title);
        text.push('\n');
        if sheet.rows.is_empty() {
            text.push_str("(none)\n");
        } else {
            text.push_str(&sheet.table());
            text.push('\n');
        }
    }
    text
}

/// A Markdown document: a title, lines of prose, then each sheet under a heading.
pub fn markdown(title: &str, intro: &[String], sheets: &[Sheet]) -> String {
    let mut text = format!("# {title}\n\n");
    for line in intro {
        text.push_str(line);
        text.push_str("\n\n");
    }
    for sheet in sheets {
        text.push_str(&format!("## {}\n\n", sheet.title));
        if sheet.rows.is_empty() {
            text.push_str("_None._\n\n");
        } else {
            text.push_str(&sheet.markdown());
            text.push('\n');
        }
    }
    text
}

/// Display width, counting CJK and other wide characters as two columns.
fn width(s: &str) -> usize {
    s.chars().map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 }).sum()
}

/// A workbook with one worksheet per sheet: a bold header row (frozen),
/// column widths to fit, counts as numbers and rates in percent format.
pub fn xlsx(sheets: &[Sheet]) -> Result<Vec<u8>> {
    xlsx_inner(sheets).context("cannot build the .xlsx workbook")
}

fn xlsx_inner(sheets: &[Sheet]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let percent_change = Format::new().set_num_format("+0.0%;-0.0%;0.0%");
    let count = Format::new().set_num_format("0");
    let count_change = Format::new().set_num_format("+0;-0;0");
    for (i, sheet) in sheets.iter().enumerate() {
        let ws = book.add_worksheet();
        ws.set_name(sheet_name(&sheet.name, i))?;
        for (c, header) in sheet.header.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, header, &bold)?;
            let widest = sheet.rows.iter().filter_map(|r| r.get(c)).map(|v| width(&v.display())).max().unwrap_or(0);
            let w = widest.max(width(header)).clamp(8, 60) + 2;
            ws.set_column_width(c as u16, w as f64)?;
        }
        ws.set_freeze_panes(1, 0)?;
        for (r, row) in sheet.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(r, c, s)?;
                    }
                    Cell::Count(v) if v.fract() == 0.0 => {
                        ws.write_number_with_format(r, c, *v, &count)?;
                    }
                    Cell::Count(v) => {
                        ws.write_number(r, c, *v)?;
                    }
                    Cell::CountChange(v) => {
                        ws.write_number_with_format(r, c, *v, &count_change)?;
                    }
                    Cell::Rate(Some(v)) => {
                        ws.write_number_with_format(r, c, *v, &percent)?;
                    }
                    Cell::RateChange(Some(v)) => {
                        ws.write_number_with_format(r, c, *v, &percent_change)?;
                    }
                    // No data: left empty, not a misleading 0%.
                    Cell::Rate(None) | Cell::RateChange(None) => {}
                }
            }
        }
    }
    book.save_to_buffer()
}

/// A valid, unique worksheet name: no `[]:*?/\`, at most 31 characters.
fn sheet_name(name: &str, index: usize) -> String {
    let clean: String =
        name.chars().filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\')).take(28).collect();
    let clean = clean.trim().trim_matches('\'').to_owned();
    if clean.is_empty() { format!("sheet {}", index + 1) } else { clean }
}

/// A CSV file in UTF-8 with a BOM (so Excel reads Chinese correctly): each
/// sheet's header and rows, sheets separated by an empty line.
pub fn csv(sheets: &[Sheet]) -> Result<Vec<u8>> {
    let mut bytes = "\u{FEFF}".as_bytes().to_vec();
    {
        let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(&mut bytes);
        for (i, sheet) in sheets.iter().enumerate() {
            if i > 0 {
                writer.write_record([""])?;
            }
            writer.write_record(&sheet.header)?;
            for row in &sheet.rows {
                writer.write_record(row.iter().map(|c| c.display().trim().to_owned()))?;
            }
        }
        writer.flush()?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Sheet> {
        vec![Sheet {
            name: "figures".into(),
            title: "宁晋县政协 (130528) — 2026".into(),
            header: vec!["figure 指标".into(), "2026".into(), "2025".into(), "Δ".into()],
            rows: vec![
                vec![Cell::text("proposals filed 立案"), Cell::Count(3.0), Cell::Count(1.0), Cell::CountChange(2.0)],
                vec![
                    Cell::text("on-time reply rate 按期答复率"),
                    Cell::Rate(Some(0.75)),
                    Cell::Rate(None),
                    Cell::RateChange(None),
                ],
                vec![
                    Cell::text("filing rate 立案率"),
                    Cell::Rate(Some(0.5)),
                    Cell::Rate(Some(0.625)),
                    Cell::RateChange(Some(-0.125)),
                ],
            ],
        }]
    }

    #[test]
    fn cells_read_as_people_expect() {
        assert_eq!(Cell::Count(12.0).display(), "12");
        assert_eq!(Cell::Count(1.5).display(), "1.50");
        assert_eq!(Cell::Rate(Some(2.0 / 3.0)).display(), "66.7%");
        assert_eq!(Cell::Rate(None).display(), "—");
        assert_eq!(Cell::CountChange(4.0).display(), "+4");
        assert_eq!(Cell::CountChange(-2.0).display(), "-2");
        assert_eq!(Cell::CountChange(0.0).display(), "0");
        assert_eq!(Cell::RateChange(Some(0.125)).display(), "+12.5 pp");
        assert_eq!(Cell::RateChange(Some(-0.0001)).display(), "0.0 pp");
    }

    #[test]
    fn tables_markdown_and_csv_hold_the_values() {
        let sheets = sample();
        let t = text(&sheets);
        assert!(t.contains("宁晋县政协 (130528)") && t.contains("75.0%") && t.contains("-12.5 pp"), "{t}");
        let md = markdown("summary", &["intro".into()], &sheets);
        assert!(md.contains("| proposals filed 立案 | 3 | 1 | +2 |"), "{md}");
        let bytes = csv(&sheets).unwrap();
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
        let body = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert!(body.contains("on-time reply rate 按期答复率,75.0%,—,—"), "{body}");
    }

    #[test]
    fn xlsx_is_a_zip_with_a_sheet() {
        let bytes = xlsx(&sample()).unwrap();
        assert!(bytes.starts_with(b"PK"));
        assert_eq!(sheet_name("a/b:[c]", 0), "abc");
        assert_eq!(sheet_name("[]", 2), "sheet 3");
    }
}

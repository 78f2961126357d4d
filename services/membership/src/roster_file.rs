//! Roster files (委员名单): reading .xlsx (calamine) and .csv (csv) into
//! cells, validating each row into a [`NewMember`] with Chinese-friendly
//! messages naming the row and the column, and writing the same columns as
//! .xlsx (rust_xlsxwriter). Plain functions, no database.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{Format, Workbook};
use uuid::Uuid;

use crate::domain::{self, Gender, MemberRole, NewMember, Party, Profile, ReferenceKind};

/// The columns, in export order.
pub const HEADERS: [&str; 15] = [
    "姓名",
    "性别",
    "民族",
    "出生年份",
    "党派",
    "界别",
    "工作单位及职务",
    "手机号",
    "身份证号",
    "届次",
    "职务",
    "常委",
    "活动小组",
    "专委会",
    "联络站",
];

/// Columns a file must have (the others may be left out).
const REQUIRED: [usize; 9] = [0, 1, 4, 5, 7, 8, 9, 10, 13];

pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Xlsx,
    Csv,
}

/// One problem in a cell (or a row, with an empty column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub row: u32,
    pub column: String,
    pub message: String,
}

impl RowError {
    pub fn cell(row: u32, column: &str, problem: &str) -> Self {
        Self { row, column: column.to_owned(), message: format!("第{row}行「{column}」{problem}") }
    }

    pub fn row(row: u32, problem: &str) -> Self {
        Self { row, column: String::new(), message: format!("第{row}行{problem}") }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportPhase {
    Validating = 1,
    Writing = 2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportProgress {
    pub phase: ImportPhase,
    pub rows_done: i32,
    pub rows_total: i32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub dry_run: bool,
    pub rows_total: i32,
    pub rows_valid: i32,
    pub errors: Vec<RowError>,
    pub committed: bool,
    pub members_created: i32,
}

/// A file's rows: (spreadsheet row number, cells as text).
pub type Rows = Vec<(u32, Vec<String>)>;

/// The rows of the first worksheet (xlsx) or of the file (csv), empty rows left out.
pub fn read(format: FileFormat, bytes: &[u8]) -> Result<Rows, String> {
    let rows = match format {
        FileFormat::Xlsx => read_xlsx(bytes)?,
        FileFormat::Csv => read_csv(bytes)?,
    };
    Ok(rows.into_iter().filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty())).collect())
}

fn read_xlsx(bytes: &[u8]) -> Result<Rows, String> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|_| "文件不是有效的 xlsx 工作簿".to_owned())?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| "工作簿中没有工作表".to_owned())?
        .map_err(|_| "无法读取第一个工作表".to_owned())?;
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            let mut out = vec![String::new(); first_col as usize];
            out.extend(cells.iter().map(cell_text));
            (first_row + i as u32 + 1, out)
        })
        .collect())
}

/// A cell as the text a person would type: whole numbers without ".0".
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Bool(true) => "是".to_owned(),
        Data::Bool(false) => "否".to_owned(),
        other => other.to_string(),
    }
}

fn read_csv(bytes: &[u8]) -> Result<Rows, String> {
    let text = decode_csv(bytes)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // Line numbers are counted here rather than taken from the csv reader:
    // after a CRLF (what Excel writes) it reports a record as starting on the
    // line before, at the "\n" that ended the previous one.
    let raw = text.as_bytes();
    let (mut counted_to, mut newlines) = (0usize, 0usize);
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("第{}行无法解析：{e}", i + 1))?;
        let mut start = record.position().map_or(counted_to, |p| p.byte() as usize).clamp(counted_to, raw.len());
        while start < raw.len() && matches!(raw[start], b'\r' | b'\n') {
            start += 1;
        }
        newlines += raw[counted_to..start].iter().filter(|b| **b == b'\n').count();
        counted_to = start;
        rows.push(((newlines + 1) as u32, record.iter().map(str::to_owned).collect()));
    }
    Ok(rows)
}

/// The text of a CSV file. Excel saves "CSV UTF-8" with a byte-order mark
/// and plain "CSV" in the system code page, which on Chinese Windows is GBK;
/// both arrive, so: a UTF-8 BOM means UTF-8; otherwise valid UTF-8 is taken as
/// UTF-8 (Chinese text in GBK is practically never valid UTF-8) and anything
/// else is decoded as GB 18030, the superset of GBK. Undecodable bytes are
/// reported with their line: GBK and GB 18030 never use the newline byte
/// inside a character, so lines can be decoded one by one.
pub fn decode_csv(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest).map(Cow::Borrowed).map_err(|e| {
            let line = line_of(rest, e.valid_up_to());
            format!("第{line}行含有无效的 UTF-8 字节：文件以 UTF-8 标记开头，但内容不是 UTF-8 编码")
        });
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err("CSV 文件为 UTF-16 编码，请另存为「CSV UTF-8」或 GBK 编码的 CSV".to_owned());
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text));
    }
    let mut text = String::with_capacity(bytes.len() * 3 / 2);
    for (i, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(line) {
            Some(decoded) => text.push_str(&decoded),
            None => {
                return Err(format!("第{}行含有无法识别的字符：文件既不是 UTF-8 也不是 GBK（GB 18030）编码", i + 1));
            }
        }
    }
    Ok(Cow::Owned(text))
}

/// The 1-based line of byte `offset`.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1
}

/// Where each column is in the file.
#[derive(Clone, Debug)]
pub struct Columns([Option<usize>; 15]);

/// Finds the columns in the header row; every required one must be there.
pub fn columns(header_row: u32, header: &[String]) -> Result<Columns, Vec<RowError>> {
    let mut found = [None; 15];
    for (i, cell) in header.iter().enumerate() {
        if let Some(k) = HEADERS.iter().position(|h| *h == cell.trim()) {
            found[k].get_or_insert(i);
        }
    }
    let missing: Vec<RowError> = REQUIRED
        .iter()
        .filter(|k| found[**k].is_none())
        .map(|k| RowError::row(header_row, &format!("（表头）缺少「{}」列", HEADERS[*k])))
        .collect();
    if missing.is_empty() { Ok(Columns(found)) } else { Err(missing) }
}

/// A committee's reference items by name and by code, for each kind.
#[derive(Clone, Debug, Default)]
pub struct Lookup(HashMap<(ReferenceKind, String), Uuid>);

impl Lookup {
    pub fn add(&mut self, kind: ReferenceKind, id: Uuid, name: &str, code: Option<&str>) {
        self.0.insert((kind, name.trim().to_owned()), id);
        if let Some(code) = code {
            self.0.entry((kind, code.trim().to_owned())).or_insert(id);
        }
    }

    fn find(&self, kind: ReferenceKind, value: &str) -> Option<Uuid> {
        self.0.get(&(kind, value.trim().to_owned())).copied()
    }
}

/// A valid row: the member and the birth year in its ID number.
#[derive(Clone, Debug)]
pub struct ParsedRow {
    pub row: u32,
    pub member: NewMember,
}

const PARTIES: &[(Party, &str, &str)] = &[
    (Party::Cpc, "中共", "中国共产党"),
    (Party::Rcck, "民革", "中国国民党革命委员会"),
    (Party::Cdl, "民盟", "中国民主同盟"),
    (Party::Cndca, "民建", "中国民主建国会"),
    (Party::Capd, "民进", "中国民主促进会"),
    (Party::Cpwdp, "农工党", "中国农工民主党"),
    (Party::Czgp, "致公党", "中国致公党"),
    (Party::Js, "九三学社", "九三学社"),
    (Party::Tdsl, "台盟", "台湾民主自治同盟"),
    (Party::NonPartisan, "无党派", "无党派人士"),
    (Party::Masses, "群众", "群众"),
];

const ROLES: &[(MemberRole, &str)] = &[
    (MemberRole::Chair, "主席"),
    (MemberRole::ViceChair, "副主席"),
    (MemberRole::SecretaryGeneral, "秘书长"),
    (MemberRole::StandingMember, "常委"),
    (MemberRole::Member, "委员"),
];

pub fn party_name(p: Party) -> &'static str {
    PARTIES.iter().find(|(x, _, _)| *x == p).map_or("", |(_, short, _)| short)
}

pub fn role_name(r: MemberRole) -> &'static str {
    ROLES.iter().find(|(x, _)| *x == r).map_or("", |(_, name)| name)
}

/// An ID number, checked like [`domain::id_number`], with a Chinese reason.
fn id_number_zh(value: &str) -> Result<(String, i32), &'static str> {
    let value = value.trim().to_ascii_uppercase();
    if value.len() != 18 || !value.is_ascii() {
        return Err("应为18位");
    }
    let Some(expected) = domain::id_check_char(&value[..17]) else {
        return Err("前17位应为数字");
    };
    let birth = NaiveDate::parse_from_str(&value[6..14], "%Y%m%d")
        .ok()
        .filter(|d| (1900..=2100).contains(&d.year()))
        .ok_or("中的出生日期无效")?;
    if !value.ends_with(expected) {
        return Err("校验位不正确");
    }
    Ok((value, birth.year()))
}

/// 10, "10", "第10届".
fn term_zh(value: &str) -> Option<i32> {
    let v = value.trim();
    let v = v.strip_prefix('第').unwrap_or(v);
    let v = v.strip_suffix('届').unwrap_or(v);
    v.trim().parse().ok().filter(|n| (1..=99).contains(n))
}

/// Validates one data row. Every bad cell gives one error.
pub fn parse_row(row: u32, cells: &[String], cols: &Columns, lookup: &Lookup) -> Result<ParsedRow, Vec<RowError>> {
    let cell = |k: usize| cols.0[k].and_then(|i| cells.get(i)).map_or("", |s| s.trim());
    let mut errors = Vec::new();
    let mut bad = |k: usize, problem: &str| errors.push(RowError::cell(row, HEADERS[k], problem));

    let text = |k: usize, max: usize, required: bool, bad: &mut dyn FnMut(usize, &str)| -> String {
        let v = cell(k);
        if required && v.is_empty() {
            bad(k, "不能为空");
        } else if v.chars().count() > max {
            bad(k, &format!("不能超过{max}个字"));
        } else if v.chars().any(char::is_control) {
            bad(k, "含有控制字符");
        }
        v.to_owned()
    };
    let name = text(0, 40, true, &mut bad);
    let gender = match cell(1) {
        "男" => Some(Gender::Male),
        "女" => Some(Gender::Female),
        "" => {
            bad(1, "不能为空");
            None
        }
        _ => {
            bad(1, "应为「男」或「女」");
            None
        }
    };
    let ethnicity = text(2, 20, false, &mut bad);
    let party = match cell(4) {
        "" => {
            bad(4, "不能为空");
            None
        }
        v => {
            let found = PARTIES.iter().find(|(_, short, full)| v == *short || v == *full).map(|(p, _, _)| *p);
            if found.is_none() {
                bad(4, &format!("「{v}」不是可识别的党派"));
            }
            found
        }
    };
    let reference = |k: usize, kind: ReferenceKind, required: bool, bad: &mut dyn FnMut(usize, &str)| match cell(k) {
        "" if required => {
            bad(k, "不能为空");
            None
        }
        "" => None,
        v => {
            let found = lookup.find(kind, v);
            if found.is_none() {
                bad(k, &format!("「{v}」不是本政协的{}（按名称或代码）", kind_zh(kind)));
            }
            found
        }
    };
    let sector = reference(5, ReferenceKind::Sector, true, &mut bad);
    let unit_and_title = text(6, 201, false, &mut bad);
    let (work_unit, title) = match unit_and_title.rsplit_once(char::is_whitespace) {
        Some((unit, title)) => (unit.trim().to_owned(), title.trim().to_owned()),
        None => (unit_and_title.clone(), String::new()),
    };
    if work_unit.chars().count() > 100 || title.chars().count() > 100 {
        bad(6, "单位和职务各不能超过100个字");
    }
    let phone = match cell(7) {
        "" => {
            bad(7, "不能为空");
            String::new()
        }
        v => domain::phone("phone", v).unwrap_or_else(|_| {
            bad(7, "应为以1开头的11位手机号");
            String::new()
        }),
    };
    let id = match cell(8) {
        "" => {
            bad(8, "不能为空");
            None
        }
        v => match id_number_zh(v) {
            Ok(found) => Some(found),
            Err(problem) => {
                bad(8, problem);
                None
            }
        },
    };
    let birth_year = match cell(3) {
        "" => id.as_ref().map_or(0, |(_, y)| *y),
        v => match v.trim_end_matches('年').parse::<i32>() {
            Ok(y) if id.as_ref().is_some_and(|(_, from_id)| *from_id != y) => {
                bad(3, "与身份证号中的出生日期不符");
                y
            }
            Ok(y) if (1900..=2100).contains(&y) => y,
            _ => {
                bad(3, "应为四位年份");
                0
            }
        },
    };
    let term = term_zh(cell(9));
    if term.is_none() {
        bad(
            9,
            if cell(9).is_empty() {
                "不能为空"
            } else {
                "应为1到99之间的数字，如「10」或「第10届」"
            },
        );
    }
    let role = match cell(10) {
        "" => {
            bad(10, "不能为空");
            None
        }
        v => {
            let found = ROLES.iter().find(|(_, name)| *name == v).map(|(r, _)| *r);
            if found.is_none() {
                bad(10, "应为主席、副主席、秘书长、常委或委员");
            }
            found
        }
    };
    let standing = match cell(11) {
        "" | "否" => false,
        "是" => true,
        _ => {
            bad(11, "应为「是」或「否」");
            false
        }
    };
    let group = reference(12, ReferenceKind::ActivityGroup, false, &mut bad);
    let special = reference(13, ReferenceKind::SpecialCommittee, true, &mut bad);
    let station = reference(14, ReferenceKind::LiaisonStation, false, &mut bad);

    match (gender, party, sector, id, term, role) {
        (Some(gender), Some(party), Some(sector_id), Some((id_number, _)), Some(term_number), Some(role))
            if errors.is_empty() =>
        {
            let profile = Profile {
                name,
                gender,
                ethnicity,
                birth_year,
                party,
                sector_id,
                work_unit,
                title,
                term_number,
                role,
                standing_committee: standing,
                activity_group_id: group,
                special_committee_id: special,
                liaison_station_id: station,
                user_id: None,
            };
            Ok(ParsedRow { row, member: NewMember { profile, phone, id_number } })
        }
        _ => Err(errors),
    }
}

fn kind_zh(kind: ReferenceKind) -> &'static str {
    match kind {
        ReferenceKind::Sector => "界别",
        ReferenceKind::ActivityGroup => "活动小组",
        ReferenceKind::SpecialCommittee => "专委会",
        ReferenceKind::LiaisonStation => "联络站",
    }
}

/// The profile's cells in [`HEADERS`] order; `names` maps reference ids to names.
pub fn export_row(p: &Profile, phone: &str, id_number: &str, names: &HashMap<Uuid, String>) -> [String; 15] {
    let name_of = |id: Option<Uuid>| id.and_then(|id| names.get(&id).cloned()).unwrap_or_default();
    let unit = match (p.work_unit.is_empty(), p.title.is_empty()) {
        (_, true) => p.work_unit.clone(),
        (true, false) => format!(" {}", p.title),
        (false, false) => format!("{} {}", p.work_unit, p.title),
    };
    [
        p.name.clone(),
        if p.gender == Gender::Female { "女" } else { "男" }.to_owned(),
        p.ethnicity.clone(),
        p.birth_year.to_string(),
        party_name(p.party).to_owned(),
        name_of(Some(p.sector_id)),
        unit,
        phone.to_owned(),
        id_number.to_owned(),
        p.term_number.to_string(),
        role_name(p.role).to_owned(),
        if p.standing_committee { "是" } else { "否" }.to_owned(),
        name_of(p.activity_group_id),
        name_of(p.special_committee_id),
        name_of(p.liaison_station_id),
    ]
}

/// An .xlsx with a bold header row and every cell as text (ID numbers keep all 18 digits).
pub fn write_xlsx(rows: &[[String; 15]]) -> Result<Vec<u8>, String> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let fail = |e: rust_xlsxwriter::XlsxError| e.to_string();
    sheet.set_name("委员名单").map_err(fail)?;
    let bold = Format::new().set_bold();
    for (c, header) in HEADERS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *header, &bold).map_err(fail)?;
        let width = match c {
            6 => 36,
            8 => 22,
            _ => 12,
        };
        sheet.set_column_width(c as u16, width).map_err(fail)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            if !value.is_empty() {
                sheet.write_string(r as u32 + 1, c as u16, value).map_err(fail)?;
            }
        }
    }
    book.save_to_buffer().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_check(first17: &str) -> String {
        format!("{first17}{}", domain::id_check_char(first17).unwrap())
    }

    fn lookup() -> (Lookup, Uuid, Uuid) {
        let (sector, special) = (Uuid::now_v7(), Uuid::now_v7());
        let mut l = Lookup::default();
        l.add(ReferenceKind::Sector, sector, "经济界", Some("12"));
        l.add(ReferenceKind::SpecialCommittee, special, "提案委员会", None);
        (l, sector, special)
    }

    fn row(id: &str) -> Vec<String> {
        [
            "张建国",
            "男",
            "汉族",
            "",
            "民盟",
            "12",
            "宁晋县晶龙实业集团 副总经理",
            "13831912345",
            id,
            "第10届",
            "委员",
            "否",
            "",
            "提案委员会",
            "",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    #[test]
    fn a_good_row_becomes_a_member() {
        let (l, sector, special) = lookup();
        let header: Vec<String> = HEADERS.iter().map(|h| (*h).to_owned()).collect();
        let cols = columns(1, &header).unwrap();
        let parsed = parse_row(2, &row(&with_check("13052819720305123")), &cols, &l).unwrap();
        let p = &parsed.member.profile;
        assert_eq!((p.name.as_str(), p.birth_year, p.term_number), ("张建国", 1972, 10));
        assert_eq!((p.work_unit.as_str(), p.title.as_str()), ("宁晋县晶龙实业集团", "副总经理"));
        assert_eq!((p.sector_id, p.special_committee_id), (sector, Some(special)));
        assert_eq!(p.party, Party::Cdl);
        let names = HashMap::from([(sector, "经济界".to_owned()), (special, "提案委员会".to_owned())]);
        let out = export_row(p, "138****2345", "x", &names);
        assert_eq!(out[6], "宁晋县晶龙实业集团 副总经理");
        assert_eq!(out[5], "经济界");
    }

    #[test]
    fn every_bad_cell_is_named_in_chinese() {
        let (l, _, _) = lookup();
        let header: Vec<String> = HEADERS.iter().map(|h| (*h).to_owned()).collect();
        let cols = columns(1, &header).unwrap();
        let good = with_check("13052819720305123");
        let bad_check = format!("{}{}", &good[..17], if good.ends_with('0') { '1' } else { '0' });
        let mut cells = row(&bad_check);
        cells[1] = "未知".into();
        cells[5] = "不存在界".into();
        let errors = parse_row(12, &cells, &cols, &l).unwrap_err();
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert!(messages.contains(&"第12行「身份证号」校验位不正确"), "{messages:?}");
        assert!(messages.contains(&"第12行「性别」应为「男」或「女」"), "{messages:?}");
        assert!(messages.iter().any(|m| m.starts_with("第12行「界别」「不存在界」")), "{messages:?}");
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn missing_headers_are_reported() {
        let errors = columns(1, &["姓名".to_owned()]).unwrap_err();
        assert_eq!(errors.len(), REQUIRED.len() - 1);
        assert_eq!(errors[0].message, "第1行（表头）缺少「性别」列");
    }

    #[test]
    fn xlsx_and_csv_read_back() {
        let rows = vec![row("130528197203051234").try_into().unwrap()];
        let bytes = write_xlsx(&rows).unwrap();
        let read_back = read(FileFormat::Xlsx, &bytes).unwrap();
        assert_eq!(read_back[0].1[0], "姓名");
        assert_eq!(read_back[1].0, 2);
        assert_eq!(read_back[1].1[8], "130528197203051234");
        let csv = "\u{feff}姓名,性别\n张建国,男\n,\n李秀英,女\n";
        let read_back = read(FileFormat::Csv, csv.as_bytes()).unwrap();
        let names: Vec<(u32, &str)> = read_back.iter().map(|(r, c)| (*r, c[0].as_str())).collect();
        assert_eq!(names, vec![(1, "姓名"), (2, "张建国"), (4, "李秀英")]);
    }

    #[test]
    fn csv_in_gbk_utf8_and_utf8_with_bom_read_alike() {
        let text = "姓名,工作单位及职务\n张建国,宁晋县晶龙实业集团 副总经理\n李秀英,宁晋县人民医院 院长\n";
        let (gbk, _, lossy) = encoding_rs::GBK.encode(text);
        assert!(!lossy && std::str::from_utf8(&gbk).is_err());
        let with_bom = format!("\u{feff}{text}");
        for bytes in [gbk.as_ref(), text.as_bytes(), with_bom.as_bytes()] {
            let rows = read(FileFormat::Csv, bytes).unwrap();
            assert_eq!(rows[1].1, vec!["张建国", "宁晋县晶龙实业集团 副总经理"]);
            assert_eq!((rows[2].0, rows[2].1[0].as_str()), (3, "李秀英"));
        }
        // Excel ends lines with CRLF; rows keep their line numbers.
        let (crlf, _, _) = encoding_rs::GBK.encode("姓名\r\n张建国\r\n李秀英\r\n");
        let rows = read(FileFormat::Csv, &crlf).unwrap();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 2, 3]);
        // A character only GB 18030 has (four bytes) decodes too.
        let (gb18030, _, _) = encoding_rs::GB18030.encode("姓名\n𠀀\n");
        assert_eq!(read(FileFormat::Csv, &gb18030).unwrap()[1].1[0], "𠀀");
    }

    #[test]
    fn undecodable_csv_bytes_name_the_line() {
        let (mut bytes, _, _) = encoding_rs::GBK.encode("姓名,性别\n张建国,男\n");
        let mut bytes = bytes.to_mut().clone();
        bytes.extend_from_slice(b"\xFF\xFF,\xE5\n");
        let err = read(FileFormat::Csv, &bytes).unwrap_err();
        assert!(err.starts_with("第3行") && err.contains("GBK"), "{err}");
        let err = read(FileFormat::Csv, b"\xEF\xBB\xBF\xE5\xa7\x93\n\xFF\n").unwrap_err();
        assert!(err.starts_with("第2行") && err.contains("UTF-8"), "{err}");
        assert!(read(FileFormat::Csv, b"\xFF\xFEa\x00").unwrap_err().contains("UTF-16"));
    }
}

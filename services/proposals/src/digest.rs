//! Digests of important proposals (重要提案摘报) in plain types, and their
//! export as Markdown (by hand) and `.docx` (docx-rs). No database, no protobuf.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use xieshang_platform::ids::CommitteeId;

use crate::domain::ProposalState;

/// The longest summary of an entry, in characters.
pub const SUMMARY_MAX: usize = 500;

#[derive(Clone, Debug, PartialEq)]
pub struct Digest {
    pub id: Uuid,
    pub committee_id: CommitteeId,
    pub title: String,
    pub period: String,
    /// In reading order; positions 1, 2, ….
    pub entries: Vec<DigestEntry>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DigestEntry {
    pub position: i32,
    pub proposal_id: Uuid,
    /// 第N号; filed proposals always have one.
    pub number: Option<i32>,
    pub title: String,
    pub summary: String,
}

/// Whether a proposal in `state` may go into a digest: FILED or later.
pub fn digestible(state: ProposalState) -> Result<(), String> {
    use ProposalState::*;
    match state {
        Filed | Assigned | AwaitingReassignment | Handling | Replied | Closed => Ok(()),
        Draft | Submitted | Withdrawn | Declined | Merged => Err(format!(
            "proposal is {state}; only a FILED (or ASSIGNED, AWAITING_REASSIGNMENT, HANDLING, REPLIED, CLOSED) \
             proposal can be added to a digest"
        )),
    }
}

/// Where a new entry goes among `len` entries: 1-based, 0 or past the end appends.
pub fn insert_position(requested: i32, len: usize) -> i32 {
    let end = len as i32 + 1;
    if requested <= 0 || requested > end { end } else { requested }
}

/// The new order of `current` (proposal ids by position) as `wanted` lists it,
/// or why not: `wanted` must name every entry exactly once.
pub fn reorder(current: &[Uuid], wanted: &[Uuid]) -> Result<Vec<Uuid>, String> {
    if wanted.len() != current.len() {
        return Err(format!("lists {} proposals; the digest has {} entries", wanted.len(), current.len()));
    }
    let mut seen = std::collections::HashSet::new();
    for id in wanted {
        if !current.contains(id) {
            return Err(format!("{id} is not an entry of this digest"));
        }
        if !seen.insert(*id) {
            return Err(format!("names {id} twice"));
        }
    }
    Ok(wanted.to_vec())
}

fn number_label(number: Option<i32>) -> String {
    number.map(|n| format!("第{n}号")).unwrap_or_default()
}

/// Escapes Markdown's inline specials so titles print as written.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '<' | '>' | '|') {
            out.push('\\');
        }
        out.push(if c == '\n' || c == '\r' { ' ' } else { c });
    }
    out
}

/// The digest as Markdown: a heading, the period, then one numbered section
/// per entry with the proposal's number, title and summary.
pub fn to_markdown(d: &Digest) -> String {
    let mut out = format!("# {}\n\n{}\n", md_escape(&d.title), md_escape(&d.period));
    for e in &d.entries {
        let label = number_label(e.number);
        let sep = if label.is_empty() { "" } else { " " };
        out.push_str(&format!("\n## {}. {label}{sep}{}\n\n", e.position, md_escape(&e.title)));
        let lines: Vec<String> =
            e.summary.lines().filter(|l| !l.trim().is_empty()).map(|l| md_escape(l.trim())).collect();
        out.push_str(&lines.join("\n\n"));
        out.push('\n');
    }
    out
}

/// The digest as a Word document (.docx, a zip of Office Open XML parts).
pub fn to_docx(d: &Digest) -> Result<Vec<u8>, String> {
    use docx_rs::{AlignmentType, Docx, Paragraph, Run, RunFonts};
    let fonts = || RunFonts::new().east_asia("宋体");
    let mut doc = Docx::new()
        .add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Center)
                .add_run(Run::new().add_text(&d.title).bold().size(36).fonts(fonts())),
        )
        .add_paragraph(Paragraph::new().align(AlignmentType::Center).add_run(Run::new().add_text(&d.period).size(24)));
    for e in &d.entries {
        let label = number_label(e.number);
        let heading = if label.is_empty() {
            format!("{}. {}", e.position, e.title)
        } else {
            format!("{}. {label} {}", e.position, e.title)
        };
        doc = doc.add_paragraph(Paragraph::new().add_run(Run::new().add_text(heading).bold().size(28).fonts(fonts())));
        for line in e.summary.lines().filter(|l| !l.trim().is_empty()) {
            doc = doc.add_paragraph(Paragraph::new().add_run(Run::new().add_text(line.trim()).size(24).fonts(fonts())));
        }
    }
    let mut out = std::io::Cursor::new(Vec::new());
    doc.build().pack(&mut out).map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn sample() -> Digest {
        let at = Utc::now();
        Digest {
            id: Uuid::nil(),
            committee_id: CommitteeId(Uuid::nil()),
            title: "重要提案摘报".into(),
            period: "2026年第1期".into(),
            entries: vec![
                DigestEntry {
                    position: 1,
                    proposal_id: Uuid::from_u128(1),
                    number: Some(12),
                    title: "关于加快盐碱地改良的建议".into(),
                    summary: "建议整合农田水利资金。\n推广耐盐作物。".into(),
                },
                DigestEntry {
                    position: 2,
                    proposal_id: Uuid::from_u128(2),
                    number: Some(3),
                    title: "关于完善协商民主*机制*的建议".into(),
                    summary: "建立协商议题征集制度。".into(),
                },
            ],
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn only_filed_or_later_proposals_are_digestible() {
        for s in ProposalState::ALL {
            let ok = digestible(s).is_ok();
            let expected = matches!(
                s,
                ProposalState::Filed
                    | ProposalState::Assigned
                    | ProposalState::AwaitingReassignment
                    | ProposalState::Handling
                    | ProposalState::Replied
                    | ProposalState::Closed
            );
            assert_eq!(ok, expected, "{s}");
        }
        assert!(digestible(ProposalState::Draft).unwrap_err().starts_with("proposal is DRAFT;"));
    }

    #[test]
    fn positions_insert_or_append() {
        assert_eq!(insert_position(0, 3), 4);
        assert_eq!(insert_position(9, 3), 4);
        assert_eq!(insert_position(-1, 0), 1);
        assert_eq!(insert_position(2, 3), 2);
        assert_eq!(insert_position(4, 3), 4);
    }

    #[test]
    fn reordering_needs_every_entry_once() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(reorder(&[a, b], &[b, a]).unwrap(), vec![b, a]);
        assert!(reorder(&[a, b], &[b]).is_err());
        assert!(reorder(&[a, b], &[b, b]).unwrap_err().contains("twice"));
        assert!(reorder(&[a, b], &[a, Uuid::from_u128(3)]).unwrap_err().contains("not an entry"));
    }

    #[test]
    fn markdown_lists_entries_in_order() {
        let md = to_markdown(&sample());
        assert!(md.starts_with("# 重要提案摘报\n\n2026年第1期\n"));
        let first = md.find("## 1. 第12号 关于加快盐碱地改良的建议").unwrap();
        let second = md.find("## 2. 第3号 关于完善协商民主\\*机制\\*的建议").unwrap();
        assert!(first < second);
        assert!(md.contains("建议整合农田水利资金。\n\n推广耐盐作物。\n\n## 2."));
        assert!(md.ends_with("建立协商议题征集制度。\n"));
    }

    #[test]
    fn docx_is_a_word_document_with_the_entries() {
        let bytes = to_docx(&sample()).unwrap();
        assert!(bytes.starts_with(b"PK"));
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut xml = String::new();
        zip.by_name("word/document.xml").unwrap().read_to_string(&mut xml).unwrap();
        let first = xml.find("第12号 关于加快盐碱地改良的建议").unwrap();
        let second = xml.find("第3号 关于完善协商民主*机制*的建议").unwrap();
        assert!(first < second);
        assert!(xml.contains("重要提案摘报") && xml.contains("推广耐盐作物。"));
    }
}

//! Chinese text for full-text search, in plain Rust (no database):
//!
//! - [`fold`]: traditional → simplified characters (zhconv, MediaWiki's
//!   zh-hans table) and lower case, so 協商 and 协商 are one word;
//! - [`document`]: a title or body as the index stores it — folded, segmented
//!   with jieba in search mode (long words also yield their parts), one word
//!   per space-separated token;
//! - [`query_terms`]: a query's words (jieba's default mode: whole words, which
//!   the index also holds), every one of them required;
//! - [`snippet`]: a passage of the original text around the first match, the
//!   matches wrapped in `<mark>…</mark>`.

use std::sync::LazyLock;

use jieba_rs::Jieba;
use zhconv::{Variant, zhconv};

/// Loaded once per process (the dictionary takes a moment).
static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// The most words a query may have.
pub const QUERY_TERMS_MAX: usize = 16;

/// Traditional characters folded to simplified, letters to lower case.
pub fn fold(text: &str) -> String {
    zhconv(text, Variant::ZhHans).to_lowercase()
}

/// Whether a segment is a word worth indexing (not spaces or punctuation).
fn is_word(w: &str) -> bool {
    w.chars().any(char::is_alphanumeric)
}

/// A word as a token: no quotes or spaces inside (FTS5 phrases are quoted).
fn clean(w: &str) -> String {
    w.chars().filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'').collect()
}

/// The text as the index stores it: folded, segmented, space-separated.
pub fn document(text: &str) -> String {
    let folded = fold(text);
    let mut out = String::with_capacity(folded.len() * 2);
    for token in JIEBA.cut_for_search(&folded, true) {
        if is_word(token.word) {
            let word = clean(token.word);
            if !word.is_empty() {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&word);
            }
        }
    }
    out
}

/// The distinct words of a query, in order, at most [`QUERY_TERMS_MAX`].
pub fn query_terms(query: &str) -> Vec<String> {
    let folded = fold(query);
    let mut terms: Vec<String> = Vec::new();
    for token in JIEBA.cut(&folded, true) {
        if !is_word(token.word) {
            continue;
        }
        let word = clean(token.word);
        if !word.is_empty() && !terms.contains(&word) {
            terms.push(word);
        }
    }
    terms.truncate(QUERY_TERMS_MAX);
    terms
}

/// The chars of `text`, each folded, one for one (so positions map back).
fn folded_chars(text: &str) -> Vec<char> {
    let original: Vec<char> = text.chars().collect();
    let whole: Vec<char> = zhconv(text, Variant::ZhHans).chars().collect();
    let simplified = if whole.len() == original.len() {
        whole
    } else {
        // A phrase conversion changed the length; fold character by character.
        original
            .iter()
            .map(|c| {
                let one: Vec<char> = zhconv(&c.to_string(), Variant::ZhHans).chars().collect();
                if one.len() == 1 { one[0] } else { *c }
            })
            .collect()
    };
    simplified.into_iter().map(|c| c.to_lowercase().next().unwrap_or(c)).collect()
}

/// Which chars of `text` belong to a match of any term.
fn marks(text: &str, terms: &[String]) -> Vec<bool> {
    let hay = folded_chars(text);
    let mut marked = vec![false; hay.len()];
    for term in terms {
        let needle: Vec<char> = term.chars().collect();
        if needle.is_empty() || needle.len() > hay.len() {
            continue;
        }
        for start in 0..=hay.len() - needle.len() {
            if hay[start..start + needle.len()] == needle[..] {
                marked[start..start + needle.len()].iter_mut().for_each(|m| *m = true);
            }
        }
    }
    marked
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '\n' | '\r' | '\t' => out.push(' '),
        c => out.push(c),
    }
}

/// `chars[from..to]` with marked runs wrapped in `<mark>`, escaped for HTML.
fn highlight(chars: &[char], marked: &[bool], from: usize, to: usize) -> String {
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut open = false;
    for i in from..to {
        if marked[i] && !open {
            out.push_str("<mark>");
            open = true;
        } else if !marked[i] && open {
            out.push_str("</mark>");
            open = false;
        }
        push_escaped(&mut out, chars[i]);
    }
    if open {
        out.push_str("</mark>");
    }
    if to < chars.len() {
        out.push('…');
    }
    out
}

/// Chars shown before the first match, and in all.
const BEFORE: usize = 20;
const WINDOW: usize = 80;

/// A passage of the body around its first match (or the title, when only it
/// matches), matches wrapped in `<mark>…</mark>`, text escaped for HTML.
pub fn snippet(title: &str, body: &str, terms: &[String]) -> String {
    let chars: Vec<char> = body.chars().collect();
    let marked = marks(body, terms);
    if let Some(first) = marked.iter().position(|m| *m) {
        let from = first.saturating_sub(BEFORE);
        let to = (from + WINDOW).min(chars.len());
        return highlight(&chars, &marked, from, to);
    }
    let title_chars: Vec<char> = title.chars().collect();
    let title_marked = marks(title, terms);
    if title_marked.iter().any(|m| *m) {
        return highlight(&title_chars, &title_marked, 0, title_chars.len());
    }
    let to = WINDOW.min(chars.len());
    highlight(&chars, &marked, 0, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_folds_to_simplified() {
        assert_eq!(fold("關於加強政協協商民主建設"), "关于加强政协协商民主建设");
        assert_eq!(fold("ABC"), "abc");
    }

    #[test]
    fn documents_hold_words_and_their_parts() {
        let doc = document("关于推进农村人居环境整治的提案。");
        let words: Vec<&str> = doc.split(' ').collect();
        for w in ["农村", "人居", "环境", "整治", "提案"] {
            assert!(words.contains(&w), "{w} in {doc}");
        }
        assert!(!words.contains(&"。"));
        // Traditional text indexes as simplified.
        assert!(document("協商民主").split(' ').any(|w| w == "协商"));
    }

    #[test]
    fn query_terms_are_folded_distinct_words() {
        assert_eq!(query_terms("協商 協商"), vec!["协商"]);
        assert_eq!(query_terms("  ，。 "), Vec::<String>::new());
        let terms = query_terms("盐碱地改良");
        assert!(!terms.is_empty());
        let doc = document("关于加快宁晋县盐碱地改良的建议");
        for t in &terms {
            assert!(doc.split(' ').any(|w| w == t), "{t} in {doc}");
        }
    }

    #[test]
    fn snippets_mark_matches_in_the_original_text() {
        let s = snippet("标题", "建议加強政协協商工作，完善协商机制", &["协商".to_owned()]);
        assert_eq!(s, "建议加強政协<mark>協商</mark>工作，完善<mark>协商</mark>机制");
        let long = format!("{}协商{}", "甲".repeat(50), "乙".repeat(100));
        let s = snippet("", &long, &["协商".to_owned()]);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>协商</mark>"));
        // Only the title matches.
        assert_eq!(snippet("协商<议>", "无关", &["协商".to_owned()]), "<mark>协商</mark>&lt;议&gt;");
    }
}

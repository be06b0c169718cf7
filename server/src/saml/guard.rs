//! Checks run on untrusted XML bytes before any parser sees them.
//!
//! roxmltree refuses DTDs and caps nodes, but its tokenizer recurses once per nesting level
//! with no limit of its own: a few thousand nested elements (a few bytes each, and they
//! compress to almost nothing in a SAMLRequest) overflow the stack, which aborts the whole
//! process rather than failing one request. Every parse of outside XML goes through
//! [`nesting_exceeds`] first.

/// How deep any XML we accept from outside may nest. Real AuthnRequests and metadata stay
/// under 10 levels.
pub(crate) const MAX_DEPTH: usize = 64;

/// Whether the text contains a DTD or entity declaration, checked on bytes before any parser
/// runs (case-insensitively, which also catches variants lenient parsers accept).
pub(crate) fn has_doctype(xml: &str) -> bool {
    let bytes = xml.as_bytes();
    let starts_with = |at: usize, word: &[u8]| {
        bytes
            .get(at..at + word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
    };
    bytes
        .windows(2)
        .enumerate()
        .any(|(i, w)| w == b"<!" && (starts_with(i + 2, b"DOCTYPE") || starts_with(i + 2, b"ENTITY")))
}

/// Whether start tags nest deeper than `limit`, by a lexical scan that skips comments, CDATA,
/// processing instructions and quoted attribute values the way an XML tokenizer does, so
/// that it never counts fewer levels than a parser would recurse into.
pub(crate) fn nesting_exceeds(xml: &[u8], limit: usize) -> bool {
    let find = |from: usize, needle: &[u8]| {
        xml.get(from..)
            .and_then(|rest| rest.windows(needle.len()).position(|w| w == needle))
            .map(|p| from + p + needle.len())
    };
    let mut depth = 0usize;
    let mut i = 0usize;
    while let Some(offset) = xml.get(i..).and_then(|rest| rest.iter().position(|b| *b == b'<')) {
        let at = i + offset;
        let rest = &xml[at..];
        let next = if rest.starts_with(b"<!--") {
            find(at + 4, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            find(at + 9, b"]]>")
        } else if rest.starts_with(b"<?") {
            find(at + 2, b"?>")
        } else if rest.starts_with(b"<!") {
            find(at + 2, b">")
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            find(at + 2, b">")
        } else {
            let mut quote = None;
            let mut end = None;
            for (j, &b) in rest.iter().enumerate().skip(1) {
                match quote {
                    Some(q) if b == q => quote = None,
                    Some(_) => {}
                    None if b == b'"' || b == b'\'' => quote = Some(b),
                    None if b == b'>' => {
                        end = Some(j);
                        break;
                    }
                    None => {}
                }
            }
            end.map(|j| {
                if rest.get(j - 1) != Some(&b'/') {
                    depth += 1;
                }
                at + j + 1
            })
        };
        if depth > limit {
            return true;
        }
        match next {
            Some(n) => i = n,
            // Unterminated markup: the parser stops there too.
            None => return false,
        }
    }
    false
}

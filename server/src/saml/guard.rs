//! Checks run on untrusted XML bytes before any parser sees them.
//!
//! roxmltree refuses DTDs and caps nodes, but its tokenizer recurses once per nesting level
//! with no limit of its own: a few thousand nested elements (a few bytes each, and they
//! compress to almost nothing in a SAMLRequest) overflow the stack, which aborts the whole
//! process rather than failing one request. Every parse of outside XML goes through
//! [`nesting_exceeds`] first, and [`attributes_exceed`]: roxmltree's attribute handling is
//! quadratic in an element's attributes.

/// How deep any XML we accept from outside may nest. Real AuthnRequests and metadata stay
/// under 10 levels.
pub(crate) const MAX_DEPTH: usize = 64;

/// Most attributes any element of XML we accept from outside may carry. Real AuthnRequests
/// and metadata carry under 15; roxmltree checks each attribute against the element's
/// earlier ones (quadratic: 10,000 attributes took 143 ms).
pub(crate) const MAX_ATTRIBUTES_PER_ELEMENT: usize = 64;

/// Most namespace declarations a document from outside may make in all (each one is an
/// attribute that also widens every later name lookup).
pub(crate) const MAX_NAMESPACE_DECLARATIONS: usize = 128;

/// Whether an element carries more than `per_element` attributes, or the document more than
/// `declarations` namespace declarations (`xmlns`, `xmlns:p`), by a lexical scan like
/// [`nesting_exceeds`]'s (comments, CDATA, processing instructions and quoted values
/// skipped): what a parser would spend quadratic time on is refused in linear time first.
pub(crate) fn attributes_exceed(xml: &[u8], per_element: usize, declarations: usize) -> bool {
    let mut total_declarations = 0usize;
    let mut i = 0usize;
    while let Some(offset) = xml.get(i..).and_then(|rest| rest.iter().position(|b| *b == b'<')) {
        let at = i + offset;
        let rest = &xml[at..];
        let skip_to = |needle: &[u8], from: usize| {
            xml.get(from..)
                .and_then(|r| r.windows(needle.len()).position(|w| w == needle))
                .map(|p| from + p + needle.len())
        };
        let next = if rest.starts_with(b"<!--") {
            skip_to(b"-->", at + 4)
        } else if rest.starts_with(b"<![CDATA[") {
            skip_to(b"]]>", at + 9)
        } else if rest.starts_with(b"<?") {
            skip_to(b"?>", at + 2)
        } else if rest.starts_with(b"<!") || rest.starts_with(b"</") {
            skip_to(b">", at + 2)
        } else {
            // A start tag: count `=` outside quotes (one per attribute), and the names that
            // begin with `xmlns` right after white space.
            let mut quote = None;
            let mut attributes = 0usize;
            let mut end = None;
            for (j, &b) in rest.iter().enumerate().skip(1) {
                match quote {
                    Some(q) if b == q => quote = None,
                    Some(_) => {}
                    None if b == b'"' || b == b'\'' => quote = Some(b),
                    None if b == b'=' => attributes += 1,
                    None if b.is_ascii_whitespace() && rest.get(j + 1..j + 6) == Some(b"xmlns") => {
                        total_declarations += 1;
                    }
                    None if b == b'>' => {
                        end = Some(at + j + 1);
                        break;
                    }
                    None => {}
                }
                if attributes > per_element || total_declarations > declarations {
                    return true;
                }
            }
            end
        };
        match next {
            Some(n) => i = n,
            None => return false,
        }
    }
    false
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_and_declaration_counts_are_bounded() {
        let element = |n: usize| {
            let attrs: String = (0..n).map(|i| format!(" a{i}=\"v>{i}\"")).collect();
            format!("<r{attrs}/>")
        };
        assert!(!attributes_exceed(element(64).as_bytes(), 64, 128));
        assert!(attributes_exceed(element(65).as_bytes(), 64, 128));
        // `=` and `>` inside values, comments and CDATA do not count.
        let quoted = "<r a=\"x=y=z>\" b='=='><!-- <c d=1 e=2 f=3> --><![CDATA[ <g h=1 i=2> ]]></r>";
        assert!(!attributes_exceed(quoted.as_bytes(), 2, 128));
        assert!(attributes_exceed(quoted.as_bytes(), 1, 128));
        // Namespace declarations are counted over the whole document.
        let ns: String = (0..10)
            .map(|i| format!("<e{i} xmlns:p{i}=\"urn:{i}\" xmlns=\"urn:d\"/>"))
            .collect();
        let doc = format!("<r>{ns}</r>");
        assert!(!attributes_exceed(doc.as_bytes(), 64, 20));
        assert!(attributes_exceed(doc.as_bytes(), 64, 19));
        // Real requests pass with room to spare.
        let atlassian = include_str!("../../tests/fixtures/saml/atlassian-authnrequest.xml");
        assert!(!attributes_exceed(atlassian.as_bytes(), 16, 8));
    }
}

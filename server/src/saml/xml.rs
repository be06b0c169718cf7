//! Writing XML that is already in exclusive canonical form (XML-EXC-C14N 1.0, no
//! comments), so signing needs no XML parser: what we digest is what we send.
//!
//! The rules we follow (and the independent validators check): every namespace is
//! declared on the first element of the signed subtree that uses its prefix; attributes
//! are written sorted by name (all ours are unqualified); empty elements are written as
//! start/end pairs; text and attribute values are escaped exactly as C14N does.

/// Escapes character data as C14N renders it.
pub fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// Escapes an attribute value as C14N renders it (double-quoted).
pub fn attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// Characters XML 1.0 allows; others (NUL, most C0 controls) are replaced, so a claim from
/// upstream can never make our document ill-formed.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// `xs:dateTime` in UTC with second precision, as SAML peers expect.
pub fn instant(at: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    if !(0..=9999).contains(&at.year()) {
        return at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    // Written field by field: chrono's `format` parses its format string on every call.
    let mut s = String::with_capacity(20);
    let _ = write!(
        s,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    s
}

/// A random identifier with 160 bits of entropy that is a valid NCName (starts with `_`).
pub fn random_id() -> String {
    // The thread's CSPRNG (ChaCha12, seeded from the OS): no system call per ID.
    let bytes: [u8; 20] = rand::random();
    let mut id = String::with_capacity(41);
    id.push('_');
    crate::credentials::push_hex(&mut id, &bytes);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_xs_date_times_in_utc_to_the_second() {
        use chrono::TimeZone;
        for (at, text) in [
            (
                chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
                "2026-01-02T03:04:05Z",
            ),
            (
                chrono::Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap(),
                "1999-12-31T23:59:59Z",
            ),
            (
                chrono::Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
                "+10000-01-01T00:00:00Z",
            ),
        ] {
            let with_millis = at + chrono::Duration::milliseconds(999);
            assert_eq!(instant(with_millis), text);
            assert_eq!(instant(with_millis), at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
    }

    #[test]
    fn escapes_like_c14n() {
        assert_eq!(text("a&b<c>d\"e'\r"), "a&amp;b&lt;c&gt;d\"e'&#xD;");
        assert_eq!(attr("a&b<c>d\"e'\t\n\r"), "a&amp;b&lt;c>d&quot;e'&#x9;&#xA;&#xD;");
        assert_eq!(text("nul\u{0}here"), "nul\u{FFFD}here");
    }

    #[test]
    fn ids_are_ncnames_with_enough_entropy() {
        let a = random_id();
        assert_eq!(a.len(), 41);
        assert!(a.starts_with('_') && a[1..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, random_id());
    }
}

//! A leg's steps written as the JSON the trace store keeps (an array of the API's
//! `TraceStep`) while they are recorded, into one buffer: a fact costs its bytes, not a
//! string of its own and a serialiser pass later. Strings are escaped exactly as
//! `serde_json` escapes them (a property test holds them to that); a step's fields come in
//! the order they are known (its duration and outcome last), which JSON readers ignore.

use chrono::{DateTime, Utc};
use rosetta_api::TraceStepKind;

/// Writes a step's start: `{"step":…,"at":…,"facts":[`.
pub(super) fn open_step(out: &mut String, step: TraceStepKind, at: DateTime<Utc>) {
    out.push_str("{\"step\":\"");
    out.push_str(step.as_str());
    out.push_str("\",\"at\":\"");
    push_rfc3339_millis(out, at);
    out.push_str("\",\"facts\":[");
}

/// Writes a fact (after the step's start or a fact and its comma): `{"name":…,"value":…}`.
/// The name is `name` (Rosetta's own text, which needs no escape) followed by `varying` (a
/// claim's or an attribute's name); the value is followed by `…` when it was cut.
pub(super) fn fact(out: &mut String, name: &'static str, varying: &str, value: &str, cut: bool) {
    debug_assert!(!needs_escape(name.as_bytes()), "{name}");
    out.push_str("{\"name\":\"");
    out.push_str(name);
    push_escaped(out, varying);
    out.push_str("\",\"value\":\"");
    push_escaped(out, value);
    if cut {
        out.push('…');
    }
    out.push_str("\"}");
}

/// Writes a step's end: `],"duration_us":…,"ok":…}`.
pub(super) fn close_step(out: &mut String, duration_us: u64, ok: bool) {
    out.push_str("],\"duration_us\":");
    push_number(out, duration_us);
    out.push_str(if ok { ",\"ok\":true}" } else { ",\"ok\":false}" });
}

/// `next`'s elements after `mine`'s (both JSON arrays; an empty string counts as `[]`).
pub(super) fn append_array(mine: &mut String, next: String) {
    if next.len() <= 2 {
        return;
    }
    if mine.len() <= 2 {
        *mine = next;
        return;
    }
    mine.pop();
    mine.push(',');
    mine.push_str(&next[1..]);
}

/// `text`'s content as a JSON string's, escaped as `serde_json` escapes it; text that needs
/// no escape (most) is copied whole.
fn push_escaped(out: &mut String, text: &str) {
    if !needs_escape(text.as_bytes()) {
        out.push_str(text);
        return;
    }
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        if escaped.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escaped);
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

/// Whether `bytes` hold a quote, a backslash or a control character (what JSON escapes),
/// eight at a time: for each, whether a byte of the word is below 0x20, or equal to `"` or
/// `\\` (the exact "has a byte less than / equal to" bit tricks: no false answer either way).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let special = |word: u64| {
        let control = word.wrapping_sub(ONES * 0x20) & !word;
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let quote = quote.wrapping_sub(ONES) & !quote;
        let backslash = backslash.wrapping_sub(ONES) & !backslash;
        (control | quote | backslash) & HIGH != 0
    };
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let word: [u8; 8] = word.try_into().unwrap_or_default();
        if special(u64::from_le_bytes(word)) {
            return true;
        }
    }
    words.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// `n` in decimal, in `digits`.
pub(super) fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &str {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&digits[at..]).unwrap_or_default()
}

/// `n` in decimal.
fn push_number(out: &mut String, n: u64) {
    out.push_str(decimal(n, &mut [0; 20]));
}

/// `at` as `chrono` writes it with `to_rfc3339_opts(Secs, true)`: `2026-12-04T14:53:02Z`.
pub(super) fn push_rfc3339_secs(out: &mut String, at: DateTime<Utc>) {
    push_rfc3339(out, at, false);
}

/// `at` as `chrono` writes it with `to_rfc3339_opts(Millis, true)`: `2026-12-04T14:53:02.123Z`.
fn push_rfc3339_millis(out: &mut String, at: DateTime<Utc>) {
    push_rfc3339(out, at, true);
}

/// `at` as `chrono` writes it with `to_rfc3339_opts(Millis or Secs, true)`.
fn push_rfc3339(out: &mut String, at: DateTime<Utc>, millis: bool) {
    use chrono::{Datelike, Timelike};
    // The UTC fields are read off the naive time (a `DateTime`'s own accessors convert to
    // its offset first, each time).
    let at = at.naive_utc();
    let year = at.year();
    if !(0..=9999).contains(&year) {
        let precision = if millis {
            chrono::SecondsFormat::Millis
        } else {
            chrono::SecondsFormat::Secs
        };
        out.push_str(&at.and_utc().to_rfc3339_opts(precision, true));
        return;
    }
    // Digits written into a template, then copied once.
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let mut put = |end: usize, width: usize, mut n: u32| {
        for d in text[end - width..end].iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(4, 4, year.unsigned_abs());
    put(7, 2, at.month());
    put(10, 2, at.day());
    put(13, 2, at.hour());
    put(16, 2, at.minute());
    put(19, 2, at.second());
    let text = if millis {
        put(23, 3, (at.nanosecond() % 1_000_000_000) / 1_000_000);
        &text[..]
    } else {
        text[19] = b'Z';
        &text[..20]
    };
    // Only ASCII was written.
    out.push_str(std::str::from_utf8(text).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use rosetta_api::{TraceFact, TraceStep};

    use super::*;

    /// `steps` written as the tracer writes them.
    fn write(steps: &[TraceStep]) -> String {
        let mut out = String::from("[");
        for (i, step) in steps.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let at = DateTime::parse_from_rfc3339(&step.at).unwrap().to_utc();
            open_step(&mut out, step.step, at);
            for (j, f) in step.facts.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                fact(&mut out, "", &f.name, &f.value, false);
            }
            close_step(&mut out, step.duration_us, step.ok);
        }
        out.push(']');
        out
    }

    fn api(
        step: TraceStepKind,
        at: DateTime<Utc>,
        facts: &[(String, String)],
        duration_us: u64,
        ok: bool,
    ) -> TraceStep {
        TraceStep {
            step,
            at: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_us,
            ok,
            facts: facts
                .iter()
                .map(|(name, value)| TraceFact {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
        }
    }

    #[test]
    fn steps_read_back_as_the_apis() {
        let at = DateTime::parse_from_rfc3339("2026-12-04T09:05:07.089Z")
            .unwrap()
            .to_utc();
        let facts = vec![("Claim \"x\"".to_owned(), "a\\b\n\u{1}\u{7f}é/".to_owned())];
        let steps = [
            api(TraceStepKind::Callback, at, &facts, 0, true),
            api(TraceStepKind::Assertion, at, &[], u64::MAX, false),
        ];
        let text = write(&steps);
        let read: Vec<TraceStep> = serde_json::from_str(&text).unwrap();
        assert_eq!(read, steps);
        assert_eq!(read[0].at, "2026-12-04T09:05:07.089Z");
        assert_eq!(write(&[]), "[]");
        let mut cut = String::new();
        fact(&mut cut, "Claim ", "a", "b", true);
        assert_eq!(cut, r#"{"name":"Claim a","value":"b…"}"#);
    }

    #[test]
    fn arrays_are_joined() {
        let mut mine = String::new();
        append_array(&mut mine, "[]".into());
        assert_eq!(mine, "");
        append_array(&mut mine, "[1]".into());
        assert_eq!(mine, "[1]");
        append_array(&mut mine, "[2,3]".into());
        append_array(&mut mine, "[]".into());
        assert_eq!(mine, "[1,2,3]");
    }

    proptest::proptest! {
        /// Any names, values, times and durations read back as written; every string is
        /// escaped byte for byte as serde_json escapes it.
        #[test]
        fn any_step_reads_back_and_strings_are_serde_jsons(
            facts in proptest::collection::vec((".{0,12}", "\\PC{0,3}[\\x00-\\x1f\"\\\\]{0,3}.{0,12}"), 0..6),
            millis in 0i64..253_402_300_799_999,
            nanos in 0u32..1_000_000,
            duration_us: u64,
            ok: bool,
        ) {
            let at = DateTime::from_timestamp_millis(millis).unwrap() + chrono::Duration::nanoseconds(i64::from(nanos));
            let steps = vec![api(TraceStepKind::Discovery, at, &facts, duration_us, ok)];
            let read: Vec<TraceStep> = serde_json::from_str(&write(&steps)).unwrap();
            proptest::prop_assert_eq!(read, steps);
            for (name, value) in &facts {
                for text in [name, value] {
                    let mut mine = String::from("\"");
                    push_escaped(&mut mine, text);
                    mine.push('"');
                    proptest::prop_assert_eq!(mine, serde_json::to_string(text).unwrap());
                }
            }
            let mut secs = String::new();
            push_rfc3339_secs(&mut secs, at);
            proptest::prop_assert_eq!(secs, at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }

        /// Wherever a byte JSON escapes stands in any text, it is found; text without one
        /// is not reported.
        #[test]
        fn a_byte_to_escape_is_found_anywhere(
            plain in "[^\\x00-\\x1f\"\\\\]{0,40}",
            at: proptest::sample::Index,
            special in proptest::prop_oneof![0u8..0x20, proptest::strategy::Just(b'"'), proptest::strategy::Just(b'\\')],
        ) {
            proptest::prop_assert!(!needs_escape(plain.as_bytes()));
            let mut bytes = plain.into_bytes();
            bytes.insert(at.index(bytes.len() + 1), special);
            proptest::prop_assert!(needs_escape(&bytes));
        }
    }
}

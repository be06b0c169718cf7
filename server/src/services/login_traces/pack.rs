//! How a leg's steps and XML are stored: compressed, a record per leg, in the row's `packed`
//! column. A later leg of a login is added to its row without reading it: its record is
//! appended in SQL (records are whole bytes, so joining two is appending one), and a row is
//! read back by unpacking its records in order.
//!
//! Each login stores about 7 KB of JSON and XML, made of the same names, namespaces and
//! URLs; compressed (LZ4, which costs the writer a few microseconds a leg), a row is a
//! fraction of that, which is what makes the trace cheap to write: fewer pages in SQLite's
//! write-ahead log and its checkpoints, fewer bytes sent to PostgreSQL (see BENCHMARKS.md).
//! The compressor starts from a dictionary of what every trace holds (`dictionary.txt`: a
//! login's steps and XML with made-up values), so even a short leg finds its names there.
//!
//! A record: its format (one byte: 1, LZ4 with dictionary 1), the length of what it holds
//! and of the compressed block (each a little-endian `u32`), then the block. What it holds:
//! the steps (a JSON array), the AuthnRequest XML and the Response XML, each as a length
//! (`u32`, [`NONE`] when absent) and its bytes.

use rosetta_api::TraceStep;

/// The record format: an LZ4 block compressed with [`DICTIONARY`]. A later dictionary gets
/// the next number, and this one stays to read the rows written with it.
const FORMAT_1: u8 = 1;
/// The dictionary of format 1 (a login's steps and XML as Rosetta writes them, with made-up
/// values). Never changed: rows written with it are read with it.
static DICTIONARY: &[u8] = include_bytes!("dictionary.txt");
/// A part's length when it is absent.
const NONE: u32 = u32::MAX;
/// The header: format, length held, length compressed.
const HEADER: usize = 9;
/// The most a record may hold once unpacked (a leg holds a few kilobytes; the XML is
/// limited where it is received): more is taken for a damaged record, not allocated.
const MAX_HELD: usize = 16 << 20;

/// A leg's record: its steps (a JSON array) and XML, compressed.
pub fn pack(steps: &str, request_xml: Option<&str>, response_xml: Option<&str>) -> Vec<u8> {
    let parts = [Some(steps), request_xml, response_xml];
    let held_len: usize = parts.iter().map(|p| 4 + p.map_or(0, str::len)).sum();
    let mut held = Vec::with_capacity(held_len);
    for part in parts {
        match part {
            Some(p) => {
                held.extend_from_slice(&length(p.len()).to_le_bytes());
                held.extend_from_slice(p.as_bytes());
            }
            None => held.extend_from_slice(&NONE.to_le_bytes()),
        }
    }
    let mut record = vec![0; HEADER + lz4_flex::block::get_maximum_output_size(held.len())];
    let packed = lz4_flex::block::compress_into_with_dict(&held, &mut record[HEADER..], DICTIONARY)
        // The output is sized for the worst case.
        .unwrap_or_else(|_| unreachable!("LZ4's output sized by get_maximum_output_size"));
    record[0] = FORMAT_1;
    record[1..5].copy_from_slice(&length(held.len()).to_le_bytes());
    record[5..9].copy_from_slice(&length(packed).to_le_bytes());
    record.truncate(HEADER + packed);
    record
}

/// A length as stored (every part is far below 4 GiB: requests and responses are limited to
/// megabytes).
fn length(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(NONE - 1)
}

/// What a row's records hold, in the legs' order.
#[derive(Debug, Default, PartialEq)]
pub struct Unpacked {
    /// Every leg's steps, in order.
    pub steps: Vec<TraceStep>,
    /// The AuthnRequest XML (the latest leg's that has one).
    pub request_xml: Option<String>,
    /// The Response XML (the latest leg's that has one).
    pub response_xml: Option<String>,
}

/// Why a row's records could not be read (a damaged or unknown record).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("login trace record {record} unreadable: {why}")]
pub struct Damaged {
    /// Which record (from 0).
    pub record: usize,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Reads a row's records: what they hold, and the first damaged one if any (what comes
/// before it is read; what comes after cannot be found).
pub fn unpack(bytes: &[u8]) -> (Unpacked, Option<Damaged>) {
    let mut out = Unpacked::default();
    let damaged = unpack_into(bytes, &mut out).err();
    (out, damaged)
}

fn unpack_into(mut bytes: &[u8], out: &mut Unpacked) -> Result<(), Damaged> {
    let mut record = 0;
    while !bytes.is_empty() {
        let damaged = |why| Damaged { record, why };
        let header = bytes.get(..HEADER).ok_or(damaged("cut short"))?;
        if header[0] != FORMAT_1 {
            return Err(damaged("unknown format"));
        }
        let held_len = u32_at(header, 1) as usize;
        let packed_len = u32_at(header, 5) as usize;
        if held_len > MAX_HELD {
            return Err(damaged("too large"));
        }
        let block = bytes.get(HEADER..HEADER + packed_len).ok_or(damaged("cut short"))?;
        let mut held = vec![0; held_len];
        let n =
            lz4_flex::block::decompress_into_with_dict(block, &mut held, DICTIONARY).map_err(|_| damaged("not LZ4"))?;
        if n != held_len {
            return Err(damaged("length differs"));
        }
        let mut rest = held.as_slice();
        let mut parts: [Option<&str>; 3] = [None; 3];
        for part in &mut parts {
            let len = rest.get(..4).map(|l| u32_at(l, 0)).ok_or(damaged("part cut short"))?;
            rest = &rest[4..];
            if len != NONE {
                let bytes = rest.get(..len as usize).ok_or(damaged("part cut short"))?;
                *part = Some(std::str::from_utf8(bytes).map_err(|_| damaged("not UTF-8"))?);
                rest = &rest[len as usize..];
            }
        }
        let [steps, request_xml, response_xml] = parts;
        let steps: Vec<TraceStep> =
            serde_json::from_str(steps.unwrap_or("[]")).map_err(|_| damaged("steps not JSON"))?;
        out.steps.extend(steps);
        if let Some(xml) = request_xml {
            out.request_xml = Some(xml.to_owned());
        }
        if let Some(xml) = response_xml {
            out.response_xml = Some(xml.to_owned());
        }
        bytes = &bytes[HEADER + packed_len..];
        record += 1;
    }
    Ok(())
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A step list as a leg records it (the API's shape).
    fn steps(kind: &str, value: &str) -> String {
        serde_json::json!([{
            "step": kind,
            "at": "2026-12-07T10:00:00Z",
            "facts": [{ "name": "Seen", "value": value }],
            "duration_us": 12,
            "ok": true,
        }])
        .to_string()
    }

    #[test]
    fn records_read_back_in_the_legs_order_and_the_latest_xml_counts() {
        let first = pack(&steps("request", "a"), Some("<samlp:AuthnRequest/>"), None);
        let second = pack(
            &steps("callback", "b"),
            None,
            Some("<samlp:Response>1</samlp:Response>"),
        );
        let third = pack(&steps("mfa", "c"), None, Some("<samlp:Response>2</samlp:Response>"));
        let row = [first, second, third].concat();
        let (read, damaged) = unpack(&row);
        assert_eq!(damaged, None);
        let seen: Vec<&str> = read.steps.iter().map(|s| s.facts[0].value.as_str()).collect();
        assert_eq!(seen, ["a", "b", "c"]);
        assert_eq!(read.request_xml.as_deref(), Some("<samlp:AuthnRequest/>"));
        assert_eq!(read.response_xml.as_deref(), Some("<samlp:Response>2</samlp:Response>"));
        assert_eq!(unpack(&[]), (Unpacked::default(), None), "no record, nothing");
    }

    #[test]
    fn a_login_is_stored_at_a_fraction_of_its_size() {
        // The dictionary's own login with other values: what a tenant's logins look like.
        let dictionary = std::str::from_utf8(DICTIONARY).unwrap();
        let login = dictionary
            .replace("ada@acme.example", "grace.hopper@example.org")
            .replace(
                "00000000-0000-0000-0000-000000000000",
                "6f1d2c3b-aaaa-4bbb-8ccc-123456789abc",
            );
        let record = pack(&login, None, None);
        assert!(
            record.len() * 4 < login.len(),
            "{} bytes stored for {}",
            record.len(),
            login.len()
        );
        // Without the dictionary's help (text it has never seen) it still reads back.
        let noise: String = (0..5000u32).map(|i| char::from(b'!' + (i * 7919 % 90) as u8)).collect();
        let record = pack("[]", Some(&noise), None);
        assert_eq!(unpack(&record).0.request_xml.as_deref(), Some(noise.as_str()));
    }

    #[test]
    fn a_damaged_record_is_an_error_not_a_panic() {
        let good = pack(&steps("request", "a"), Some("<x/>"), None);
        let mut unknown = good.clone();
        unknown[0] = 9;
        let mut too_large = good.clone();
        too_large[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut wrong_length = good.clone();
        let held = u32_at(&good, 1);
        wrong_length[1..5].copy_from_slice(&(held + 1).to_le_bytes());
        let cases: [(&str, Vec<u8>, Damaged); 5] = [
            (
                "cut in its header",
                good[..5].to_vec(),
                Damaged {
                    record: 0,
                    why: "cut short",
                },
            ),
            (
                "cut in its block",
                good[..good.len() - 1].to_vec(),
                Damaged {
                    record: 0,
                    why: "cut short",
                },
            ),
            (
                "unknown format",
                unknown,
                Damaged {
                    record: 0,
                    why: "unknown format",
                },
            ),
            (
                "too large",
                too_large,
                Damaged {
                    record: 0,
                    why: "too large",
                },
            ),
            (
                "second record damaged",
                [good.clone(), vec![1, 2]].concat(),
                Damaged {
                    record: 1,
                    why: "cut short",
                },
            ),
        ];
        for (what, bytes, expected) in cases {
            let (read, damaged) = unpack(&bytes);
            assert_eq!(damaged, Some(expected), "{what}");
            // The records before the damaged one are read.
            assert_eq!(read.steps.len(), damaged.map_or(0, |d| d.record), "{what}");
        }
        assert_eq!(unpack(&wrong_length).1.map(|d| d.record), Some(0));
    }

    proptest::proptest! {
        /// Any parts (any characters, any length, present or not) read back as they were
        /// packed, a record after another.
        #[test]
        fn any_parts_read_back(
            values in proptest::collection::vec(".{0,40}", 1..4),
            request in proptest::option::of(".{0,300}"),
            response in proptest::option::of(".{0,300}"),
        ) {
            let mut row = Vec::new();
            for value in &values {
                row.extend(pack(&steps("user", value), request.as_deref(), response.as_deref()));
            }
            let (read, damaged) = unpack(&row);
            proptest::prop_assert_eq!(damaged, None);
            let seen: Vec<&String> = read.steps.iter().map(|s| &s.facts[0].value).collect();
            proptest::prop_assert_eq!(seen, values.iter().collect::<Vec<_>>());
            proptest::prop_assert_eq!(read.request_xml, request);
            proptest::prop_assert_eq!(read.response_xml, response);
        }
    }
}

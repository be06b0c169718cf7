//! Claim paths: a top-level claim name, else a dotted path through objects and arrays.

use serde_json::{Map, Value};

/// At most this many characters in a path.
const MAX_PATH_CHARS: usize = 256;
/// At most this many segments in a dotted path.
const MAX_SEGMENTS: usize = 8;

/// A checked claim path.
#[derive(Debug, Clone)]
pub(super) struct ClaimPath {
    whole: String,
    segments: Vec<String>,
}

impl ClaimPath {
    /// Checks `path`: 1 to 256 printable characters; as a dotted path, 1 to 8 non-empty
    /// segments (a top-level name with dots, like Auth0's `https://acme.example/roles`, is
    /// looked up whole first).
    pub(super) fn parse(path: &str) -> Result<Self, String> {
        if path.is_empty() || path.chars().count() > MAX_PATH_CHARS || path.chars().any(char::is_control) {
            return Err(format!("a claim path has 1 to {MAX_PATH_CHARS} printable characters"));
        }
        let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
        let usable = segments.len() <= MAX_SEGMENTS && segments.iter().all(|s| !s.is_empty());
        Ok(Self {
            whole: path.to_owned(),
            // A name that is no usable dotted path can still be a top-level claim.
            segments: if usable { segments } else { vec![path.to_owned()] },
        })
    }

    /// The values at this path: a string as it is, a number or boolean as its text, an
    /// array's elements; nothing for a missing claim or `null`. An object (where a value was
    /// expected) is a type error.
    pub(super) fn values(&self, claims: &Map<String, Value>) -> Result<Vec<String>, String> {
        let mut found: Vec<&Value> = Vec::new();
        if let Some(v) = claims.get(&self.whole) {
            found.push(v);
        } else {
            let mut current: Vec<&Value> = match claims.get(&self.segments[0]) {
                Some(v) => vec![v],
                None => return Ok(Vec::new()),
            };
            for segment in &self.segments[1..] {
                let mut next = Vec::new();
                for v in current {
                    match v {
                        Value::Object(m) => next.extend(m.get(segment)),
                        Value::Array(items) => next.extend(items.iter().filter_map(|i| i.get(segment))),
                        _ => {}
                    }
                }
                current = next;
            }
            found = current;
        }
        let mut out = Vec::new();
        for v in found {
            push_scalars(v, &self.whole, &mut out, 0)?;
        }
        Ok(out)
    }
}

fn push_scalars(v: &Value, path: &str, out: &mut Vec<String>, depth: u8) -> Result<(), String> {
    match v {
        Value::Null => {}
        Value::String(s) => out.push(s.clone()),
        Value::Bool(b) => out.push(b.to_string()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) if depth == 0 => {
            for i in items {
                push_scalars(i, path, out, 1)?;
            }
        }
        Value::Array(_) => return Err(format!("claim `{path}` holds lists within a list, not values")),
        Value::Object(_) => {
            return Err(format!(
                "claim `{path}` is an object, not a value: name one of its fields (`{path}.<field>`)"
            ));
        }
    }
    Ok(())
}

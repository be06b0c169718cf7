//! A human name shown on pages.

use std::fmt;

use super::ParseError;

/// Trimmed, 1–200 characters, no control characters.
#[derive(Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Parses a display name, trimming surrounding white space.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(ParseError("a display name cannot be empty".into()));
        }
        if trimmed.chars().count() > 200 {
            return Err(ParseError("a display name has at most 200 characters".into()));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ParseError("a display name cannot contain control characters".into()));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DisplayName({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(
            DisplayName::parse("  Acme Corp ").map(|d| d.to_string()),
            Ok("Acme Corp".into())
        );
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("a\u{0}b").is_err());
        assert!(DisplayName::parse(&"é".repeat(201)).is_err());
        assert!(DisplayName::parse(&"é".repeat(200)).is_ok());
    }
}

//! The groups rule: an allow-list of names or `*` patterns, then renames.

use rosetta_api::GroupsRule;

use super::RuleError;

/// Renames indexed by upstream name.
type Renames = std::collections::HashMap<String, String>;

/// At most this many allow entries, and as many renames.
const MAX_ENTRIES: usize = 256;
/// At most this many characters in a group name or pattern.
const MAX_NAME_CHARS: usize = 256;

/// A compiled groups rule.
#[derive(Debug, Clone, Default)]
pub struct GroupsFilter {
    exact: std::collections::HashSet<String>,
    patterns: Vec<Vec<String>>,
    renames: Renames,
}

impl GroupsFilter {
    /// Checks and compiles `rule`, adding its problems to `errors`.
    pub(super) fn compile(rule: &GroupsRule, errors: &mut Vec<RuleError>) -> Self {
        let mut filter = Self::default();
        let bad =
            |s: &str| s.trim().is_empty() || s.chars().count() > MAX_NAME_CHARS || s.chars().any(char::is_control);
        if rule.allow.len() > MAX_ENTRIES {
            errors.push(RuleError {
                field: "groups.allow".into(),
                message: format!("at most {MAX_ENTRIES} allowed groups or patterns"),
            });
        }
        for (i, entry) in rule.allow.iter().enumerate() {
            if bad(entry) {
                errors.push(RuleError {
                    field: format!("groups.allow[{i}]"),
                    message: format!(
                        "groups: an allowed group or pattern has 1 to {MAX_NAME_CHARS} printable characters"
                    ),
                });
            } else if entry.contains('*') {
                filter.patterns.push(entry.split('*').map(str::to_owned).collect());
            } else {
                filter.exact.insert(entry.clone());
            }
        }
        if rule.rename.len() > MAX_ENTRIES {
            errors.push(RuleError {
                field: "groups.rename".into(),
                message: format!("at most {MAX_ENTRIES} renames"),
            });
        }
        for (i, r) in rule.rename.iter().enumerate() {
            if bad(&r.from) || bad(&r.to) {
                errors.push(RuleError {
                    field: format!("groups.rename[{i}]"),
                    message: format!(
                        "groups: a rename maps a group name to another, each 1 to {MAX_NAME_CHARS} printable characters"
                    ),
                });
            } else if filter.renames.insert(r.from.clone(), r.to.clone()).is_some() {
                errors.push(RuleError {
                    field: format!("groups.rename[{i}]"),
                    message: format!("groups: `{}` is renamed twice", r.from),
                });
            }
        }
        filter
    }

    /// Whether no group can pass.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.patterns.is_empty()
    }

    /// The groups of `upstream` that pass, renamed, without duplicates, in upstream order.
    pub fn apply(&self, upstream: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for g in upstream {
            if self.exact.contains(g) || self.patterns.iter().any(|p| glob(p, g)) {
                let name = self.renames.get(g).unwrap_or(g);
                if !out.contains(name) {
                    out.push(name.clone());
                }
            }
        }
        out
    }
}

/// Whether `name` matches the pattern whose literal parts, split at each `*`, are `parts`
/// (greedy-free: each part is found leftmost, which is exact for `*`-only patterns).
fn glob(parts: &[String], name: &str) -> bool {
    let (first, rest) = match parts.split_first() {
        Some(split) => split,
        None => return false,
    };
    let Some(mut tail) = name.strip_prefix(first.as_str()) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return tail.is_empty();
    };
    for part in middle {
        match tail.find(part.as_str()) {
            Some(at) => tail = &tail[at + part.len()..],
            None => return false,
        }
    }
    tail.len() >= last.len() && tail.ends_with(last.as_str())
}

#[cfg(test)]
mod tests {
    use rosetta_api::GroupRename;

    use super::*;

    fn filter(allow: &[&str], rename: &[(&str, &str)]) -> GroupsFilter {
        let rule = GroupsRule {
            allow: allow.iter().map(|s| (*s).to_owned()).collect(),
            rename: rename
                .iter()
                .map(|(f, t)| GroupRename {
                    from: (*f).into(),
                    to: (*t).into(),
                })
                .collect(),
            provision: true,
        };
        let mut errors = Vec::new();
        let f = GroupsFilter::compile(&rule, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        f
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn patterns_match_as_globs() {
        let p = |s: &str| s.split('*').map(str::to_owned).collect::<Vec<_>>();
        assert!(glob(&p("eng-*"), "eng-all"));
        assert!(glob(&p("eng-*"), "eng-"));
        assert!(!glob(&p("eng-*"), "sales"));
        assert!(glob(&p("*-admins"), "jira-admins"));
        assert!(glob(&p("a*b*c"), "aXbYc"));
        assert!(!glob(&p("a*b*c"), "aXcYb"));
        assert!(glob(&p("*"), ""));
        assert!(!glob(&p("ab*ba"), "aba"), "the two ends may not overlap");
    }

    #[test]
    fn allowed_groups_pass_renamed_once_each() {
        let f = filter(
            &["eng-*", "admins"],
            &[("eng-all", "jira-software-users"), ("admins", "site-admins")],
        );
        assert_eq!(
            f.apply(&names(&["sales", "eng-all", "admins", "eng-ops", "eng-all"])),
            names(&["jira-software-users", "site-admins", "eng-ops"])
        );
        assert!(
            filter(&[], &[]).apply(&names(&["eng-all"])).is_empty(),
            "nothing passes an empty allow-list"
        );
    }

    #[test]
    fn bad_entries_are_field_errors() {
        let rule = GroupsRule {
            allow: vec![String::new(), "ok".into()],
            rename: vec![
                GroupRename {
                    from: "a".into(),
                    to: "b".into(),
                },
                GroupRename {
                    from: "a".into(),
                    to: "c".into(),
                },
            ],
            provision: false,
        };
        let mut errors = Vec::new();
        GroupsFilter::compile(&rule, &mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["groups.allow[0]", "groups.rename[1]"]);
    }
}

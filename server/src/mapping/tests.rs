use proptest::prelude::*;
use rosetta_api::{GroupRename, GroupsRule};
use serde_json::json;

use super::*;
use crate::saml::uri::NAMEID_UNSPECIFIED;

fn rule(name: &str, value: ValueSource) -> AttributeRule {
    AttributeRule {
        name: name.into(),
        name_format: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic".into(),
        value,
        transforms: Vec::new(),
        multi_valued: false,
        required: false,
    }
}

fn claim(path: &str) -> ValueSource {
    ValueSource::Claim { path: path.into() }
}

fn mapping(attributes: Vec<AttributeRule>) -> Mapping {
    default_mapping(attributes)
}

fn claims(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn subject<'a>(claims: &'a Map<String, Value>, groups: Option<&'a [String]>) -> Subject<'a> {
    Subject {
        user_id: Uuid::nil(),
        email: "ada@corp.example",
        given_name: Some("Ada"),
        family_name: None,
        name: Some("Ada Lovelace"),
        claims,
        groups,
    }
}

fn errors_of(m: &Mapping) -> Vec<(String, String)> {
    match compile(m) {
        Ok(_) => Vec::new(),
        Err(e) => e.into_iter().map(|e| (e.field, e.message)).collect(),
    }
}

#[test]
fn claims_paths_arrays_and_types() {
    let c = claims(json!({
        "department": "R&D",
        "https://acme.example/roles": ["admin", "dev"],
        "address": {"country": "UK"},
        "realm_access": {"roles": ["a", "b"]},
        "emps": [{"id": 7}, {"id": 8}],
        "employee_number": 42,
        "flag": true,
        "nested": {"x": {"y": 1}},
        "empty": null,
    }));
    let m = mapping(vec![
        rule("dept", claim("department")),
        AttributeRule {
            multi_valued: true,
            ..rule("roles", claim("https://acme.example/roles"))
        },
        rule("country", claim("address.country")),
        AttributeRule {
            multi_valued: true,
            ..rule("realm", claim("realm_access.roles"))
        },
        AttributeRule {
            multi_valued: true,
            ..rule("ids", claim("emps.id"))
        },
        rule("number", claim("employee_number")),
        rule("flag", claim("flag")),
        rule("missing", claim("nope.nothing")),
        rule("null", claim("empty")),
        rule("first-role", claim("https://acme.example/roles")),
    ]);
    let compiled = compile(&m).expect("compiles");
    let release = compiled
        .release(NAMEID_EMAIL, None, &subject(&c, None))
        .expect("releases");
    let got: Vec<(&str, Vec<&str>)> = release
        .attributes
        .iter()
        .map(|a| (a.name.as_str(), a.values.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("dept", vec!["R&D"]),
            ("roles", vec!["admin", "dev"]),
            ("country", vec!["UK"]),
            ("realm", vec!["a", "b"]),
            ("ids", vec!["7", "8"]),
            ("number", vec!["42"]),
            ("flag", vec!["true"]),
            ("first-role", vec!["admin"]),
        ]
    );
    // An object where a value was expected is a login failure naming the rule.
    let bad = compile(&mapping(vec![rule("nested", claim("nested"))])).expect("compiles");
    let e = bad
        .release(NAMEID_EMAIL, None, &subject(&c, None))
        .expect_err("type error");
    assert_eq!(e.rule, "attributes[nested]");
    assert!(e.message.contains("is an object"), "{}", e.message);
}

#[test]
fn transforms_first_of_and_static() {
    let c = claims(json!({"upn": "Bob.Smith@corp.onmicrosoft.com", "email": "", "dept": "eng-42"}));
    let m = mapping(vec![
        AttributeRule {
            transforms: vec![
                Transform::Lowercase,
                Transform::ReplaceDomain {
                    domain: "corp.example".into(),
                },
            ],
            ..rule(
                "mail",
                ValueSource::FirstOf {
                    paths: vec!["email".into(), "upn".into()],
                },
            )
        },
        AttributeRule {
            transforms: vec![Transform::Regex {
                pattern: r"^eng-(\d+)$".into(),
            }],
            ..rule("team", claim("dept"))
        },
        AttributeRule {
            transforms: vec![Transform::Regex {
                pattern: r"^sales-".into(),
            }],
            ..rule("sales", claim("dept"))
        },
        AttributeRule {
            multi_valued: true,
            ..rule(
                "tier",
                ValueSource::Static {
                    values: vec!["gold".into(), "eu".into()],
                },
            )
        },
    ]);
    let release = compile(&m)
        .expect("compiles")
        .release(NAMEID_EMAIL, None, &subject(&c, None))
        .expect("releases");
    let values: Vec<Vec<String>> = release.attributes.iter().map(|a| a.values.clone()).collect();
    assert_eq!(
        values,
        vec![
            vec!["bob.smith@corp.example".to_owned()],
            vec!["42".to_owned()],
            vec!["gold".to_owned(), "eu".to_owned()],
        ],
        "a regex that does not match drops the value, and the attribute is left out"
    );
}

#[test]
fn name_id_formats() {
    let c = claims(json!({"upn": "bob@corp.example", "employee": "E-7"}));
    let s = subject(&c, None);
    let default = compile(&mapping(Vec::new())).expect("compiles");
    assert_eq!(
        default.name_id(NAMEID_EMAIL, None, &s).expect("email"),
        "ada@corp.example"
    );
    let mut m = mapping(Vec::new());
    m.name_id = NameIdRule {
        value: claim("upn"),
        transforms: vec![Transform::Lowercase],
    };
    assert_eq!(
        compile(&m)
            .expect("compiles")
            .name_id(NAMEID_EMAIL, None, &s)
            .expect("upn"),
        "bob@corp.example"
    );
    m.name_id.value = claim("employee");
    m.name_id.transforms.clear();
    let compiled = compile(&m).expect("compiles");
    assert_eq!(
        compiled.name_id(NAMEID_UNSPECIFIED, None, &s).expect("unspecified"),
        "E-7"
    );
    let e = compiled.name_id(NAMEID_EMAIL, None, &s).expect_err("not an email");
    assert_eq!(e.rule, "name_id");
    m.name_id.value = claim("absent");
    let e = compile(&m)
        .expect("compiles")
        .name_id(NAMEID_EMAIL, None, &s)
        .expect_err("empty");
    assert!(e.message.contains("cannot be empty"), "{}", e.message);

    // Persistent: pairwise, stable, and different for each SP; transient: new each time.
    let a = default.name_id(NAMEID_PERSISTENT, Some("salt-a"), &s).expect("p");
    let b = default.name_id(NAMEID_PERSISTENT, Some("salt-b"), &s).expect("p");
    assert_ne!(a, b);
    assert_eq!(a, default.name_id(NAMEID_PERSISTENT, Some("salt-a"), &s).expect("p"));
    assert!(!a.contains(&Uuid::nil().to_string()));
    assert_eq!(
        default.name_id(NAMEID_PERSISTENT, None, &s).expect("legacy"),
        Uuid::nil().to_string()
    );
    let t1 = default.name_id(NAMEID_TRANSIENT, None, &s).expect("t");
    assert_ne!(t1, default.name_id(NAMEID_TRANSIENT, None, &s).expect("t"));
}

#[test]
fn save_time_errors_name_the_rule() {
    let mut m = mapping(vec![
        AttributeRule {
            transforms: vec![Transform::Regex {
                pattern: "(unclosed".into(),
            }],
            ..rule("a", claim("x"))
        },
        AttributeRule {
            transforms: vec![Transform::Regex {
                // Compiles to far more than the size bound.
                pattern: r"\w{1000}\w{1000}\w{1000}".into(),
            }],
            ..rule("b", claim("x"))
        },
        rule("c", claim("")),
        rule("a", claim("y")),
        rule(
            "d",
            ValueSource::Static {
                values: vec!["x".repeat(MAX_VALUE_BYTES + 1)],
            },
        ),
        AttributeRule {
            transforms: vec![Transform::ReplaceDomain {
                domain: "not a domain".into(),
            }],
            ..rule("e", claim("x"))
        },
    ]);
    m.name_id.value = ValueSource::Static {
        values: vec!["same-for-all".into()],
    };
    let errors = errors_of(&m);
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "name_id",
            "attributes[0].transforms[0]",
            "attributes[1].transforms[0]",
            "attributes[2].value",
            "attributes[3].name",
            "attributes[4].value",
            "attributes[5].transforms[0]",
        ]
    );
    assert!(
        errors[1].1.starts_with("attribute `a`: the pattern is not valid"),
        "{}",
        errors[1].1
    );
    assert!(errors[2].1.contains("too costly"), "{}", errors[2].1);
    m.name_id.value = ValueSource::Groups;
    assert_eq!(errors_of(&m)[0].0, "name_id");
}

#[test]
fn size_caps_hold_at_login() {
    let big = "x".repeat(MAX_VALUE_BYTES + 1);
    let c = claims(json!({"big": big, "many": (0..300).map(|i| i.to_string()).collect::<Vec<_>>()}));
    let one = compile(&mapping(vec![rule("big", claim("big"))])).expect("compiles");
    let e = one
        .release(NAMEID_EMAIL, None, &subject(&c, None))
        .expect_err("too big");
    assert_eq!(e.rule, "attributes[big]");
    let many = compile(&mapping(vec![AttributeRule {
        multi_valued: true,
        ..rule("many", claim("many"))
    }]))
    .expect("compiles");
    assert!(many.release(NAMEID_EMAIL, None, &subject(&c, None)).is_err());
    let required = compile(&mapping(vec![AttributeRule {
        required: true,
        ..rule("dept", claim("department"))
    }]))
    .expect("compiles");
    let e = required
        .release(NAMEID_EMAIL, None, &subject(&c, None))
        .expect_err("required");
    assert!(e.message.contains("required"));
}

#[test]
fn groups_reach_attributes_and_unknown_groups_are_reported() {
    let mut m = mapping(vec![AttributeRule {
        multi_valued: true,
        ..rule("groups", ValueSource::Groups)
    }]);
    m.groups = GroupsRule {
        allow: vec!["eng-*".into()],
        rename: vec![GroupRename {
            from: "eng-all".into(),
            to: "jira-software-users".into(),
        }],
        provision: true,
    };
    let compiled = compile(&m).expect("compiles");
    assert!(compiled.provisions_groups());
    let upstream = vec!["eng-all".to_owned(), "sales".to_owned(), "eng-ops".to_owned()];
    let c = Map::new();
    let release = compiled
        .release(NAMEID_EMAIL, None, &subject(&c, Some(&upstream)))
        .expect("releases");
    assert_eq!(release.attributes[0].values, ["jira-software-users", "eng-ops"]);
    assert_eq!(
        release.groups.as_deref(),
        Some(&["jira-software-users".to_owned(), "eng-ops".to_owned()][..])
    );
    let unknown = compiled
        .release(NAMEID_EMAIL, None, &subject(&c, None))
        .expect("releases");
    assert!(unknown.attributes.is_empty() && unknown.groups.is_none());
    let preview = compiled.preview(NAMEID_EMAIL, None, &subject(&c, None));
    assert!(
        preview
            .problems
            .iter()
            .any(|(p, refuses)| p.rule == "groups" && !refuses)
    );
}

proptest! {
    /// Whatever the claims hold, evaluating a compiled mapping never panics, and every
    /// released value respects the caps.
    #[test]
    fn evaluation_is_total_and_bounded(
        key in "[a-z.]{1,12}",
        text in ".{0,64}",
        number in any::<i64>(),
        list in proptest::collection::vec(".{0,16}", 0..8),
        pattern in "[a-z()|*+?.\\\\^$-]{1,12}",
    ) {
        let c = claims(json!({ key.clone(): text, "n": number, "l": list, "o": {"k": [1, {"z": 2}]} }));
        let mut rules = vec![
            AttributeRule { multi_valued: true, ..rule("a", claim(&key)) },
            AttributeRule { multi_valued: true, ..rule("b", claim("l")) },
            rule("c", ValueSource::FirstOf { paths: vec!["o.k".into(), "n".into()] }),
        ];
        if compile_regex(&pattern).is_ok() {
            rules[0].transforms.push(Transform::Regex { pattern });
        }
        if let Ok(compiled) = compile(&mapping(rules))
            && let Ok(release) = compiled.release(NAMEID_UNSPECIFIED, None, &subject(&c, None))
        {
            for a in &release.attributes {
                prop_assert!(!a.values.is_empty() && a.values.len() <= MAX_VALUES);
                prop_assert!(a.values.iter().all(|v| v.len() <= MAX_VALUE_BYTES));
            }
        }
    }
}

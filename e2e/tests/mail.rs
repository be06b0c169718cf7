//! Outgoing email through a real SMTP server, and the outbox of the embedded default.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use rosetta_e2e::{SmtpServer, cli, free_port};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "stdout: {} stderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test]
async fn without_smtp_messages_land_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(dir.path(), &[], &["mail", "test", "ada@example.com", "--json"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reply = json(&out);
    assert_eq!(reply["transport"], "outbox");
    let file = std::path::PathBuf::from(reply["file"].as_str().unwrap());
    assert!(file.starts_with(dir.path().join("outbox")), "{file:?}");
    let message = std::fs::read_to_string(&file).unwrap();
    assert!(message.contains("To: ada@example.com"), "{message}");
    assert!(message.contains("Subject: Rosetta test message"), "{message}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("written to the outbox"),
        "the log says where"
    );
}

#[tokio::test]
async fn with_smtp_messages_reach_the_server() {
    let smtp = SmtpServer::start().expect("aiosmtpd starts (scripts/setup.sh installs it in e2e/.venv)");
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("ROSETTA_SMTP_URL".to_owned(), smtp.url()),
        (
            "ROSETTA_MAIL_FROM".to_owned(),
            "Rosetta <no-reply@rosetta.test>".to_owned(),
        ),
    ];
    let out = cli(dir.path(), &env, &["mail", "test", "grace@example.com", "--json"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["transport"], "smtp");
    let messages = smtp.wait_for(1, Duration::from_secs(10));
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("To: grace@example.com"), "{}", messages[0]);
    assert!(
        messages[0].contains("From: Rosetta <no-reply@rosetta.test>"),
        "{}",
        messages[0]
    );
    assert!(
        !dir.path().join("outbox").exists(),
        "nothing written locally when SMTP is configured"
    );
}

#[tokio::test]
async fn smtp_down_or_bad_recipient_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let env = vec![(
        "ROSETTA_SMTP_URL".to_owned(),
        format!("smtp://127.0.0.1:{}", free_port()),
    )];
    let out = cli(dir.path(), &env, &["mail", "test", "grace@example.com", "--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["code"], "mail");

    let out = cli(dir.path(), &[], &["mail", "test", "not an address", "--json"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["code"], "invalid");
}

//! Outgoing email: SMTP through lettre in production; by default each message is written
//! to `<data_dir>/outbox/` as an `.eml` file, so a local user can open verification links
//! without a mail server. Logs name the file and the recipient, never the body (it holds
//! single-use links).

use std::path::PathBuf;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::configuration::Settings;

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address or header that does not parse.
    #[error("invalid email {field}: {reason}")]
    Invalid {
        /// Which part.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The SMTP server refused or could not be reached.
    #[error("SMTP delivery failed: {0}")]
    Smtp(String),
    /// Writing to the outbox failed.
    #[error("writing to the outbox failed: {0}")]
    Outbox(#[from] std::io::Error),
}

/// A message to send: plain text, optionally with an HTML alternative.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body, shown by clients that can.
    pub html: Option<String>,
}

/// Where a message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the SMTP server.
    Sent,
    /// Written to this file of the outbox.
    Written(PathBuf),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

/// Sends [`OutgoingEmail`]s as configured.
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::Outbox(_) => "outbox",
        };
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("transport", &kind)
            .finish()
    }
}

impl Mailer {
    /// SMTP when `smtp_url` is set (`smtp://` with optional `?tls=required` for STARTTLS,
    /// `smtps://` for implicit TLS, credentials in the URL), else the outbox.
    pub fn from_settings(settings: &Settings) -> Result<Self, MailError> {
        let from: Mailbox =
            settings
                .mail
                .from
                .parse()
                .map_err(|e: lettre::address::AddressError| MailError::Invalid {
                    field: "mail_from",
                    reason: e.to_string(),
                })?;
        let transport = match &settings.mail.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| MailError::Invalid {
                        field: "smtp_url",
                        reason: e.to_string(),
                    })?
                    .timeout(Some(std::time::Duration::from_secs(10)))
                    .build(),
            ),
            None => Transport::Outbox(settings.outbox_dir()),
        };
        Ok(Self { from, transport })
    }

    /// `smtp` or `outbox`.
    pub fn kind(&self) -> &'static str {
        match self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::Outbox(_) => "outbox",
        }
    }

    /// Builds and delivers one message.
    #[tracing::instrument(skip_all, fields(transport = self.kind()))]
    pub async fn send(&self, email: &OutgoingEmail) -> Result<Delivery, MailError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Invalid {
                field: "to",
                reason: e.to_string(),
            })?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(format!("<{}@rosetta>", crate::db::new_id().simple())));
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(email.text.clone());
        let message = match &email.html {
            Some(html) => builder.multipart(
                MultiPart::alternative()
                    .singlepart(text)
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.clone())),
            ),
            None => builder.singlepart(text),
        }
        .map_err(|e| MailError::Invalid {
            field: "message",
            reason: e.to_string(),
        })?;

        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.map_err(|e| MailError::Smtp(e.to_string()))?;
                tracing::info!(to = %email.to, subject = %email.subject, "email sent");
                Ok(Delivery::Sent)
            }
            Transport::Outbox(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let name = format!(
                    "{}-{}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
                    crate::db::new_id().simple()
                );
                let path = dir.join(name);
                tokio::fs::write(&path, message.formatted()).await?;
                tracing::info!(to = %email.to, subject = %email.subject, file = %path.display(),
                    "email written to the outbox (no smtp_url configured)");
                Ok(Delivery::Written(path))
            }
        }
    }
}

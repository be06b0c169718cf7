//! Why an admin use case stopped: one enum, each variant with its stable [`ErrorCode`]. The
//! HTTP edge (`routes::api::error`) gives each a status; the command line an exit code.

use rosetta_api::{ErrorCode, FieldError};

use crate::services::ServiceError;
use crate::services::rate_limit::LimitError;
use crate::store::StoreError;

/// Why an admin use case stopped.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Fields were refused; each says why.
    #[error("{}", fields_message(.0))]
    Invalid(Vec<FieldError>),
    /// No such object in the caller's tenant (also another tenant's). The message names what
    /// was looked for; the API answers every such case alike.
    #[error("{0}")]
    NotFound(String),
    /// A unique value is taken, or the object is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this; the code says why.
    #[error("{1}")]
    Forbidden(ErrorCode, String),
    /// Not signed in.
    #[error("sign in first")]
    Unauthenticated,
    /// Too many attempts; the window ends in `retry_after` seconds.
    #[error("too many attempts; try again in {retry_after} s")]
    RateLimited {
        /// Seconds until attempts are allowed again.
        retry_after: u64,
    },
    /// Unknown email or wrong password (one answer for both).
    #[error("the email or password is not correct")]
    BadCredentials,
    /// Right password, email not yet confirmed.
    #[error("confirm your email address first: follow the link we sent you, or ask for a new one")]
    EmailNotVerified,
    /// A link could not be emailed just now; what it follows is kept.
    #[error("The email could not be sent just now. Nothing is lost: ask again in a few minutes.")]
    EmailUnavailable,
    /// The database or the session store did not answer; the cause is for the log.
    #[error("a service Rosetta depends on did not answer; try again in a moment")]
    Unavailable(#[source] anyhow::Error),
    /// A bug or unexpected failure; the cause is for the log.
    #[error("an unexpected error stopped this request; it has been logged")]
    Internal(#[source] anyhow::Error),
}

fn fields_message(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl AdminError {
    /// Nothing by that ID or name in the caller's tenant.
    pub fn not_found() -> Self {
        Self::NotFound("there is no such object in this tenant".into())
    }

    /// One refused field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::InvalidField,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Forbidden(code, _) => *code,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::BadCredentials => ErrorCode::BadCredentials,
            Self::EmailNotVerified => ErrorCode::EmailNotVerified,
            Self::EmailUnavailable => ErrorCode::EmailUnavailable,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The refused fields, if any.
    pub fn fields(&self) -> &[FieldError] {
        match self {
            Self::Invalid(fields) => fields,
            _ => &[],
        }
    }

    /// The cause kept for the log (dependencies and bugs only).
    pub fn cause(&self) -> Option<&anyhow::Error> {
        match self {
            Self::Unavailable(e) | Self::Internal(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ServiceError> for AdminError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid { field, message } => Self::field(field, message),
            ServiceError::Rules(errors) => Self::Invalid(
                errors
                    .into_iter()
                    .map(|e| FieldError {
                        field: e.field,
                        message: e.message,
                    })
                    .collect(),
            ),
            ServiceError::Conflict(m) => Self::Conflict(m),
            ServiceError::Forbidden(m) => Self::Forbidden(ErrorCode::Forbidden, m),
            ServiceError::NotFound(m) => Self::NotFound(m),
            e @ ServiceError::Database(_) => Self::Unavailable(e.into()),
            e @ ServiceError::Internal(_) => Self::Internal(e.into()),
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(e.into())
    }
}

impl From<LimitError> for AdminError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Limited { retry_after } => Self::RateLimited { retry_after },
            LimitError::Store(e) => e.into(),
        }
    }
}

/// Result of an admin use case.
pub type AdminResult<T> = Result<T, AdminError>;

/// Collects the refused fields of one request, so a form shows them all at once.
#[derive(Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// Keeps the value, or records why the field was refused.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(field, e.to_string());
                None
            }
        }
    }

    /// Records a problem directly.
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// `Ok` when every field passed, else one error listing them all.
    pub fn finish(self) -> AdminResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AdminError::Invalid(self.0))
        }
    }
}

/// The values of fields that all passed: after [`Fields::finish`] a missing one is a bug.
pub(crate) fn checked<T>(value: Option<T>) -> AdminResult<T> {
    value.ok_or_else(|| AdminError::Internal(anyhow::anyhow!("a validated field is missing")))
}

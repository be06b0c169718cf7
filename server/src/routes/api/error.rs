//! The admin API's error: a status, a stable code, a message, field errors; JSON always.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use rosetta_api::{ApiError, FieldError};

use crate::middleware::current_request_id;
use crate::services::ServiceError;
use crate::services::accounts::SignInError;
use crate::services::rate_limit::LimitError;
use crate::store::StoreError;

/// A refusal or failure of an admin API call.
#[derive(Debug)]
pub struct ApiFailure {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: Vec<FieldError>,
    retry_after: Option<u64>,
    cause: Option<anyhow::Error>,
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ApiFailure {
    /// A refusal with its status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            retry_after: None,
            cause: None,
        }
    }

    /// 404 `not_found`: also the answer for another tenant's objects.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "there is no such object in this tenant",
        )
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in first")
    }

    /// 403 with a code.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 400 `invalid_field` for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            fields: vec![FieldError {
                field: field.to_owned(),
                message: message.clone(),
            }],
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {message}"))
        }
    }

    /// 429 `rate_limited`.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many attempts; try again in {retry_after} s"),
            )
        }
    }

    /// 500 with the cause kept for the log.
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self {
            cause: Some(e.into()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "an unexpected error stopped this request; it has been logged",
            )
        }
    }

    /// 503 with the cause kept for the log.
    pub fn unavailable(e: impl Into<anyhow::Error>) -> Self {
        Self {
            cause: Some(e.into()),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "a service Rosetta depends on did not answer; try again in a moment",
            )
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl From<ServiceError> for ApiFailure {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid { field, message } => Self::field(field, message),
            ServiceError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            ServiceError::Forbidden(m) => Self::forbidden("forbidden", m),
            ServiceError::NotFound(_) => Self::not_found(),
            e @ ServiceError::Database(_) => Self::unavailable(e),
            e @ ServiceError::Internal(_) => Self::internal(e),
        }
    }
}

impl From<StoreError> for ApiFailure {
    fn from(e: StoreError) -> Self {
        Self::unavailable(e)
    }
}

impl From<LimitError> for ApiFailure {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Limited { retry_after } => Self::rate_limited(retry_after),
            LimitError::Store(e) => e.into(),
        }
    }
}

impl From<SignInError> for ApiFailure {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::BadCredentials => Self::new(StatusCode::UNAUTHORIZED, "bad_credentials", e.to_string()),
            SignInError::EmailNotVerified => Self::forbidden("email_not_verified", e.to_string()),
            SignInError::Service(e) => e.into(),
        }
    }
}

impl ResponseError for ApiFailure {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        match &self.cause {
            Some(cause) => tracing::error!(code = self.code, error = format!("{cause:#}"), "API request failed"),
            None => tracing::info!(code = self.code, reason = %self.message, "API request refused"),
        }
        let mut res = HttpResponse::build(self.status);
        res.insert_header(("cache-control", "no-store"));
        if let Some(secs) = self.retry_after {
            res.insert_header(("retry-after", secs.to_string()));
        }
        res.json(ApiError {
            code: self.code.to_owned(),
            message: self.message.clone(),
            request_id: current_request_id(),
            fields: self.fields.clone(),
            retry_after: self.retry_after,
        })
    }
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, ApiFailure>;

/// An object ID from the path. A malformed ID names nothing in this tenant: the same 404
/// as another tenant's ID.
pub fn object_id(raw: &str) -> ApiResult<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).map_err(|_| ApiFailure::not_found())
}

/// Collects field errors of one request body, so a form shows them all at once.
#[derive(Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// Keeps the value, or records why the field was refused.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(FieldError {
                    field: field.to_owned(),
                    message: e.to_string(),
                });
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

    /// `Ok` when every field passed, else one 400 listing them all.
    pub fn finish(self) -> ApiResult<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let message = self
            .0
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        Err(ApiFailure {
            fields: self.0,
            ..ApiFailure::new(StatusCode::BAD_REQUEST, "invalid_field", message)
        })
    }
}

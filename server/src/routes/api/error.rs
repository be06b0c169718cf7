//! The admin API's error: a status, a stable [`ErrorCode`], a message, field errors; JSON
//! always. Every [`AdminError`] gets its status here, in one table.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use rosetta_api::{ApiError, ErrorCode, FieldError};

use crate::admin::AdminError;
use crate::middleware::current_request_id;

/// A refusal or failure of an admin API call.
#[derive(Debug)]
pub struct ApiFailure {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    fields: Vec<FieldError>,
    retry_after: Option<u64>,
    cause: Option<String>,
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl ApiFailure {
    /// A refusal with its status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
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
            ErrorCode::NotFound,
            "there is no such object in this tenant",
        )
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, "sign in first")
    }

    /// 403 with a code.
    pub fn forbidden(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 500 with the cause kept for the log.
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        AdminError::Internal(e.into()).into()
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

/// The status of each admin error.
fn status(e: &AdminError) -> StatusCode {
    match e {
        AdminError::Invalid(_) => StatusCode::BAD_REQUEST,
        AdminError::NotFound(_) => StatusCode::NOT_FOUND,
        AdminError::Conflict(_) => StatusCode::CONFLICT,
        AdminError::Forbidden(..) | AdminError::EmailNotVerified => StatusCode::FORBIDDEN,
        AdminError::Unauthenticated | AdminError::BadCredentials => StatusCode::UNAUTHORIZED,
        AdminError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AdminError::EmailUnavailable | AdminError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<AdminError> for ApiFailure {
    fn from(e: AdminError) -> Self {
        let message = match &e {
            // Whatever was looked for, the answer is the same (another tenant's objects too).
            AdminError::NotFound(_) => "there is no such object in this tenant".to_owned(),
            other => other.to_string(),
        };
        Self {
            status: status(&e),
            code: e.code(),
            message,
            fields: e.fields().to_vec(),
            retry_after: match e {
                AdminError::RateLimited { retry_after } => Some(retry_after),
                _ => None,
            },
            cause: e.cause().map(|c| format!("{c:#}")),
        }
    }
}

impl From<crate::store::StoreError> for ApiFailure {
    fn from(e: crate::store::StoreError) -> Self {
        AdminError::from(e).into()
    }
}

impl ResponseError for ApiFailure {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        match &self.cause {
            Some(cause) => tracing::error!(code = self.code.as_str(), error = %cause, "API request failed"),
            None => tracing::info!(code = self.code.as_str(), reason = %self.message, "API request refused"),
        }
        let mut res = HttpResponse::build(self.status);
        res.insert_header(("cache-control", "no-store"));
        if let Some(secs) = self.retry_after {
            res.insert_header(("retry-after", secs.to_string()));
        }
        res.json(ApiError {
            code: self.code,
            message: self.message.clone(),
            request_id: current_request_id(),
            fields: self.fields.clone(),
            retry_after: self.retry_after,
        })
    }
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, ApiFailure>;

//! The HTTP edge's error type: an explicit status table, a branded page, a correlation ID.

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, ResponseError};

use crate::pages;
use crate::request_id::current_request_id;

/// An error shown to a person in a browser.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No such page, tenant or object.
    #[error("not found")]
    NotFound,
    /// The request itself is unusable; the reason is shown.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Any other refusal with its status and a message for the user.
    #[error("{1}")]
    Status(StatusCode, String),
    /// Too many requests just now: 429 with `Retry-After`.
    #[error("too many requests")]
    TooMany {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// A dependency (database, store, upstream) did not answer.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A bug or unexpected failure; details only in the log.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl PageError {
    /// Wraps any error as an opaque 500.
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }

    fn message(&self) -> String {
        match self {
            Self::NotFound => "There is nothing at this address. Check the link, or start again from \
your application's login page."
                .into(),
            Self::BadRequest(reason) | Self::Status(_, reason) => reason.clone(),
            Self::TooMany { retry_after } => format!(
                "There have been too many sign-in attempts from your network or for this organisation just now. \
                 Please try again in {retry_after} seconds."
            ),
            Self::Unavailable(_) => "A service Rosetta depends on did not answer. Please try again in a moment.".into(),
            Self::Internal(_) => "An unexpected error stopped this request. Please try again; if it keeps \
happening, tell your administrator."
                .into(),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Status(status, _) => *status,
            Self::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let request_id = current_request_id();
        match self {
            Self::Unavailable(e) | Self::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "request failed");
            }
            _ => tracing::info!(reason = %self, "request refused"),
        }
        let mut res = HttpResponse::build(self.status_code());
        if let Self::TooMany { retry_after } = self {
            res.insert_header(("retry-after", retry_after.to_string()));
        }
        res.content_type(ContentType::html())
            .insert_header(("cache-control", "no-store"))
            .body(pages::error_page(self.status_code(), &self.message(), &request_id))
    }
}

/// Result of a page handler.
pub type PageResult<T> = Result<T, PageError>;

//! Each request's correlation ID: given by `middleware::trace_requests`, sent back as
//! `X-Request-Id`, written on every log line of the request and quoted on its error page.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The request's correlation ID, also in the request's extensions for handlers.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// `handling` (a request's handling) run with `id` as its correlation ID.
pub fn scope<F: Future>(id: String, handling: F) -> impl Future<Output = F::Output> {
    REQUEST_ID.scope(id, handling)
}

/// The correlation ID of the request being handled (`-` outside a request).
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "-".into())
}

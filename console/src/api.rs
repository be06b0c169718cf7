//! Every call to the admin API (`/api/v1/`), returning `Result` with the API's own error
//! (stable code, message, field errors) or a network failure.

use gloo_net::http::{Request, Response};
use rosetta_api::ApiError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a call failed.
#[derive(Clone, Debug)]
pub enum Failure {
    /// The API refused, with its code, message and field errors.
    Api(ApiError),
    /// The API could not be reached or answered something unreadable.
    Network(String),
}

impl Failure {
    /// The message for a field, if the API named it.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            Self::Api(e) => e.fields.iter().find(|f| f.field == name).map(|f| f.message.clone()),
            Self::Network(_) => None,
        }
    }

    /// The message for the form as a whole (when no field error says it better).
    pub fn message(&self) -> String {
        match self {
            Self::Api(e) if e.fields.is_empty() => e.message.clone(),
            Self::Api(_) => "Some fields need attention.".into(),
            Self::Network(m) => format!("Rosetta could not be reached ({m}). Check your connection and try again."),
        }
    }
}

fn network(e: impl std::fmt::Display) -> Failure {
    Failure::Network(e.to_string())
}

async fn read<T: DeserializeOwned>(res: Response) -> Result<T, Failure> {
    if res.ok() {
        return res.json::<T>().await.map_err(network);
    }
    match res.json::<ApiError>().await {
        Ok(e) => Err(Failure::Api(e)),
        Err(_) => Err(Failure::Network(format!("HTTP {}", res.status()))),
    }
}

/// `GET /api/v1/<path>`.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, Failure> {
    let res = Request::get(&format!("/api/v1/{path}")).send().await.map_err(network)?;
    read(res).await
}

/// `POST /api/v1/<path>` with a JSON body, and the CSRF token when signed in.
pub async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B, csrf: Option<&str>) -> Result<T, Failure> {
    let mut req = Request::post(&format!("/api/v1/{path}"));
    if let Some(token) = csrf {
        req = req.header("X-CSRF-Token", token);
    }
    let res = req.json(body).map_err(network)?.send().await.map_err(network)?;
    read(res).await
}

/// `PATCH /api/v1/<path>` with a JSON body and the CSRF token.
pub async fn patch<B: Serialize, T: DeserializeOwned>(path: &str, body: &B, csrf: &str) -> Result<T, Failure> {
    let res = Request::patch(&format!("/api/v1/{path}"))
        .header("X-CSRF-Token", csrf)
        .json(body)
        .map_err(network)?
        .send()
        .await
        .map_err(network)?;
    read(res).await
}

/// `DELETE /api/v1/session`: sign out.
pub async fn sign_out(csrf: &str) -> Result<(), Failure> {
    let res = Request::delete("/api/v1/session")
        .header("X-CSRF-Token", csrf)
        .send()
        .await
        .map_err(network)?;
    if res.ok() {
        Ok(())
    } else {
        read::<serde_json::Value>(res).await.map(drop)
    }
}

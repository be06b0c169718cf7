//! The OpenID Connect relying party toward each tenant's identity provider. Plain
//! functions over plain types; no HTTP server types here.

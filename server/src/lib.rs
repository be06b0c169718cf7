//! Rosetta: a multi-tenant identity broker. Toward Atlassian Cloud and other SAML service
//! providers it is a SAML Identity Provider; toward each tenant's OpenID Connect provider
//! it is a relying party.
//!
//! Protocol and domain logic (`domain`, `crypto`, `store`, `tenancy`, `services`) knows
//! nothing of HTTP; `routes` and `middleware` only translate HTTP.

pub mod admin;
pub mod cli;
pub mod config_cache;
pub mod configuration;
pub mod credentials;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod emails;
pub mod error;
pub mod flow;
pub mod lifecycle;
pub mod mail;
pub mod mapping;
pub mod metrics;
pub mod middleware;
pub mod oidc;
pub mod outbound;
pub mod pages;
pub mod provisioning;
pub mod request_id;
pub mod routes;
pub mod saml;
pub mod services;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tenancy;

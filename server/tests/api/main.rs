//! Integration tests of the server library over real HTTP: one binary, many modules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod abuse;
mod admin;
mod audit_writer;
mod brokering_config;
mod ending_access;
mod health;
mod lifecycle;
mod mapping;
mod migrations;
mod outbound;
mod provisioning;
mod rp_conformance;
mod sso;
mod store;
mod tenancy;
mod tenant_claims;
mod trace_writer;

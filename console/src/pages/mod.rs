//! One module per page of the console (the side navigation's order), and the visitor's
//! pages in `public`.

pub mod account;
pub mod applications;
pub mod atlassian;
pub mod audit;
pub mod deprovisioning;
pub mod end_users;
pub mod go_live;
pub mod groups;
pub mod keys;
pub mod logins;
pub mod mapping;
pub mod mapping_preview;
pub mod members;
pub mod overview;
pub mod provisioning;
pub mod public;
pub mod security;
pub mod sources;
pub mod test_login;

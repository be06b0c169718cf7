//! Reading SP-initiated AuthnRequests (HTTP-Redirect and HTTP-POST bindings).

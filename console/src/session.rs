//! Who is signed in, in context: the session (with its CSRF token) and the API client that
//! sends that token, so pages ask for them instead of passing them down as props.

use leptos::prelude::*;
use rosetta_api::{ErrorCode, Role, Session, SessionStage, Tenant};

use crate::api::{self, Client, Failure};

/// The console's session: what the server said at start-up, then what sign-in, the second
/// factor, a tenant switch or a password change returned.
#[derive(Clone, Copy)]
pub struct Auth {
    loaded: LocalResource<Result<Session, Failure>>,
    /// The answer to the first `GET /session`, once handled.
    known: RwSignal<bool>,
    /// A failure other than "not signed in" while finding out.
    failure: RwSignal<Option<Failure>>,
    session: RwSignal<Option<Session>>,
}

/// Where the browser stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Asking the server.
    Checking,
    /// The server could not say (see [`Auth::failure`]).
    Unknown,
    /// Nobody is signed in.
    SignedOut,
    /// The password was accepted; the code is owed.
    SecondFactor,
    /// Signed in.
    SignedIn,
}

impl Auth {
    /// Asks the server for the session and puts the answer in context.
    pub fn provide() -> Self {
        let auth = Self {
            loaded: LocalResource::new(api::current_session),
            known: RwSignal::new(false),
            failure: RwSignal::new(None),
            session: RwSignal::new(None),
        };
        Effect::new(move |_| {
            let Some(answer) = auth.loaded.get() else { return };
            match answer {
                Ok(s) => {
                    auth.failure.set(None);
                    auth.session.set(Some(s));
                }
                Err(f) if f.code() == Some(ErrorCode::Unauthenticated) => {
                    auth.failure.set(None);
                    auth.session.set(None);
                }
                Err(f) => auth.failure.set(Some(f)),
            }
            auth.known.set(true);
        });
        provide_context(auth);
        auth
    }

    /// Where the browser stands (tracked).
    pub fn stage(self) -> Stage {
        if !self.known.get() {
            return Stage::Checking;
        }
        if self.failure.with(Option::is_some) {
            return Stage::Unknown;
        }
        match self.session.with(|s| s.as_ref().map(|s| s.stage)) {
            None => Stage::SignedOut,
            Some(SessionStage::SecondFactor) => Stage::SecondFactor,
            Some(SessionStage::Complete) => Stage::SignedIn,
        }
    }

    /// Why the server could not say who is signed in.
    pub fn failure(self) -> Option<Failure> {
        self.failure.get()
    }

    /// Asks the server again.
    pub fn retry(self) {
        self.known.set(false);
        self.loaded.refetch();
    }

    /// The session the server returned last.
    pub fn set(self, session: Session) {
        self.failure.set(None);
        self.session.set(Some(session));
        self.known.set(true);
    }

    /// Nobody is signed in any more (signed out, or the session ended).
    pub fn clear(self) {
        self.session.set(None);
        self.known.set(true);
    }

    /// The session (tracked).
    pub fn session(self) -> Option<Session> {
        self.session.get()
    }

    /// The tenant being worked on (tracked).
    pub fn tenant(self) -> Option<Tenant> {
        self.session.with(|s| s.as_ref().and_then(|s| s.tenant.clone()))
    }

    /// Whether the caller owns the tenant (tracked).
    pub fn is_owner(self) -> bool {
        self.session.with(|s| s.as_ref().and_then(|s| s.role)) == Some(Role::Owner)
    }

    /// The API client of this session.
    pub fn client(self) -> Client {
        let session = self.session;
        Client::new(Signal::derive(move || {
            session.with(|s| s.as_ref().map(|s| s.csrf_token.clone()).unwrap_or_default())
        }))
    }
}

/// The session in context.
pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

/// The API client of the session in context.
pub fn use_api() -> Client {
    use_auth().client()
}

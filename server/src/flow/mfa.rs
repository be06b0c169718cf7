//! Rosetta's own second factor for end users: after the provider and before any assertion,
//! when the tenant's (or the SP's) policy asks for it.

use chrono::Utc;
use rosetta_api::TraceStepKind;

use super::records::{MfaPending, SpRequest, SsoSession};
use super::{Flow, FlowError, Outcome, PENDING_TTL, fingerprint, random_token};
use crate::services::end_user_mfa::{self, Policy};
use crate::services::rate_limit::{self, Limit, LimitError};
use crate::services::service_providers::ServiceProvider;
use crate::services::{end_users, second_factor};

/// Codes per user: 5 per 5 minutes.
const CODE_PER_USER: Limit = Limit {
    kind: "rl_eu_totp_user",
    max: 5,
    window: std::time::Duration::from_secs(300),
};
/// Codes per client address: 30 per 5 minutes.
const CODE_PER_IP: Limit = Limit {
    kind: "rl_eu_totp_ip",
    max: 30,
    window: std::time::Duration::from_secs(300),
};

/// The second-factor page to show.
#[derive(Clone)]
pub enum MfaView {
    /// First time: scan, then confirm with a code.
    Enrol {
        /// QR code of the `otpauth://` URL, SVG.
        qr_svg: String,
        /// The secret in base32, for typing.
        secret: String,
        /// Whether "set up later" is offered (optional policy).
        can_skip: bool,
        /// Why the last code was refused.
        error: Option<String>,
    },
    /// Enrolled: enter a code or a recovery code.
    Verify {
        /// Why the last code was refused.
        error: Option<String>,
    },
    /// Enrolment done: the recovery codes, shown once.
    Codes {
        /// Ten single-use codes.
        codes: Vec<String>,
    },
}

impl std::fmt::Debug for MfaView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Enrol { .. } => "MfaView::Enrol",
            Self::Verify { .. } => "MfaView::Verify",
            Self::Codes { .. } => "MfaView::Codes",
        })
    }
}

/// What a submitted second-factor form leads to.
#[derive(Debug)]
pub enum MfaStep {
    /// Show this page (again).
    Show(MfaView),
    /// Passed: continue to the SP.
    Done(Outcome),
}

/// Whether a factor passed at `at` still counts at `now`: for the whole broker session,
/// or for `max_age_hours` when the tenant set it.
fn still_fresh(at: chrono::DateTime<Utc>, max_age_hours: Option<i32>, now: chrono::DateTime<Utc>) -> bool {
    match max_age_hours {
        Some(hours) if hours > 0 => now - at < chrono::Duration::hours(i64::from(hours)),
        _ => true,
    }
}

fn expired() -> FlowError {
    FlowError::BadRequest(
        "This sign-in took too long and has expired. Nothing was sent to the application: start again from its \
login page."
            .into(),
    )
}

impl Flow<'_> {
    /// Whether `session` must pass Rosetta's second factor before answering `sp`.
    pub(super) async fn mfa_required(&self, sp: &ServiceProvider, session: &SsoSession) -> Result<bool, FlowError> {
        let policy = end_user_mfa::effective_policy(self.tenant, sp);
        if policy == Policy::Off || end_user_mfa::upstream_satisfies(self.tenant, &session.identity) {
            return Ok(false);
        }
        if session
            .mfa_at
            .is_some_and(|at| still_fresh(at, self.tenant.mfa_max_age_hours, Utc::now()))
        {
            return Ok(false);
        }
        if policy == Policy::Optional {
            // Only a session whose user chose "set up later" needs the row: it passes unless
            // the user has enrolled since. (A fresh login's session has not skipped, so the
            // callback costs no read here.)
            if !session.mfa_skipped {
                return Ok(true);
            }
            let user = end_users::get(&self.state.db, self.tenant.id, session.user_id).await?;
            return Ok(user.totp_enabled_at.is_some());
        }
        Ok(true)
    }

    /// Parks the login until the second factor is passed.
    pub(super) async fn start_mfa(
        &self,
        request: SpRequest,
        session: SsoSession,
        sp: &ServiceProvider,
    ) -> Result<Outcome, FlowError> {
        self.trace.begin(TraceStepKind::Mfa);
        self.trace
            .fact("Asked", "Rosetta's second factor, before any assertion");
        let pending = MfaPending {
            sp: request,
            session,
            can_skip: end_user_mfa::effective_policy(self.tenant, sp) == Policy::Optional,
            enrolled: false,
            enrolment: None,
        };
        let cookie = random_token();
        let body = serde_json::to_vec(&pending).map_err(anyhow::Error::from)?;
        self.state
            .store
            .set(&self.key("mfa", &fingerprint(&cookie)), &body, PENDING_TTL)
            .await?;
        Ok(Outcome::Mfa { cookie })
    }

    async fn mfa_pending(&self, cookie: Option<&str>) -> Result<(String, MfaPending), FlowError> {
        let cookie = cookie.filter(|c| !c.is_empty() && c.len() <= 128).ok_or_else(expired)?;
        let key_id = fingerprint(cookie);
        let body = self
            .state
            .store
            .get(&self.key("mfa", &key_id))
            .await?
            .ok_or_else(expired)?;
        let pending = serde_json::from_slice(&body).map_err(anyhow::Error::from)?;
        Ok((key_id, pending))
    }

    /// The enrolment page: this parked login's own seed, made (and kept in the login) the
    /// first time it is shown.
    async fn enrol_view(
        &self,
        key_id: &str,
        pending: &mut MfaPending,
        error: Option<String>,
    ) -> Result<MfaView, FlowError> {
        let (tenant, user) = (self.tenant.id, pending.session.user_id);
        let sealed = match &pending.enrolment {
            Some(sealed) => sealed.clone(),
            None => {
                let sealed = second_factor::new_pending(&self.state.keyring, tenant, user)?;
                pending.enrolment = Some(sealed.clone());
                self.save_pending(key_id, pending).await?;
                sealed
            }
        };
        let e = second_factor::pending_enrolment(
            &self.state.keyring,
            tenant,
            user,
            &sealed,
            &self.tenant.display_name,
            &pending.session.identity.email,
        )?;
        Ok(MfaView::Enrol {
            qr_svg: e.qr_svg.clone(),
            secret: e.secret_base32.clone(),
            can_skip: pending.can_skip,
            error,
        })
    }

    async fn save_pending(&self, key_id: &str, pending: &MfaPending) -> Result<(), FlowError> {
        let body = serde_json::to_vec(pending).map_err(anyhow::Error::from)?;
        self.state
            .store
            .set(&self.key("mfa", key_id), &body, PENDING_TTL)
            .await?;
        Ok(())
    }

    /// The page for the login waiting under this cookie.
    pub async fn mfa_page(&self, cookie: Option<&str>) -> Result<MfaView, FlowError> {
        let (key_id, mut pending) = self.mfa_pending(cookie).await?;
        let user = end_users::get(&self.state.db, self.tenant.id, pending.session.user_id).await?;
        if user.totp_enabled_at.is_some() && !pending.enrolled {
            return Ok(MfaView::Verify { error: None });
        }
        if pending.enrolled {
            // The codes were shown with the confirmation; they are never shown twice.
            return Ok(MfaView::Codes { codes: Vec::new() });
        }
        self.enrol_view(&key_id, &mut pending, None).await
    }

    async fn limit(&self, user: &str) -> Result<Option<String>, FlowError> {
        let ip = self.meta.ip.clone().unwrap_or_else(|| "unknown".into());
        for (limit, subject) in [(CODE_PER_IP, ip.as_str()), (CODE_PER_USER, user)] {
            match rate_limit::hit(self.state.store.as_ref(), limit, subject).await {
                Ok(()) => {}
                Err(LimitError::Limited { retry_after }) => {
                    return Ok(Some(format!(
                        "Too many attempts. For your security, try again in {retry_after} s."
                    )));
                }
                Err(LimitError::Store(e)) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// A submitted form: `action` is `verify`, `enrol`, `continue` or `skip`.
    pub async fn mfa_submit(&self, cookie: Option<&str>, action: &str, code: &str) -> Result<MfaStep, FlowError> {
        let result = self.mfa_form(cookie, action, code).await;
        self.end_leg(&result);
        result
    }

    async fn mfa_form(&self, cookie: Option<&str>, action: &str, code: &str) -> Result<MfaStep, FlowError> {
        let (key_id, mut pending) = self.mfa_pending(cookie).await?;
        let user_id = pending.session.user_id;
        let email = pending.session.identity.email.clone();
        self.trace.adopt(pending.sp.trace_id);
        self.trace.begin(TraceStepKind::Mfa);
        self.trace.summary(|l| l.user_email = Some(email.clone()));
        self.trace
            .fact("Policy", if pending.can_skip { "optional" } else { "required" });
        self.trace.fact(
            "Form",
            match action {
                "verify" => "a code (authenticator app or recovery code)",
                "enrol" => "enrolment: the first code of a new authenticator",
                "continue" => "enrolment done: recovery codes seen",
                "skip" => "set up later",
                _ => "unknown",
            },
        );
        match action {
            "verify" => {
                if let Some(message) = self.limit(&user_id.to_string()).await? {
                    self.trace.fail("too_many", &message, None);
                    return Ok(MfaStep::Show(MfaView::Verify { error: Some(message) }));
                }
                if end_user_mfa::verify(&self.state.db, &self.state.keyring, self.tenant.id, user_id, code).await? {
                    self.mfa_audit("success", &email, "verify");
                    rate_limit::reset(self.state.store.as_ref(), CODE_PER_USER, &user_id.to_string()).await?;
                    return self.mfa_complete(&key_id, false).await.map(MfaStep::Done);
                }
                self.mfa_audit("failure", &email, "verify");
                self.trace
                    .fail("mfa_code_wrong", "The code was not right, or was already used.", None);
                Ok(MfaStep::Show(MfaView::Verify {
                    error: Some(
                        "That code is not right, or was already used. Enter the 6-digit code your app shows now, \
or one of your recovery codes."
                            .into(),
                    ),
                }))
            }
            "enrol" => {
                if let Some(message) = self.limit(&user_id.to_string()).await? {
                    return Ok(MfaStep::Show(
                        self.enrol_view(&key_id, &mut pending, Some(message)).await?,
                    ));
                }
                let Some(sealed) = pending.enrolment.clone() else {
                    // A form for a seed this login never showed.
                    return Ok(MfaStep::Show(self.enrol_view(&key_id, &mut pending, None).await?));
                };
                let confirmed = second_factor::confirm_pending(
                    &self.state.db,
                    &self.state.keyring,
                    self.tenant.id,
                    user_id,
                    &sealed,
                    code,
                )
                .await?;
                match confirmed {
                    Some(codes) => {
                        self.mfa_audit("success", &email, "enrol");
                        self.trace.fact("Result", "enrolled; recovery codes shown once");
                        rate_limit::reset(self.state.store.as_ref(), CODE_PER_USER, &user_id.to_string()).await?;
                        pending.enrolled = true;
                        pending.enrolment = None;
                        self.save_pending(&key_id, &pending).await?;
                        Ok(MfaStep::Show(MfaView::Codes { codes }))
                    }
                    None => {
                        self.mfa_audit("failure", &email, "enrol");
                        self.trace.fail(
                            "mfa_code_wrong",
                            "The first code of the new authenticator was not right.",
                            None,
                        );
                        let error = "That code is not right. Check that your phone's clock is correct and enter the \
code your app shows now."
                            .to_owned();
                        Ok(MfaStep::Show(
                            self.enrol_view(&key_id, &mut pending, Some(error)).await?,
                        ))
                    }
                }
            }
            "continue" if pending.enrolled => self.mfa_complete(&key_id, false).await.map(MfaStep::Done),
            "skip" if pending.can_skip => {
                let user = end_users::get(&self.state.db, self.tenant.id, user_id).await?;
                if user.totp_enabled_at.is_some() {
                    return Ok(MfaStep::Show(MfaView::Verify { error: None }));
                }
                self.mfa_complete(&key_id, true).await.map(MfaStep::Done)
            }
            _ => Err(FlowError::BadRequest(
                "This form was not understood. Start again from the application.".into(),
            )),
        }
    }

    /// The factor is passed (or skipped): a broker session that remembers it, then the SP's
    /// answer. The parked login is taken, so a second submission finds nothing.
    async fn mfa_complete(&self, key_id: &str, skipped: bool) -> Result<Outcome, FlowError> {
        let body = self
            .state
            .store
            .take(&self.key("mfa", key_id))
            .await?
            .ok_or_else(expired)?;
        let pending: MfaPending = serde_json::from_slice(&body).map_err(anyhow::Error::from)?;
        let mut session = pending.session;
        if self.ended_since(&session).await? {
            return Err(FlowError::Forbidden(
                "Your access to this organisation's applications was ended. Ask your administrator.".into(),
            ));
        }
        if skipped {
            session.mfa_skipped = true;
        } else {
            session.mfa_at = Some(Utc::now());
        }
        let sp = self
            .sp_by_entity_id(&pending.sp.sp_entity_id)
            .await?
            .ok_or_else(|| FlowError::NotFound("The application this sign-in was for has been removed.".into()))?;
        self.open_session_and_respond(&sp, &pending.sp, session).await
    }

    fn mfa_audit(&self, outcome: &'static str, email: &str, step: &str) {
        let event = crate::services::audit::AuditEvent {
            tenant_id: Some(self.tenant.id),
            actor: email.to_owned(),
            action: "login.mfa",
            outcome,
            target: None,
            detail: serde_json::json!({ "step": step }),
            ip: self.meta.ip.clone(),
            request_id: Some(self.meta.request_id.clone()),
        };
        self.state.audit.record(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_factor_lasts_the_session_or_the_tenants_hours() {
        let at = Utc::now();
        let later = |h: i64| at + chrono::Duration::hours(h);
        assert!(still_fresh(at, None, later(100)), "once per session by default");
        assert!(still_fresh(at, Some(0), later(100)), "0 means once per session");
        assert!(still_fresh(at, Some(8), later(7)));
        assert!(!still_fresh(at, Some(8), later(8)), "asked again after 8 hours");
    }
}

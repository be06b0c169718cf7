//! Users' refresh tokens at their identity source (`end_user_grant`), for sources with
//! `offline_access` on: sealed at rest, never logged, audited or shown. Redeeming one on a
//! schedule ([`crate::lifecycle`]) tells whether the provider still knows the user.

use chrono::{DateTime, Duration, Utc};
use rosetta_entity::end_user_grant as grant;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::crypto::{Keyring, SecretContext};

/// Sealed-secret kind of a refresh token.
pub const KIND: &str = "end_user_grant.refresh_token";

/// A provider that issued no refresh token when asked is asked again after this long (a
/// person sees its consent screen at most once a month, not at every login).
pub const ASK_AGAIN_AFTER: Duration = Duration::days(30);

/// The refresh token works (as of its last use).
pub const WORKING: &str = "working";
/// Asked for, none issued.
pub const NOT_ISSUED: &str = "not_issued";
/// The provider refused it: the user departed.
pub const REFUSED: &str = "refused";

fn context<'a>(tenant: &'a str, record: &'a str) -> SecretContext<'a> {
    SecretContext {
        tenant,
        kind: KIND,
        record,
    }
}

/// The user's grant, if any.
pub async fn get(db: &DatabaseConnection, user_id: Uuid) -> ServiceResult<Option<grant::Model>> {
    Ok(grant::Entity::find_by_id(user_id).one(db).await?)
}

/// Whether a login of the user should ask the provider for a refresh token (with consent):
/// never asked, refused since (a departed user back), or asked without result long ago.
pub fn needs_consent(grant: Option<&grant::Model>, now: DateTime<Utc>) -> bool {
    match grant {
        None => true,
        Some(g) if g.state == WORKING => false,
        Some(g) if g.state == NOT_ISSUED => g.updated_at < now - ASK_AGAIN_AFTER,
        Some(_) => true,
    }
}

/// Records what a login brought: the refresh token (sealed; `working`), or `None` when the
/// provider issued none though asked (`not_issued`).
pub async fn store(
    db: &DatabaseConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
    user_id: Uuid,
    source_id: Uuid,
    token: Option<&SecretString>,
) -> ServiceResult<()> {
    let sealed = match token {
        Some(t) => Some(seal(keyring, tenant_id, user_id, t)?),
        None => None,
    };
    let state = if sealed.is_some() { WORKING } else { NOT_ISSUED };
    let now = Utc::now();
    grant::Entity::insert(grant::ActiveModel {
        end_user_id: Set(user_id),
        tenant_id: Set(tenant_id),
        source_id: Set(source_id),
        refresh_token: Set(sealed),
        state: Set(state.into()),
        checked_at: Set(None),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(grant::Column::EndUserId)
            .update_columns([
                grant::Column::SourceId,
                grant::Column::RefreshToken,
                grant::Column::State,
                grant::Column::CheckedAt,
                grant::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

fn seal(keyring: &Keyring, tenant_id: Uuid, user_id: Uuid, token: &SecretString) -> ServiceResult<Vec<u8>> {
    let (tenant, record) = (tenant_id.to_string(), user_id.to_string());
    keyring
        .seal(context(&tenant, &record), token.expose_secret().as_bytes())
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// The grant's refresh token, opened (`None` when it holds none).
pub fn open(keyring: &Keyring, g: &grant::Model) -> ServiceResult<Option<SecretString>> {
    let Some(sealed) = &g.refresh_token else {
        return Ok(None);
    };
    let (tenant, record) = (g.tenant_id.to_string(), g.end_user_id.to_string());
    let plain = keyring
        .open(context(&tenant, &record), sealed)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let text = String::from_utf8(plain.to_vec()).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(Some(SecretString::from(text)))
}

/// The tenant's working grants.
pub async fn working(db: &DatabaseConnection, tenant_id: Uuid) -> ServiceResult<Vec<grant::Model>> {
    Ok(grant::Entity::find()
        .filter(grant::Column::TenantId.eq(tenant_id))
        .filter(grant::Column::State.eq(WORKING))
        .all(db)
        .await?)
}

/// The provider accepted the token: checked now; `rotated` replaces it.
pub async fn redeemed(
    db: &DatabaseConnection,
    keyring: &Keyring,
    g: &grant::Model,
    rotated: Option<&SecretString>,
) -> ServiceResult<()> {
    let mut update = grant::Entity::update_many()
        .col_expr(grant::Column::CheckedAt, Utc::now().into())
        .filter(grant::Column::EndUserId.eq(g.end_user_id));
    if let Some(token) = rotated {
        update = update.col_expr(
            grant::Column::RefreshToken,
            Some(seal(keyring, g.tenant_id, g.end_user_id, token)?).into(),
        );
    }
    update.exec(db).await?;
    Ok(())
}

/// The provider refused the token: it is dropped, the grant marked `refused`.
pub async fn refused(db: &DatabaseConnection, user_id: Uuid) -> ServiceResult<()> {
    let now = Utc::now();
    grant::Entity::update_many()
        .col_expr(grant::Column::RefreshToken, Option::<Vec<u8>>::None.into())
        .col_expr(grant::Column::State, REFUSED.into())
        .col_expr(grant::Column::CheckedAt, now.into())
        .col_expr(grant::Column::UpdatedAt, now.into())
        .filter(grant::Column::EndUserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, age: Duration) -> grant::Model {
        grant::Model {
            end_user_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            source_id: Uuid::nil(),
            refresh_token: None,
            state: state.into(),
            checked_at: None,
            updated_at: Utc::now() - age,
        }
    }

    #[test]
    fn consent_is_asked_once_and_again_only_when_needed() {
        let now = Utc::now();
        assert!(needs_consent(None, now), "never asked");
        assert!(!needs_consent(Some(&row(WORKING, Duration::days(400))), now));
        assert!(
            !needs_consent(Some(&row(NOT_ISSUED, Duration::days(1))), now),
            "not at every login"
        );
        assert!(needs_consent(Some(&row(NOT_ISSUED, Duration::days(31))), now));
        assert!(
            needs_consent(Some(&row(REFUSED, Duration::days(1))), now),
            "a departed user back"
        );
    }
}

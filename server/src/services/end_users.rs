//! End users: created or updated at each successful login, keyed on (tenant, issuer, sub).

use chrono::Utc;
use rosetta_entity::end_user;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, Set};
use uuid::Uuid;

use super::{ServiceError, ServiceResult};

/// What the upstream provider vouched for.
#[derive(Debug, Clone)]
pub struct LoginIdentity<'a> {
    /// Upstream issuer.
    pub issuer: &'a str,
    /// Upstream `sub`.
    pub subject: &'a str,
    /// Verified email.
    pub email: &'a str,
    /// Full name, if known.
    pub name: Option<&'a str>,
}

/// Records a successful login: creates the user on first sight, refreshes email and name,
/// and refuses a blocked user with [`ServiceError::Forbidden`]. Email never identifies an
/// account: a new `sub` with a known email is a different user.
pub async fn record_login(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    who: &LoginIdentity<'_>,
) -> ServiceResult<end_user::Model> {
    let now = Utc::now();
    let existing = end_user::Entity::find()
        .filter(end_user::Column::TenantId.eq(tenant_id))
        .filter(end_user::Column::Issuer.eq(who.issuer))
        .filter(end_user::Column::Subject.eq(who.subject))
        .one(db)
        .await?;
    match existing {
        Some(user) if user.status == "blocked" => Err(ServiceError::Forbidden(
            "this account is blocked by the administrator".into(),
        )),
        Some(user) => {
            let mut row = user.into_active_model();
            row.email = Set(who.email.to_owned());
            row.display_name = Set(who.name.map(str::to_owned));
            row.last_login_at = Set(Some(now));
            row.updated_at = Set(now);
            Ok(row.update(db).await?)
        }
        None => Ok(end_user::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant_id),
            issuer: Set(who.issuer.to_owned()),
            subject: Set(who.subject.to_owned()),
            email: Set(who.email.to_owned()),
            display_name: Set(who.name.map(str::to_owned)),
            status: Set("active".into()),
            last_login_at: Set(Some(now)),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await?),
    }
}

//! The login debugger's store: traces written off the response path ([`TraceWriter`]), read
//! by the admin API and the CLI, trimmed to `login_trace_max` per tenant as they are written
//! and swept after `login_trace_days` by the lifecycle run.
//!
//! A login's legs (see `flow::trace`) arrive one by one. A leg that leaves its login in
//! progress waits in the writer for the next one (up to [`super::batch::HOLD`]), so a login
//! that comes back from its provider in time is written once, whole. A leg written after an
//! earlier one of its login is added to that row without reading it (its record appended in
//! SQL, summary filled, outcome of the latest leg). Before anything is stored the XML loses
//! its signatures (each `Signature` element keeps only `(removed)`) and any other signature
//! or digest value, so no stored Response is a still-valid signed assertion, and it is
//! stored at a third of its size (the trace names the signing key by its fingerprint). A
//! leg's steps and XML are then stored compressed, as one record ([`pack`]).

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rosetta_api::{LoginTrace, LoginTraceSummary, TraceFailure, TraceOutcome, TraceStep};
use rosetta_entity::login_trace;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, Iterable, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};
use uuid::Uuid;

use super::ServiceResult;
use super::batch::{Batcher, Group, Sink};
use crate::flow::Leg;

pub mod pack;

/// Queues each leg of a login for writing (see [`super::batch`]); never waits.
#[derive(Clone, Debug)]
pub struct TraceWriter(Batcher<Leg>);

impl TraceWriter {
    /// Starts the writing task; each tenant keeps at most `max_per_tenant` traces.
    pub fn spawn(db: DatabaseConnection, max_per_tenant: u64) -> Self {
        Self(Batcher::spawn(TraceSink {
            db,
            max_per_tenant,
            counts: std::sync::Mutex::default(),
        }))
    }

    /// Queues a leg.
    pub fn record(&self, leg: Leg) {
        self.0.send(leg);
    }

    /// Waits until every leg queued before this call is written.
    pub async fn flush(&self) {
        self.0.flush().await;
    }
}

struct TraceSink {
    db: DatabaseConnection,
    max_per_tenant: u64,
    /// Each tenant's row count as this writer knows it, and when it was counted: a batch
    /// then deletes as many of the oldest rows as it added, once the tenant is at its cap
    /// (an index range, not a scan of the tenant's traces). Counted again after
    /// [`RECOUNT_AFTER`], so rows deleted elsewhere (the age sweep, another replica) are
    /// not trimmed twice for long.
    counts: std::sync::Mutex<HashMap<Uuid, (u64, std::time::Instant)>>,
}

/// How long a tenant's known row count is trusted.
const RECOUNT_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

impl TraceSink {
    /// Keeps the tenant at most `max_per_tenant` traces after a batch that added `new_rows`:
    /// the oldest go.
    async fn trim(&self, tenant_id: Uuid, new_rows: u64) -> Result<(), sea_orm::DbErr> {
        let known = {
            let counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            counts
                .get(&tenant_id)
                .filter(|(_, at)| at.elapsed() < RECOUNT_AFTER)
                .map(|(n, _)| n + new_rows)
        };
        let rows = match known {
            Some(n) => n,
            None => {
                login_trace::Entity::find()
                    .filter(login_trace::Column::TenantId.eq(tenant_id))
                    .count(&self.db)
                    .await?
            }
        };
        let over = rows.saturating_sub(self.max_per_tenant);
        if over > 0 {
            use sea_orm::QueryTrait;
            let oldest = login_trace::Entity::find()
                .select_only()
                .column(login_trace::Column::Id)
                .filter(login_trace::Column::TenantId.eq(tenant_id))
                .order_by_asc(login_trace::Column::StartedAt)
                .limit(over)
                .into_query();
            login_trace::Entity::delete_many()
                .filter(login_trace::Column::Id.in_subquery(oldest))
                .exec(&self.db)
                .await?;
        }
        let kept = rows - over;
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = match known {
            // A count carried forward keeps its age: it is checked again in time.
            Some(_) => counts
                .get(&tenant_id)
                .map_or_else(std::time::Instant::now, |(_, at)| *at),
            None => std::time::Instant::now(),
        };
        counts.insert(tenant_id, (kept, at));
        Ok(())
    }
}

impl Sink for TraceSink {
    type Item = Leg;
    const NAME: &'static str = "login_trace";

    /// One statement for the batch, nothing read: a login's first leg inserts its row; a
    /// later leg appends its steps to the row's in SQL and sets what it knows, so legs
    /// written by two replicas at once both land. (The batch holds one leg of a login: the
    /// queue merged the others into it.)
    async fn write(&self, legs: &[Leg]) -> Result<(), sea_orm::DbErr> {
        use sea_orm::ConnectionTrait;
        let backend = self.db.get_database_backend();
        self.db.execute_raw(upsert_statement(backend, legs)).await?;
        // A login's first leg (the one that names how it started) made a new row.
        let mut added: HashMap<Uuid, u64> = HashMap::new();
        for leg in legs.iter().filter(|l| l.initiated.is_some()) {
            *added.entry(leg.tenant_id).or_default() += 1;
        }
        for (tenant, new_rows) in added {
            self.trim(tenant, new_rows).await?;
        }
        Ok(())
    }

    /// A login's legs form a group; one that leaves the login in progress waits for the next.
    fn group(leg: &Leg) -> Option<Group> {
        Some(Group {
            key: leg.id,
            open: leg.outcome == TraceOutcome::InProgress,
        })
    }

    fn merge(held: &mut Leg, next: Leg) {
        held.merge(next);
    }

    fn unwritten(leg: &Leg, why: &str) {
        tracing::error!(
            why,
            trace_id = %leg.id,
            tenant_id = %leg.tenant_id,
            outcome = ?leg.outcome,
            failure = ?leg.failure.as_ref().map(|f| &f.code),
            "login trace not written"
        );
    }
}

/// Most rows a batch statement has whose SQL is kept: every batch at the rates most tenants
/// see. A larger one (a batch of up to 256 legs, under load) is built by sea-query each time,
/// a small price shared by its logins.
const KEPT_STATEMENTS: usize = 64;

/// The batch's upsert. Its SQL text depends only on the backend and the number of rows, so
/// sea-query writes it once per backend and size ([`upsert_by_sea_query`]) and each batch
/// binds its values to a copy: each row's columns in the entity's order, as sea-query binds
/// them (the test `the_upsert_is_the_statement_sea_query_builds` holds the two to the same
/// statement).
fn upsert_statement(backend: DbBackend, legs: &[Leg]) -> Statement {
    type Kept = std::sync::Mutex<HashMap<(bool, usize), String>>;
    static KEPT: std::sync::LazyLock<Kept> = std::sync::LazyLock::new(Kept::default);
    let rows: Vec<login_trace::ActiveModel> = legs.iter().map(row).collect();
    let postgres = match backend {
        DbBackend::Postgres => true,
        DbBackend::Sqlite => false,
        _ => return upsert_by_sea_query(backend, rows),
    };
    if rows.len() > KEPT_STATEMENTS {
        return upsert_by_sea_query(backend, rows);
    }
    let sql = {
        let mut kept = KEPT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.entry((postgres, rows.len()))
            .or_insert_with(|| upsert_by_sea_query(backend, rows.clone()).sql)
            .clone()
    };
    let mut values = Vec::with_capacity(rows.len() * 15);
    for mut row in rows {
        values.extend(login_trace::Column::iter().filter_map(|column| row.take(column).into_value()));
    }
    Statement::from_sql_and_values(backend, sql, values)
}

/// One statement for the batch, nothing read: a login's first leg inserts its row; a later
/// leg appends its steps to the row's in SQL and sets what it knows, so legs written by two
/// replicas at once both land. Built by sea-query.
fn upsert_by_sea_query(backend: DbBackend, rows: Vec<login_trace::ActiveModel>) -> Statement {
    use login_trace::Column as C;
    use sea_orm::QueryTrait;
    let keep = |c: C| {
        let name = sea_orm::IdenStatic::as_str(&c);
        (c, Expr::cust(format!("COALESCE(excluded.{name}, login_trace.{name})")))
    };
    // Legs of one login written by two replicas may land in either order (the first one
    // held for its next leg, the next one written at once elsewhere): the row takes its
    // start and how it began from the earlier leg, where it stands from the later, and
    // puts the steps in the legs' order.
    let later = "excluded.updated_at >= login_trace.updated_at";
    let earlier = "excluded.started_at < login_trace.started_at";
    let pick = |c: C, when: &str| {
        let name = sea_orm::IdenStatic::as_str(&c);
        (
            c,
            Expr::cust(format!(
                "CASE WHEN {when} THEN excluded.{name} ELSE login_trace.{name} END"
            )),
        )
    };
    let on_conflict = OnConflict::column(C::Id)
        .values([
            (C::Packed, Expr::cust(append_packed(backend, later))),
            pick(C::UpdatedAt, later),
            pick(C::Outcome, later),
            pick(C::FailureCode, later),
            pick(C::Failure, later),
            pick(C::StartedAt, earlier),
            pick(C::Initiated, earlier),
            keep(C::ServiceProvider),
            keep(C::EntityId),
            keep(C::Source),
            keep(C::UserEmail),
            // Written before traces were stored compressed (a leg of an older replica).
            keep(C::RequestXml),
            keep(C::ResponseXml),
        ])
        .to_owned();
    let insert = login_trace::Entity::insert_many(rows)
        .on_conflict(on_conflict)
        .into_query();
    backend.build(&insert)
}

/// The row's records with the leg's added, in the legs' order (`later`: the leg is the later
/// one). Records are whole bytes: joining two is appending one. A row written before
/// traces were stored compressed has none. SQLite joins bytes as text (every byte kept):
/// the result is made a blob again.
fn append_packed(backend: DbBackend, later: &str) -> String {
    let bytes = match backend {
        DbBackend::Postgres => "BYTEA",
        _ => "BLOB",
    };
    format!(
        "CASE WHEN login_trace.packed IS NULL THEN excluded.packed \
         WHEN excluded.packed IS NULL THEN login_trace.packed \
         WHEN {later} THEN CAST(login_trace.packed || excluded.packed AS {bytes}) \
         ELSE CAST(excluded.packed || login_trace.packed AS {bytes}) END"
    )
}

/// The row a leg writes: the whole row for a login's first leg; for a later one, the
/// columns the upsert takes from it (its steps, appended; what it knows; where the login
/// stands).
fn row(leg: &Leg) -> login_trace::ActiveModel {
    let text = |v: &Option<String>, max: usize| v.as_deref().map(|v| clip(v, max));
    login_trace::ActiveModel {
        id: Set(leg.id),
        tenant_id: Set(leg.tenant_id),
        started_at: Set(leg.started_at),
        updated_at: Set(leg.ended_at),
        outcome: Set(leg.outcome.as_str().into()),
        initiated: Set(leg.initiated.unwrap_or("sp").into()),
        service_provider: Set(text(&leg.service_provider, 255)),
        entity_id: Set(text(&leg.entity_id, 1024)),
        source: Set(text(&leg.source, 255)),
        user_email: Set(text(&leg.user_email, 320)),
        failure_code: Set(leg.failure.as_ref().map(|f| clip(&f.code, 64))),
        // The steps and XML are in `packed`.
        body: Set(String::from("[]")),
        failure: Set(leg.failure.as_ref().and_then(|f| serde_json::to_string(f).ok())),
        request_xml: Set(None),
        response_xml: Set(None),
        packed: Set(Some(pack::pack(
            // A leg made by the tracer always holds an array; one made otherwise may not.
            if leg.steps.is_empty() { "[]" } else { &leg.steps },
            leg.request_xml.as_deref().map(strip_signatures).as_deref(),
            leg.response_xml.as_deref().map(strip_signatures).as_deref(),
        ))),
    }
}

fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        // No more bytes than `max`, so no more characters.
        return text.to_owned();
    }
    text.chars().take(max).collect()
}

/// Deletes the tenant's traces that started before `before` (the lifecycle run); how many.
pub async fn sweep(db: &DatabaseConnection, tenant_id: Uuid, before: DateTime<Utc>) -> ServiceResult<u64> {
    Ok(login_trace::Entity::delete_many()
        .filter(login_trace::Column::TenantId.eq(tenant_id))
        .filter(login_trace::Column::StartedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

/// Marks the tenant's logins still in progress whose last leg ended before `before` (the
/// pending login's 10 minutes are over: it can no longer complete) as failed, `abandoned`;
/// how many.
pub async fn close_abandoned(db: &DatabaseConnection, tenant_id: Uuid, before: DateTime<Utc>) -> ServiceResult<u64> {
    use sea_orm::sea_query::Expr;
    Ok(login_trace::Entity::update_many()
        .col_expr(login_trace::Column::Outcome, Expr::value("failure"))
        .col_expr(login_trace::Column::FailureCode, Expr::value(ABANDONED))
        .filter(login_trace::Column::TenantId.eq(tenant_id))
        .filter(login_trace::Column::Outcome.eq("in_progress"))
        .filter(login_trace::Column::UpdatedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

/// The failure code of a login that never came back.
const ABANDONED: &str = "abandoned";

/// `text` with the content of every `Signature` element (any prefix: its SignedInfo, value
/// and certificate) replaced by `(removed)`, then every other `SignatureValue` and
/// `DigestValue` content too: what stays cannot be verified, so it cannot be replayed. Only
/// the places where `Signature` and `Value` occur are looked at (vectorised searches).
pub fn strip_signatures(text: &str) -> String {
    static SIGNATURE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("Signature"));
    let without = empty_elements(text, &SIGNATURE, |hit| {
        start_tag(text, hit, 9).map(|(lt, prefix)| (lt, Cow::Owned(format!("</{prefix}Signature>"))))
    });
    strip_signature_values(&without)
}

/// `text` with the content of every `SignatureValue` and `DigestValue` element (any prefix)
/// replaced by `(removed)`.
fn strip_signature_values(text: &str) -> String {
    static VALUE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("Value"));
    empty_elements(text, &VALUE, |hit| {
        value_element_start(text, hit).map(|lt| (lt, Cow::Borrowed("</")))
    })
    .into_owned()
}

/// `text` with the content of each element `element` names replaced by `(removed)`: the
/// places where `name` occurs are looked at (a vectorised search), and for each `element`
/// says where the start tag that holds it begins and what ends the content. Self-closing
/// tags are left; an unclosed element loses the rest of the text rather than keep what it
/// holds.
fn empty_elements<'t>(
    text: &'t str,
    name: &memchr::memmem::Finder<'_>,
    element: impl Fn(usize) -> Option<(usize, Cow<'static, str>)>,
) -> Cow<'t, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    // Where an element's content ends: the first `<` that starts `end`.
    let end_at = |from: usize, end: &str| {
        memchr::memchr_iter(b'<', &bytes[from..])
            .map(|i| from + i)
            .find(|&i| bytes[i..].starts_with(end.as_bytes()))
    };
    // `text[..copied]` is in `out` already; nothing before `at` is looked at again.
    let (mut copied, mut at) = (0, 0);
    while let Some(hit) = name.find(&bytes[at..]).map(|i| at + i) {
        at = hit + name.needle().len();
        let Some((lt, end)) = element(hit) else {
            continue;
        };
        if lt < copied {
            continue;
        }
        let Some(gt) = text[at..].find('>').map(|i| at + i) else {
            break;
        };
        at = gt + 1;
        if bytes[gt - 1] == b'/' {
            continue;
        }
        if out.capacity() == 0 {
            out.reserve(text.len());
        }
        out.push_str(&text[copied..at]);
        out.push_str("(removed)");
        copied = end_at(at, &end).unwrap_or(text.len());
        at = copied;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// When the `Value` at `hit` ends the name of a `SignatureValue` or `DigestValue` start tag,
/// where that tag begins.
fn value_element_start(text: &str, hit: usize) -> Option<usize> {
    let head = &text[..hit];
    let stem = ["Signature", "Digest"].into_iter().find(|s| head.ends_with(s))?;
    start_tag(text, hit - stem.len(), stem.len() + 5).map(|(lt, _)| lt)
}

/// When the `len` bytes at `name` are the (local) name of a start tag (`<name` or
/// `<prefix:name`, followed by white space, `>` or `/`): where the tag begins and its
/// prefix (with its colon; empty when none).
fn start_tag(text: &str, name: usize, len: usize) -> Option<(usize, &str)> {
    let after = text.as_bytes().get(name + len)?;
    if !matches!(after, b' ' | b'\t' | b'\n' | b'\r' | b'>' | b'/') {
        return None;
    }
    let before = &text[..name];
    let lt = before.rfind('<')?;
    let prefix = &before[lt + 1..];
    let is_prefix = prefix.is_empty()
        || (prefix.ends_with(':')
            && prefix[..prefix.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')));
    is_prefix.then_some((lt, prefix))
}

/// Filters of a trace query; all optional.
#[derive(Debug, Default, Clone)]
pub struct TraceFilter {
    /// The SP's name, exactly.
    pub service_provider: Option<String>,
    /// The source's name, exactly.
    pub source: Option<String>,
    /// Part of the user's email (any case).
    pub user: Option<String>,
    /// How it ended.
    pub outcome: Option<TraceOutcome>,
    /// Started at or after.
    pub from: Option<DateTime<Utc>>,
    /// Started before.
    pub to: Option<DateTime<Utc>>,
}

/// One page of a tenant's traces, newest first, with the count of all matches.
pub async fn page(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    filter: &TraceFilter,
    page: u64,
    per_page: u64,
) -> ServiceResult<(Vec<login_trace::Model>, u64)> {
    use login_trace::Column as C;
    use sea_orm::sea_query::{ExprTrait, Func};
    let mut query = login_trace::Entity::find()
        .select_only()
        .columns([
            C::Id,
            C::TenantId,
            C::StartedAt,
            C::UpdatedAt,
            C::Outcome,
            C::Initiated,
            C::ServiceProvider,
            C::EntityId,
            C::Source,
            C::UserEmail,
            C::FailureCode,
        ])
        .column_as(Expr::val("[]"), "body")
        .column_as(Expr::val(Option::<String>::None), "failure")
        .column_as(Expr::val(Option::<String>::None), "request_xml")
        .column_as(Expr::val(Option::<String>::None), "response_xml")
        .column_as(Expr::val(Option::<Vec<u8>>::None), "packed")
        .filter(C::TenantId.eq(tenant_id));
    if let Some(sp) = &filter.service_provider {
        query = query.filter(C::ServiceProvider.eq(sp.as_str()));
    }
    if let Some(source) = &filter.source {
        query = query.filter(C::Source.eq(source.as_str()));
    }
    if let Some(user) = &filter.user {
        let pattern = format!("%{}%", escape_like(&user.to_lowercase()));
        query = query.filter(Expr::expr(Func::lower(Expr::col(C::UserEmail))).like(pattern));
    }
    if let Some(outcome) = filter.outcome {
        query = query.filter(C::Outcome.eq(outcome.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(C::StartedAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(C::StartedAt.lt(to));
    }
    let paginator = query
        .order_by_desc(C::StartedAt)
        .order_by_desc(C::Id)
        .into_model::<login_trace::Model>()
        .paginate(db, Ord::max(per_page, 1));
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((items, total))
}

/// `%`, `_` and `\` taken literally in a `LIKE` pattern.
fn escape_like(text: &str) -> String {
    text.chars().filter(|c| !matches!(c, '%' | '_' | '\\')).collect()
}

/// One trace of the tenant.
pub async fn get(db: &DatabaseConnection, tenant_id: Uuid, id: Uuid) -> ServiceResult<Option<login_trace::Model>> {
    Ok(login_trace::Entity::find_by_id(id)
        .filter(login_trace::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?)
}

/// The tenant's most recent trace of `service_provider` that matches `outcome`.
pub async fn latest(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    service_provider: &str,
    outcome: Option<TraceOutcome>,
    initiated: Option<&str>,
) -> ServiceResult<Option<login_trace::Model>> {
    let mut query = login_trace::Entity::find()
        .filter(login_trace::Column::TenantId.eq(tenant_id))
        .filter(login_trace::Column::ServiceProvider.eq(service_provider));
    if let Some(outcome) = outcome {
        query = query.filter(login_trace::Column::Outcome.eq(outcome.as_str()));
    }
    if let Some(initiated) = initiated {
        query = query.filter(login_trace::Column::Initiated.eq(initiated));
    }
    Ok(query.order_by_desc(login_trace::Column::StartedAt).one(db).await?)
}

/// The distinct email domains of the tenant's successful logins to `service_provider`.
pub async fn domains_seen(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    service_provider: &str,
) -> ServiceResult<Vec<String>> {
    let emails: Vec<Option<String>> = login_trace::Entity::find()
        .select_only()
        .column(login_trace::Column::UserEmail)
        .distinct()
        .filter(login_trace::Column::TenantId.eq(tenant_id))
        .filter(login_trace::Column::ServiceProvider.eq(service_provider))
        .filter(login_trace::Column::Outcome.eq("success"))
        .into_tuple()
        .all(db)
        .await?;
    let mut domains: Vec<String> = emails
        .into_iter()
        .flatten()
        .filter_map(|e| e.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()))
        .collect();
    domains.sort();
    domains.dedup();
    Ok(domains)
}

/// The summary of a row, as the API shows it.
pub fn summary(row: &login_trace::Model) -> LoginTraceSummary {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    LoginTraceSummary {
        id: row.id.to_string(),
        started_at: time(row.started_at),
        updated_at: time(row.updated_at),
        outcome: TraceOutcome::parse(&row.outcome).unwrap_or(TraceOutcome::InProgress),
        initiated: row.initiated.clone(),
        service_provider: row.service_provider.clone(),
        entity_id: row.entity_id.clone(),
        source: row.source.clone(),
        user_email: row.user_email.clone(),
        failure_code: row.failure_code.clone(),
    }
}

/// What a row holds beyond its summary: its steps and XML (signature values removed).
pub fn contents(row: &login_trace::Model) -> pack::Unpacked {
    // A row written before traces were stored compressed: its steps and XML as they are. A
    // leg of such a replica (a rolling update) added to a newer row's `[]` left `[,…]` or
    // `[…,]`: read without the comma.
    let body = row.body.as_str();
    let body = match (body.strip_prefix("[,"), body.strip_suffix(",]")) {
        (Some(rest), _) => Cow::Owned(format!("[{rest}")),
        (None, Some(rest)) => Cow::Owned(format!("{rest}]")),
        (None, None) => Cow::Borrowed(body),
    };
    let mut out = pack::Unpacked {
        steps: serde_json::from_str(&body).unwrap_or_default(),
        request_xml: row.request_xml.clone(),
        response_xml: row.response_xml.clone(),
    };
    if let Some(packed) = row.packed.as_deref() {
        let (packed, damaged) = pack::unpack(packed);
        if let Some(damaged) = damaged {
            tracing::error!(trace_id = %row.id, %damaged, "login trace partly unreadable");
        }
        out.steps.extend(packed.steps);
        out.request_xml = packed.request_xml.or(out.request_xml);
        out.response_xml = packed.response_xml.or(out.response_xml);
    }
    out
}

/// A row in full, as the API shows it.
pub fn to_api(row: &login_trace::Model) -> LoginTrace {
    trace(row, contents(row).steps)
}

/// A row as the API shows it, with its `steps`.
pub fn trace(row: &login_trace::Model, steps: Vec<TraceStep>) -> LoginTrace {
    let failure = row.failure.as_deref().and_then(|f| serde_json::from_str(f).ok());
    let failure = match (failure, row.failure_code.as_deref()) {
        (None, Some(ABANDONED)) => Some(TraceFailure {
            step: steps.last().map_or(rosetta_api::TraceStepKind::Request, |s| s.step),
            code: ABANDONED.into(),
            message: "The login did not come back within 10 minutes.".into(),
            advice: crate::flow::advice(ABANDONED, None),
        }),
        (failure, _) => failure,
    };
    LoginTrace {
        summary: summary(row),
        steps,
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_and_digest_values_are_removed_whatever_the_prefix() {
        let xml = "<samlp:Response><ds:Signature><ds:SignedInfo><ds:Reference><ds:DigestValue>abc=</ds:DigestValue>\
                   </ds:Reference></ds:SignedInfo><ds:SignatureValue>\n  c2ln\n</ds:SignatureValue><ds:KeyInfo>\
                   <ds:X509Certificate>MIIB</ds:X509Certificate></ds:KeyInfo></ds:Signature>\
                   <SignatureValue Id=\"x\">zzz</SignatureValue><DigestValue/><NameID>a@b</NameID></samlp:Response>";
        let out = strip_signature_values(xml);
        for gone in ["abc=", "c2ln", "zzz"] {
            assert!(!out.contains(gone), "{gone} in {out}");
        }
        assert!(out.contains("<ds:DigestValue>(removed)</ds:DigestValue>"), "{out}");
        assert!(
            out.contains("<SignatureValue Id=\"x\">(removed)</SignatureValue>"),
            "{out}"
        );
        assert!(out.contains("<DigestValue/><NameID>a@b</NameID>"), "{out}");
        assert!(out.contains("MIIB"), "the certificate is public and stays");
        assert_eq!(
            strip_signature_values("<a><SignatureValue>open"),
            "<a><SignatureValue>(removed)"
        );
    }

    #[test]
    fn signature_elements_keep_nothing_but_their_tags() {
        let xml = "<samlp:Response><saml:Issuer>i</saml:Issuer><ds:Signature xmlns:ds=\"d\"><ds:SignedInfo>\
                   <ds:DigestValue>abc=</ds:DigestValue></ds:SignedInfo><ds:SignatureValue>c2ln</ds:SignatureValue>\
                   <ds:KeyInfo><ds:X509Certificate>MIIB</ds:X509Certificate></ds:KeyInfo></ds:Signature>\
                   <saml:Assertion><Signature>inner</Signature><NameID>a@b</NameID></saml:Assertion>\
                   <SignatureValue>stray</SignatureValue><ds:Signature/></samlp:Response>";
        let out = strip_signatures(xml);
        assert_eq!(
            out,
            "<samlp:Response><saml:Issuer>i</saml:Issuer><ds:Signature xmlns:ds=\"d\">(removed)</ds:Signature>\
             <saml:Assertion><Signature>(removed)</Signature><NameID>a@b</NameID></saml:Assertion>\
             <SignatureValue>(removed)</SignatureValue><ds:Signature/></samlp:Response>"
        );
        // Unclosed: the rest goes rather than keep a value.
        assert_eq!(
            strip_signatures("<a><ds:Signature>MIIB<x>"),
            "<a><ds:Signature>(removed)"
        );
        // Nothing to remove: the text as it is.
        assert_eq!(
            strip_signatures("<a SignatureMethod=\"x\">Signature</a>"),
            "<a SignatureMethod=\"x\">Signature</a>"
        );
    }

    /// A row as `get` reads it, with these steps and XML columns.
    fn stored(body: &str, packed: Option<Vec<u8>>) -> login_trace::Model {
        login_trace::Model {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            started_at: Utc::now(),
            updated_at: Utc::now(),
            outcome: "success".into(),
            initiated: "sp".into(),
            service_provider: None,
            entity_id: None,
            source: None,
            user_email: None,
            failure_code: None,
            body: body.into(),
            failure: None,
            request_xml: Some("<old/>".into()),
            response_xml: None,
            packed,
        }
    }

    #[test]
    fn older_rows_read_as_they_did_and_a_damaged_record_loses_only_itself() {
        let step = |value: &str| {
            format!(
                r#"{{"step":"request","at":"2026-12-04T10:00:00Z","facts":[{{"name":"n","value":"{value}"}}],"duration_us":1,"ok":true}}"#
            )
        };
        let values = |row: &login_trace::Model| -> Vec<String> {
            contents(row)
                .steps
                .into_iter()
                .map(|s| s.facts[0].value.clone())
                .collect()
        };
        // Written before compression.
        let old = stored(&format!("[{},{}]", step("a"), step("b")), None);
        assert_eq!(values(&old), ["a", "b"]);
        assert_eq!(contents(&old).request_xml.as_deref(), Some("<old/>"));
        // A leg of an older replica added to a newer row's `[]`, later or earlier.
        assert_eq!(values(&stored(&format!("[,{}]", step("a")), None)), ["a"]);
        assert_eq!(values(&stored(&format!("[{},]", step("a")), None)), ["a"]);
        // An older row that a newer replica's leg was added to: its steps, then the leg's,
        // whose XML counts.
        let packed = pack::pack(&format!("[{}]", step("c")), Some("<new/>"), None);
        let mixed = stored(&format!("[{}]", step("a")), Some(packed.clone()));
        assert_eq!(values(&mixed), ["a", "c"]);
        assert_eq!(contents(&mixed).request_xml.as_deref(), Some("<new/>"));
        // A damaged record: the rest of the row is still shown.
        let next = pack::pack(&format!("[{}]", step("d")), None, None);
        let damaged = [packed.clone(), next[..next.len() - 1].to_vec()].concat();
        let damaged = stored(&format!("[{}]", step("a")), Some(damaged));
        assert_eq!(values(&damaged), ["a", "c"]);
        assert_eq!(to_api(&damaged).steps.len(), 2);
    }

    #[test]
    fn the_upsert_is_the_statement_sea_query_builds() {
        let tracer = crate::flow::Tracer::new(Uuid::nil());
        tracer.begin(rosetta_api::TraceStepKind::Request);
        tracer.fact("Binding", "HTTP-POST");
        tracer.summary(|l| {
            l.initiated = Some("sp");
            l.request_xml = Some("<samlp:AuthnRequest/>".into());
        });
        let mut failed = tracer.finish(Some(&crate::flow::FlowError::BadRequest("no".into())));
        failed.user_email = Some("ada@corp.com".into());
        let next = crate::flow::Tracer::new(Uuid::nil()).finish(None);
        let legs = [failed, next];
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            // Each size twice: the second binds its values to the SQL the first one kept.
            for size in [1, 2, 1, 2] {
                let ours = upsert_statement(backend, &legs[..size]);
                let sea_query = upsert_by_sea_query(backend, legs[..size].iter().map(row).collect());
                assert_eq!(ours.sql, sea_query.sql, "{backend:?}");
                assert_eq!(ours.values, sea_query.values, "{backend:?}");
                assert_eq!(ours.db_backend, sea_query.db_backend);
            }
        }
    }

    proptest::proptest! {
        /// Whatever the text (made of XML-ish fragments and any characters), stripping never
        /// panics, and a secret placed in a `Signature` element or a value element around it
        /// never survives it.
        #[test]
        fn stripping_is_total_and_keeps_no_signature(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("<ds:Signature>".to_owned()),
                    proptest::strategy::Just("</ds:Signature>".to_owned()),
                    proptest::strategy::Just("<Signature a=\"1\">".to_owned()),
                    proptest::strategy::Just("<ds:Signature/>".to_owned()),
                    proptest::strategy::Just("<ds:SignatureValue>".to_owned()),
                    proptest::strategy::Just("</ds:SignatureValue>".to_owned()),
                    proptest::strategy::Just("<DigestValue x=\"1\">".to_owned()),
                    proptest::strategy::Just("<DigestValue/>".to_owned()),
                    proptest::strategy::Just("<".to_owned()),
                    proptest::strategy::Just("/>".to_owned()),
                    ".{0,8}",
                ],
                0..24,
            )
        ) {
            let text = parts.concat();
            let _ = strip_signatures(&text);
            let _ = strip_signature_values(&text);
            for (secret, wrapped) in [
                ("SECRETCERT", format!("{text}<ds:Signature><ds:X509Certificate>SECRETCERT</ds:X509Certificate></ds:Signature>{text}")),
                ("SECRETSIG", format!("{text}<ds:SignatureValue>SECRETSIG</ds:SignatureValue>{text}")),
            ] {
                let out = strip_signatures(&wrapped);
                proptest::prop_assert!(!out.contains(secret) || text.contains(secret), "{}", out);
            }
            let wrapped = format!("{text}<ds:SignatureValue>SECRETSIG</ds:SignatureValue>{text}");
            let out = strip_signature_values(&wrapped);
            proptest::prop_assert!(!out.contains("SECRETSIG") || text.contains("SECRETSIG"), "{}", out);
        }
    }
}

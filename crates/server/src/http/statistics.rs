//! Message statistics over HTTP (docs/MODULES.md, "Statistics"): the
//! figures as JSON, or streamed as CSV one bucket at a time.

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::csv::{Cell, write_record};
use switchboard_core::statistics::{Figures, GroupBy, StatisticsRange};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::CurrentUser;
use super::conversations::params;
use super::error::ErrorBody;
use crate::app::{AppError, Bucket, StatisticsRow};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatisticsParams {
    /// Start (included): an RFC 3339 timestamp or a `YYYY-MM-DD` date (its
    /// UTC midnight). Default: 30 days before `to`.
    pub from: Option<String>,
    /// End (excluded), as `from`. Default: the end of the current UTC day.
    pub to: Option<String>,
    /// `day` (default), `inbox` or `agent`.
    pub group_by: Option<String>,
}

/// One bucket's figures. Durations are in seconds (nearest-rank
/// percentiles); null when nothing was measured. In an agent's bucket
/// `conversations_opened` and `messages_in` are null: they belong to no
/// agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatisticsRowView {
    /// The UTC day (`group_by=day`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    /// `group_by=inbox`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbox_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbox_name: Option<String>,
    /// `group_by=agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    pub conversations_opened: Option<u64>,
    pub conversations_resolved: u64,
    pub messages_in: Option<u64>,
    pub messages_out: u64,
    pub first_response_p50_secs: Option<f64>,
    pub first_response_p90_secs: Option<f64>,
    pub resolution_p50_secs: Option<f64>,
    pub resolution_p90_secs: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatisticsView {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `day`, `inbox` or `agent`.
    pub group_by: String,
    /// In bucket order: days in time order; inboxes and agents by name.
    pub rows: Vec<StatisticsRowView>,
}

impl From<StatisticsRow> for StatisticsRowView {
    fn from(row: StatisticsRow) -> Self {
        let Figures {
            conversations_opened,
            conversations_resolved,
            messages_in,
            messages_out,
            first_response_p50,
            first_response_p90,
            resolution_p50,
            resolution_p90,
        } = row.figures;
        let mut view = Self {
            day: None,
            inbox_id: None,
            inbox_name: None,
            agent_id: None,
            agent_name: None,
            conversations_opened,
            conversations_resolved,
            messages_in,
            messages_out,
            first_response_p50_secs: first_response_p50,
            first_response_p90_secs: first_response_p90,
            resolution_p50_secs: resolution_p50,
            resolution_p90_secs: resolution_p90,
        };
        match row.bucket {
            Bucket::Day(day) => view.day = Some(day.to_string()),
            Bucket::Inbox { id, name } => {
                view.inbox_id = Some(id.as_uuid());
                view.inbox_name = Some(name);
            }
            Bucket::Agent { id, name } => {
                view.agent_id = Some(id.as_uuid());
                view.agent_name = Some(name);
            }
        }
        view
    }
}

/// The range and grouping of a request, refused with a clear reason.
fn parse(
    state: &AppState,
    query: StatisticsParams,
) -> Result<(StatisticsRange, GroupBy), AppError> {
    let group_by = match query.group_by.as_deref() {
        None => GroupBy::Day,
        Some(text) => GroupBy::parse(text)?,
    };
    let range = StatisticsRange::parse(
        query.from.as_deref(),
        query.to.as_deref(),
        Utc::now(),
        state.config.statistics_max_days,
    )
    .map_err(|error| AppError::BadRequest(error.to_string()))?;
    Ok((range, group_by))
}

/// Message statistics of the inboxes in the groups where the caller holds
/// `statistics.view`, by day, inbox or agent.
#[utoipa::path(get, path = "/v1/statistics", tag = "statistics", params(StatisticsParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = StatisticsView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn statistics(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    query: Result<Query<StatisticsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<StatisticsView>, AppError> {
    let (range, group_by) = parse(&state, params(query)?)?;
    let mut rows = state.app.statistics(&who, range, group_by, false).await?;
    let mut views = Vec::new();
    while let Some(row) = rows.next().await? {
        views.push(row.into());
    }
    let window = rows.window();
    Ok(Json(StatisticsView {
        from: window.from,
        to: window.to,
        group_by: group_by.as_str().to_owned(),
        rows: views,
    }))
}

/// The same figures as CSV (RFC 4180, CRLF, a header row; names that
/// would run as spreadsheet formulas start with `'`), streamed one bucket
/// at a time; needs `statistics.export` too, and counts the groups where
/// the caller holds both.
#[utoipa::path(get, path = "/v1/statistics/export", tag = "statistics", params(StatisticsParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "the figures as CSV", content_type = "text/csv",
            body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    query: Result<Query<StatisticsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let (range, group_by) = parse(&state, params(query)?)?;
    let rows = state.app.statistics(&who, range, group_by, true).await?;
    let name = format!(
        "statistics-{}-{}.csv",
        group_by.as_str(),
        range.window().from.format("%Y%m%d")
    );
    let mut header_row = String::new();
    write_record(&mut header_row, &header(group_by));
    let head = futures_util::stream::once(async move { Ok(Bytes::from(header_row)) });
    let body = futures_util::stream::unfold(rows, |mut rows| async move {
        match rows.next().await {
            Ok(Some(row)) => Some((Ok(Bytes::from(csv_row(row))), rows)),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, "statistics export ended early");
                Some((Err(std::io::Error::other("statistics export failed")), rows))
            }
        }
    });
    use futures_util::StreamExt;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(head.chain(body)),
    )
        .into_response())
}

const FIGURE_COLUMNS: [&str; 8] = [
    "conversations_opened",
    "conversations_resolved",
    "messages_in",
    "messages_out",
    "first_response_p50_secs",
    "first_response_p90_secs",
    "resolution_p50_secs",
    "resolution_p90_secs",
];

fn header(group_by: GroupBy) -> Vec<Cell<'static>> {
    let keys: &[&'static str] = match group_by {
        GroupBy::Day => &["day"],
        GroupBy::Inbox => &["inbox_id", "inbox_name"],
        GroupBy::Agent => &["agent_id", "agent_name"],
    };
    keys.iter()
        .chain(FIGURE_COLUMNS.iter())
        .map(|c| Cell::Value(c))
        .collect()
}

/// One bucket as a CSV record, its columns as [`header`] names them.
fn csv_row(row: StatisticsRow) -> String {
    let figures = row.figures;
    let count = |n: Option<u64>| n.map(|n| n.to_string());
    let secs = |s: Option<f64>| s.map(|s| s.to_string());
    let values = [
        count(figures.conversations_opened),
        count(Some(figures.conversations_resolved)),
        count(figures.messages_in),
        count(Some(figures.messages_out)),
        secs(figures.first_response_p50),
        secs(figures.first_response_p90),
        secs(figures.resolution_p50),
        secs(figures.resolution_p90),
    ];
    let (key, name) = match &row.bucket {
        Bucket::Day(day) => (day.to_string(), None),
        Bucket::Inbox { id, name } => (id.to_string(), Some(name.as_str())),
        Bucket::Agent { id, name } => (id.to_string(), Some(name.as_str())),
    };
    let mut cells = vec![Cell::Value(&key)];
    cells.extend(name.map(Cell::Text));
    cells.extend(
        values
            .iter()
            .map(|v| v.as_deref().map_or(Cell::Empty, Cell::Value)),
    );
    let mut out = String::new();
    write_record(&mut out, &cells);
    out
}

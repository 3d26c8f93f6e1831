//! The assessment list as a file: CSV or NDJSON, streamed.
//!
//! The rows are read in keyset pages of [`CHUNK_ROWS`] by (created_at, id), each page one short
//! statement (the service's statement timeout is 5 s), by a task that hands encoded chunks through
//! a bounded channel to the response body: memory stays constant however many rows there are, and
//! when the client goes away the body is dropped, the next hand-over fails and the task stops.
//!
//! An export that does not run to its end (a page that cannot be read, the task stopped by a
//! shutdown) ends with an error, never quietly: the connection is closed without the chunked
//! body's last chunk, which every HTTP/1.1 client reports as an incomplete transfer. Only the
//! task's explicit [`Chunk::End`] ends the body normally (issue 20, finding 11: an export cut by
//! SIGTERM used to end like a complete one).

use std::pin::Pin;
use std::task::{Context, Poll};

use crate::persistence::replica::ReadPools;
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::SecondsFormat;
use tokio::sync::mpsc;

use super::assessments::AssessmentSummary;
use super::caller::Caller;
use super::filters::{FilterParameters, parse_filters};
use super::problem::{ApiError, Problem};
use crate::persistence::OrganisationId;
use crate::persistence::assessments::{self as store, AssessmentRow, Filters, ListRequest, Page, SortKey};

/// Rows per database statement.
const CHUNK_ROWS: u32 = 1_000;
/// Encoded chunks waiting for a slow client at most: this bounds the memory of an export.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The CSV columns, in their documented, stable order.
pub const CSV_COLUMNS: [&str; 21] = [
    "id",
    "program_id",
    "program_key",
    "program_name",
    "rescored_from",
    "model_version",
    "created_at",
    "indication",
    "stage",
    "tissue_source",
    "route",
    "overall_index",
    "readiness_level",
    "limiting_barrier",
    "survival",
    "retention",
    "variability",
    "scalability",
    "safety",
    "outcomes",
    "regulatory",
];

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Ndjson,
}

impl Format {
    fn encode(self, rows: Vec<AssessmentRow>, first: bool) -> Result<Bytes, ApiError> {
        let internal = |error: Box<dyn std::error::Error + Send + Sync>| ApiError::Internal(error);
        match self {
            Self::Csv => csv_chunk(&rows, first).map_err(|error| internal(error.into())),
            Self::Ndjson => ndjson_chunk(rows).map_err(|error| internal(error.into())),
        }
    }
}

fn text(value: Option<impl ToString>) -> String {
    value.map_or_else(String::new, |value| value.to_string())
}

/// Client text a spreadsheet would run as a formula (OWASP, CSV injection) is prefixed with an
/// apostrophe, which spreadsheets show as text and do not display.
fn spreadsheet_safe(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell }
}

fn csv_chunk(rows: &[AssessmentRow], header: bool) -> Result<Bytes, csv::Error> {
    // RFC 4180: CRLF line ends, fields quoted only when they need it.
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    if header {
        writer.write_record(CSV_COLUMNS)?;
    }
    for row in rows {
        writer.write_record([
            row.id.to_string(),
            text(row.program_id),
            spreadsheet_safe(text(row.program_key.as_ref())),
            spreadsheet_safe(text(row.program_name.as_ref())),
            text(row.rescored_from),
            row.model_version.clone(),
            row.created_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            text(row.indication.as_ref()),
            text(row.stage.as_ref()),
            text(row.tissue_source.as_ref()),
            text(row.route.as_ref()),
            row.overall_index.to_string(),
            text(row.readiness_level),
            row.limiting_barrier.clone(),
            text(row.survival),
            text(row.retention),
            text(row.variability),
            text(row.scalability),
            text(row.safety),
            text(row.outcomes),
            text(row.regulatory),
        ])?;
    }
    writer.into_inner().map(Bytes::from).map_err(|error| error.into_error().into())
}

fn ndjson_chunk(rows: Vec<AssessmentRow>) -> Result<Bytes, serde_json::Error> {
    let mut buffer = Vec::new();
    for row in rows {
        serde_json::to_writer(&mut buffer, &AssessmentSummary::from(row))?;
        buffer.push(b'\n');
    }
    Ok(Bytes::from(buffer))
}

/// What the export task hands to the response body.
enum Chunk {
    Rows(Bytes),
    /// Every row was sent: the body may end.
    End,
}

/// A response body fed by the export task.
struct ChannelBody(mpsc::Receiver<Result<Chunk, ApiError>>);

impl MessageBody for ChannelBody {
    type Error = ApiError;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Result<Bytes, ApiError>>> {
        self.get_mut().0.poll_recv(context).map(|chunk| match chunk {
            Some(Ok(Chunk::Rows(bytes))) => Some(Ok(bytes)),
            Some(Ok(Chunk::End)) => None,
            Some(Err(error)) => Some(Err(error)),
            // The task is gone without saying it finished: the client must see a cut transfer.
            None => {
                tracing::warn!("export cut short: the connection is closed before its last row");
                Some(Err(ApiError::Internal("the export stopped before its last row".into())))
            }
        })
    }
}

fn page_after(filters: &Filters, after: Option<store::Cursor>) -> ListRequest {
    ListRequest {
        filters: filters.clone(),
        sort: SortKey::CreatedAt,
        descending: false,
        limit: CHUNK_ROWS,
        after,
        full: false,
    }
}

async fn export(
    request: HttpRequest,
    reads: ReadPools,
    caller: Caller,
    format: Format,
) -> Result<HttpResponse, ApiError> {
    let filters = parse_filters(&request)?.into_filters()?;
    // The first page is read before the response starts, so a database failure is still a
    // problem document; a failure later can only cut the stream short.
    let first = reads
        .read(async |pool| store::list(pool, caller.organisation, &page_after(&filters, None)).await)
        .await?;
    let (sender, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    actix_web::rt::spawn(stream_pages(reads, caller.organisation, filters, first, format, sender));
    let (content_type, filename) = match format {
        Format::Csv => ("text/csv; charset=utf-8; header=present", "assessments.csv"),
        Format::Ndjson => ("application/x-ndjson", "assessments.ndjson"),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(filename.to_owned())],
        })
        .body(ChannelBody(receiver)))
}

async fn stream_pages(
    reads: ReadPools,
    organisation: OrganisationId,
    filters: Filters,
    first: Page,
    format: Format,
    sender: mpsc::Sender<Result<Chunk, ApiError>>,
) {
    let mut page = first;
    let mut header = true;
    loop {
        let next = page.next.take();
        let chunk = format.encode(page.rows, header).map(Chunk::Rows);
        header = false;
        let failed = chunk.is_err();
        if sender.send(chunk).await.is_err() || failed {
            return;
        }
        let Some(after) = next else {
            let _ = sender.send(Ok(Chunk::End)).await;
            return;
        };
        // Each page from the replica while it serves, else from the primary: a replica lost
        // mid-export does not cut the export short.
        let request = page_after(&filters, Some(after));
        page = match reads.read(async |pool| store::list(pool, organisation, &request).await).await {
            Ok(page) => page,
            Err(error) => {
                tracing::error!(%error, "export stopped: a page could not be read");
                let _ = sender.send(Err(ApiError::from(error))).await;
                return;
            }
        };
    }
}

const CSV_DESCRIPTION: &str = "One row per assessment, oldest first, after a header row. Columns, in this \
order: id, program_id, program_key, program_name, rescored_from, model_version, created_at (RFC 3339, UTC), indication, stage, \
tissue_source, route, overall_index, readiness_level, limiting_barrier, survival, retention, variability, \
scalability, safety, outcomes, regulatory. Unknown values are empty fields, a barrier score with nothing known \
about the barrier included (never 0), and so is MSC-TRL 0; a program key or name that a spreadsheet would \
read as a formula (starting with =, +, -, @, tab or carriage return) is prefixed with an apostrophe; RFC 4180 \
quoting, CRLF line ends. An export that cannot run to its end \
(a database failure, the service shutting down) closes the connection without the last chunk of the chunked \
body: treat a transfer that did not end normally as incomplete.";

/// Export assessments as CSV
///
/// The assessment list (the list's filters, every assessment, oldest first) as an RFC 4180 CSV
/// file with a header row and stable columns: the classification, the overall index, the readiness
/// level, the limiting barrier and the seven barrier scores. Streamed: any number of rows.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "exports",
    params(FilterParameters),
    responses(
        (status = 200, description = CSV_DESCRIPTION, content_type = "text/csv", body = String,
         headers(("Content-Disposition" = String, description = "`attachment; filename=\"assessments.csv\"`")),
         example = json!("id,program_id,program_key,program_name,rescored_from,model_version,created_at,indication,stage,tissue_source,route,overall_index,readiness_level,limiting_barrier,survival,retention,variability,scalability,safety,outcomes,regulatory\r\n019a8f2e-7c41-7d3a-9b1e-2f6c0d4e5a10,,,,,1.0.0,2026-11-21T21:40:03.512345Z,intervertebral_disc_degeneration,phase1,bone_marrow,intradiscal,38.2,,survival,22.5,31,47.5,40,68.5,35,41\r\n")),
        (status = 400, description = "Unknown parameter, or invalid value (the parameter is named)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/exports/assessments.csv")]
pub async fn export_csv(
    caller: Caller,
    request: HttpRequest,
    reads: web::Data<ReadPools>,
) -> Result<HttpResponse, ApiError> {
    export(request, reads.get_ref().clone(), caller, Format::Csv).await
}

/// Export assessments as NDJSON
///
/// The assessment list (the list's filters, every assessment, oldest first) as newline-delimited
/// JSON: one line per assessment, each exactly an item of `GET /v1/assessments` (a barrier score
/// with nothing known about the barrier is null). Streamed: any number of rows.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "exports",
    params(FilterParameters),
    responses(
        (status = 200, description = "Newline-delimited JSON: one `AssessmentSummary` object (see its schema) per line, oldest first; read it line by line, not as one JSON document. An export that cannot run to its end (a database failure, the service shutting down) closes the connection without the last chunk of the chunked body: treat a transfer that did not end normally as incomplete.", content_type = "application/x-ndjson", body = String,
         headers(("Content-Disposition" = String, description = "`attachment; filename=\"assessments.ndjson\"`"))),
        (status = 400, description = "Unknown parameter, or invalid value (the parameter is named)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/exports/assessments.ndjson")]
pub async fn export_ndjson(
    caller: Caller,
    request: HttpRequest,
    reads: web::Data<ReadPools>,
) -> Result<HttpResponse, ApiError> {
    export(request, reads.get_ref().clone(), caller, Format::Ndjson).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn client_text_a_spreadsheet_would_run_is_kept_as_text() {
        for formula in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(formula.to_owned()), format!("'{formula}"));
        }
        for plain in ["Disc program", "", "A-1", "1=1"] {
            assert_eq!(spreadsheet_safe(plain.to_owned()), plain);
        }
    }

    use super::*;

    async fn next(body: &mut Pin<Box<ChannelBody>>) -> Option<Result<Bytes, ApiError>> {
        std::future::poll_fn(|context| body.as_mut().poll_next(context)).await
    }

    #[tokio::test]
    async fn a_body_ends_normally_only_after_the_tasks_end_marker() {
        let (sender, receiver) = mpsc::channel(4);
        sender.send(Ok(Chunk::Rows(Bytes::from_static(b"row\n")))).await.unwrap();
        sender.send(Ok(Chunk::End)).await.unwrap();
        let mut complete = Box::pin(ChannelBody(receiver));
        assert_eq!(next(&mut complete).await.unwrap().unwrap(), Bytes::from_static(b"row\n"));
        assert!(next(&mut complete).await.is_none());

        let (sender, receiver) = mpsc::channel(4);
        sender.send(Ok(Chunk::Rows(Bytes::from_static(b"row\n")))).await.unwrap();
        drop(sender);
        let mut cut = Box::pin(ChannelBody(receiver));
        assert!(next(&mut cut).await.unwrap().is_ok());
        assert!(
            next(&mut cut).await.unwrap().is_err(),
            "a task gone without its end marker cuts the transfer"
        );
    }
}

//! Receiving an import: a file read as it arrives, line by line (NDJSON) or record by record
//! (CSV), its lines staged in the database in batches, so that a file of any size takes constant
//! memory. Used by `POST /v1/imports` (reading the request body) and by `msc-readiness import`
//! (reading the file). Runs on a blocking thread: reading is blocking, and each batch is written
//! through the runtime's handle.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::lines::CsvColumns;
use crate::api::problem::FieldError;
use crate::persistence::PersistenceError;
use crate::persistence::jobs::{self as store, ItemError, StagedLine};

/// Lines staged per database statement.
const STAGE_LINES: usize = 1_000;
/// Bytes of lines staged per database statement at most.
const STAGE_BYTES: usize = 4 << 20;
/// Programs whose open group staging remembers at most: past it, it forgets them all and starts
/// new groups, so that its memory is bounded whatever the file. A program's group started after
/// that follows no earlier group: only in a file naming more programs than this can several
/// workers store a program's batches out of file order.
const OPEN_GROUPS: usize = 100_000;

/// How an import treats invalid lines.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Every valid line is stored; each invalid one is reported (the default).
    #[default]
    BestEffort,
    /// Nothing is stored unless every line is valid: one worker takes the whole file in one
    /// transaction, and the job fails, naming every invalid line, if any is.
    AllOrNothing,
}

/// The format of an import.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    Ndjson,
    Csv,
}

/// Why a file could not be staged.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Persistence(#[from] PersistenceError),
    /// A CSV header row that does not map onto lines.
    #[error("invalid CSV header: {}: {}", .0.field, .0.message)]
    Header(FieldError),
    /// A file that cannot be read as the format it claims (a CSV without a readable header row).
    #[error("{0}")]
    Unreadable(String),
}

/// Where and how a file is staged.
pub struct Staging<'a> {
    pub runtime: &'a tokio::runtime::Handle,
    pub pool: &'a PgPool,
    pub job: Uuid,
    /// Longest line (or CSV record), in bytes.
    pub line_bytes: usize,
    /// Longest wait for each database write.
    pub stall: Duration,
    /// Most lines of one program claimed together: the job batch size.
    pub group_lines: usize,
}

/// How a line names its program, read without reading the rest of the line: the lines naming one
/// program the same way are claimed together, in file order (migration 0016).
#[derive(Deserialize)]
struct NamedProgram<'a> {
    #[serde(borrow)]
    program: Option<Cow<'a, str>>,
    program_id: Option<Uuid>,
}

#[derive(PartialEq, Eq, Hash)]
enum ProgramName {
    Key(String),
    Id(Uuid),
}

impl ProgramName {
    /// `None` for a line of no program, and for one that will fail its checks anyway (not a JSON
    /// object, a program named twice): such a line is claimed alone.
    fn of(line: &str) -> Option<Self> {
        match serde_json::from_str::<NamedProgram<'_>>(line).ok()? {
            NamedProgram { program: Some(key), program_id: None } => Some(Self::Key(key.into_owned())),
            NamedProgram { program: None, program_id: Some(id) } => Some(Self::Id(id)),
            _ => None,
        }
    }
}

/// The open group of each program named so far: the position of its first line, and its lines.
struct Groups {
    limit: usize,
    open: HashMap<ProgramName, (i64, usize)>,
}

/// A line's group: the first line of the group, and of the program's group before it.
#[derive(Default)]
struct Placed {
    head: Option<i64>,
    after: Option<i64>,
}

impl Groups {
    /// The group of the line at `position`: its program's open group, or a new one it heads (after
    /// the program's full group, if it has one).
    fn place(&mut self, position: i64, line: &str) -> Placed {
        let Some(program) = ProgramName::of(line) else {
            return Placed::default();
        };
        let full = match self.open.get_mut(&program) {
            Some((head, lines)) if *lines < self.limit => {
                *lines += 1;
                return Placed { head: Some(*head), after: None };
            }
            Some((head, _)) => Some(*head),
            None => None,
        };
        if full.is_none() && self.open.len() >= OPEN_GROUPS {
            self.open.clear();
        }
        self.open.insert(program, (position, 1));
        Placed { head: Some(position), after: full }
    }
}

/// Lines read and not written yet.
struct Stager<'a> {
    staging: &'a Staging<'a>,
    lines: Vec<StagedLine>,
    groups: Groups,
    bytes: usize,
    errors: Vec<ItemError>,
    failed: i64,
}

impl Stager<'_> {
    fn line(&mut self, position: i64, input: String) -> Result<(), PersistenceError> {
        self.bytes += input.len();
        let Placed { head, after } = self.groups.place(position, &input);
        self.lines.push(StagedLine { position, input, group_head: head, group_after: after });
        self.flush_when_full()
    }

    fn error(&mut self, position: i64, field: &str, message: String) -> Result<(), PersistenceError> {
        self.errors.push(ItemError { position, source_id: None, field: field.to_owned(), message });
        self.failed += 1;
        self.flush_when_full()
    }

    fn flush_when_full(&mut self) -> Result<(), PersistenceError> {
        if self.lines.len() + self.errors.len() >= STAGE_LINES || self.bytes >= STAGE_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), PersistenceError> {
        if self.lines.is_empty() && self.errors.is_empty() {
            return Ok(());
        }
        let staging = self.staging;
        let staged = store::stage(staging.pool, staging.job, &self.lines, &self.errors, self.failed);
        staging
            .runtime
            .block_on(async { tokio::time::timeout(staging.stall, staged).await })
            .map_err(|_elapsed| PersistenceError::Unavailable(sqlx::Error::PoolTimedOut))??;
        self.lines.clear();
        self.errors.clear();
        self.bytes = 0;
        self.failed = 0;
        Ok(())
    }
}

impl Staging<'_> {
    /// Reads `reader` to its end as `format` and stages every line (run on a blocking thread).
    pub fn stage(&self, reader: impl Read, format: ImportFormat) -> Result<(), StageError> {
        let mut stager = Stager {
            staging: self,
            lines: Vec::new(),
            groups: Groups { limit: self.group_lines.max(1), open: HashMap::new() },
            bytes: 0,
            errors: Vec::new(),
            failed: 0,
        };
        match format {
            ImportFormat::Ndjson => stage_ndjson(reader, self.line_bytes, &mut stager)?,
            ImportFormat::Csv => stage_csv(reader, self.line_bytes, &mut stager)?,
        }
        stager.flush()?;
        Ok(())
    }
}

fn unreadable(error: std::io::Error) -> StageError {
    StageError::Unreadable(format!("the file could not be read: {error}"))
}

fn stage_ndjson(reader: impl Read, limit: usize, stager: &mut Stager<'_>) -> Result<(), StageError> {
    let mut reader = std::io::BufReader::with_capacity(64 << 10, reader);
    let mut buffer = Vec::new();
    let mut position = 0i64;
    loop {
        buffer.clear();
        let read = (&mut reader)
            .take(u64::try_from(limit).unwrap_or(u64::MAX) + 1)
            .read_until(b'\n', &mut buffer)
            .map_err(unreadable)?;
        if read == 0 {
            return Ok(());
        }
        position += 1;
        if buffer.last() != Some(&b'\n') && buffer.len() > limit {
            // The rest of an over-long line is skipped without reading it into memory.
            loop {
                let available = reader.fill_buf().map_err(unreadable)?;
                if available.is_empty() {
                    break;
                }
                match available.iter().position(|&byte| byte == b'\n') {
                    Some(end) => {
                        reader.consume(end + 1);
                        break;
                    }
                    None => {
                        let length = available.len();
                        reader.consume(length);
                    }
                }
            }
            stager.error(
                position,
                "",
                format!("the line is longer than {limit} bytes (BODY_LIMIT_BYTES)"),
            )?;
            continue;
        }
        while matches!(buffer.last(), Some(b'\n' | b'\r')) {
            buffer.pop();
        }
        if buffer.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match String::from_utf8(std::mem::take(&mut buffer)) {
            // PostgreSQL text cannot hold NUL, and JSON has no raw control characters anyway.
            Ok(line) if line.contains('\0') => {
                stager.error(position, "", "not a JSON document: a raw NUL character".into())?
            }
            Ok(line) => stager.line(position, line)?,
            Err(_) => stager.error(position, "", "the line is not UTF-8 text".into())?,
        }
    }
}

/// The CSV reader's own buffer.
const CSV_BUFFER: usize = 64 << 10;

/// A reader that refuses to give more than a budget of bytes between two renewals: the CSV
/// reader holds a whole record in memory before its length can be checked, and a quoted cell may
/// run on over any number of lines, so a record is bounded while it is read.
struct RecordBudget<R> {
    inner: R,
    remaining: std::rc::Rc<std::cell::Cell<usize>>,
}

/// The error a [`RecordBudget`] gives when a record outruns it.
#[derive(Debug, thiserror::Error)]
#[error("a record outran its budget")]
struct RecordTooLong;

impl<R: Read> Read for RecordBudget<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let remaining = self.remaining.get();
        if remaining == 0 {
            return Err(std::io::Error::other(RecordTooLong));
        }
        let wanted = buffer.len().min(remaining);
        let read = self.inner.read(&mut buffer[..wanted])?;
        self.remaining.set(remaining - read);
        Ok(read)
    }
}

fn stage_csv(reader: impl Read, limit: usize, stager: &mut Stager<'_>) -> Result<(), StageError> {
    // A record may be `limit` long; the reader reads ahead by up to its buffer on either side.
    let allowance = limit + 2 * CSV_BUFFER;
    let remaining = std::rc::Rc::new(std::cell::Cell::new(allowance));
    let reader = RecordBudget { inner: reader, remaining: remaining.clone() };
    let mut reader = csv::ReaderBuilder::new().flexible(true).buffer_capacity(CSV_BUFFER).from_reader(reader);
    let header = reader
        .headers()
        .map_err(|error| StageError::Unreadable(format!("cannot read the header row: {error}")))?;
    let columns = CsvColumns::from_header(header.iter()).map_err(StageError::Header)?;
    let width = header.len();
    let mut record = csv::StringRecord::new();
    // The line the last record read started on: the header's, at first.
    let mut last_line = 1i64;
    loop {
        remaining.set(allowance);
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let position = record.position().map_or(0, |at| i64::try_from(at.line()).unwrap_or(i64::MAX));
                last_line = position;
                if record.as_slice().len() > limit {
                    let message = format!("the record is longer than {limit} bytes (BODY_LIMIT_BYTES)");
                    stager.error(position, "", message)?;
                } else if record.len() != width {
                    let message =
                        format!("the record has {} cells; the header row has {width}", record.len());
                    stager.error(position, "", message)?;
                } else if record.iter().any(|cell| cell.contains('\0')) {
                    stager.error(position, "", "a cell holds a NUL character".into())?;
                } else {
                    match columns.to_line(record.iter()) {
                        Ok(line) => stager.line(position, line)?,
                        Err(error) => stager.error(position, &error.field, error.message)?,
                    }
                }
            }
            Err(error) => {
                let position = error.position().map_or(0, |at| i64::try_from(at.line()).unwrap_or(i64::MAX));
                match error.kind() {
                    csv::ErrorKind::Io(io)
                        if io.get_ref().is_some_and(|inner| inner.is::<RecordTooLong>()) =>
                    {
                        // Where such a record ends cannot be known without reading it: the file
                        // is refused from here rather than held in memory.
                        return Err(StageError::Unreadable(format!(
                            "the record after the one on line {last_line} is longer than {limit} bytes (BODY_LIMIT_BYTES), \
                             perhaps a quote that is never closed; nothing after it was read"
                        )));
                    }
                    csv::ErrorKind::Io(_) => return Err(StageError::Unreadable(error.to_string())),
                    csv::ErrorKind::Utf8 { .. } => {
                        stager.error(position, "", "the record is not UTF-8 text".into())?
                    }
                    _ => stager.error(position, "", format!("the record cannot be read: {error}"))?,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts what the CSV reader took from the file.
    struct Counted<'a> {
        inner: std::io::Cursor<Vec<u8>>,
        taken: &'a std::cell::Cell<usize>,
    }

    impl Read for Counted<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            let read = self.inner.read(buffer)?;
            self.taken.set(self.taken.get() + read);
            Ok(read)
        }
    }

    #[test]
    fn a_quote_never_closed_stops_the_reader_within_the_budget_not_at_the_end_of_the_file() {
        let mut file = b"program,profile.program.stage\nA-1,phase2\nA-2,\"".to_vec();
        file.extend(std::iter::repeat_n(b'x', 10 << 20));
        let taken = std::cell::Cell::new(0);
        let limit = 1000;
        let allowance = limit + 2 * CSV_BUFFER;
        let remaining = std::rc::Rc::new(std::cell::Cell::new(allowance));
        let budget = RecordBudget {
            inner: Counted { inner: std::io::Cursor::new(file), taken: &taken },
            remaining: remaining.clone(),
        };
        let mut reader =
            csv::ReaderBuilder::new().flexible(true).buffer_capacity(CSV_BUFFER).from_reader(budget);
        let mut record = csv::StringRecord::new();
        remaining.set(allowance);
        assert!(reader.read_record(&mut record).unwrap(), "the first record is read");
        remaining.set(allowance);
        let error = reader.read_record(&mut record).expect_err("the unclosed quote outruns its budget");
        let csv::ErrorKind::Io(io) = error.kind() else { panic!("{error}") };
        assert!(io.get_ref().is_some_and(|inner| inner.is::<RecordTooLong>()));
        assert!(taken.get() <= 2 * allowance, "read {} bytes of a 10 MB file", taken.get());
    }
}

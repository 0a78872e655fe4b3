//! The import job: one at a time, in the background, with its progress sent to every
//! socket. Each file is parsed on a blocking thread and streamed in batches to its
//! session's task, which stores each batch with the file's mark in one transaction: a
//! re-import skips the events already stored and appends only what the file gained.

use super::{parse, parser_for, scan, Found, Stores};
use crate::protocol::{
    ImportProblem, ImportProgress, ImportReport, ImportSource, ServerFrame, SessionId,
};
use crate::server::db::imports::{ImportBatch, ImportMark};
use crate::server::registry::{Registry, ServiceError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};

/// Events stored per transaction.
const BATCH: usize = 500;
/// Least time between two progress frames within a file.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Imports transcripts, one job at a time.
pub struct Importer {
    /// Where the CLIs keep their sessions.
    stores: Stores,
    /// The running (or last) job's progress.
    progress: Mutex<ImportProgress>,
    /// Set to stop the running job after its current batch.
    cancel: AtomicBool,
    /// Every socket's channel.
    list: broadcast::Sender<ServerFrame>,
}

impl Importer {
    /// An importer reading `stores`, telling every socket through `list`.
    pub fn new(stores: Stores, list: broadcast::Sender<ServerFrame>) -> Importer {
        Importer {
            stores,
            progress: Mutex::new(ImportProgress::default()),
            cancel: AtomicBool::new(false),
            list,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ImportProgress> {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The running or last job's progress.
    pub fn progress(&self) -> ImportProgress {
        self.lock().clone()
    }

    /// Lists the transcripts in the stores (the answer to `ScanImports`).
    pub async fn scan(&self, registry: &Registry) -> ServerFrame {
        match self.found(registry).await {
            Ok((found, problems)) => ServerFrame::ImportCandidates {
                candidates: found
                    .into_iter()
                    .map(|f| f.candidate)
                    .collect::<Vec<_>>()
                    .into(),
                problems: problems.into(),
            },
            Err(e) => ServerFrame::ImportCandidates {
                candidates: Vec::new().into(),
                problems: vec![ImportProblem {
                    path: String::new(),
                    line: None,
                    reason: e.to_string(),
                }]
                .into(),
            },
        }
    }

    async fn found(
        &self,
        registry: &Registry,
    ) -> Result<(Vec<Found>, Vec<ImportProblem>), ServiceError> {
        let marks = registry.db().import_marks().await?;
        let stores = self.stores.clone();
        tokio::task::spawn_blocking(move || scan(&stores, &marks))
            .await
            .map_err(|e| ServiceError::Storage(format!("the scan failed: {e}")))
    }

    /// Starts importing `paths` (each one a transcript a scan finds now) in the background.
    pub async fn start(
        self: &Arc<Self>,
        registry: Arc<Registry>,
        paths: Vec<String>,
    ) -> Result<(), ServiceError> {
        if self.lock().running {
            return Err(ServiceError::InvalidState(
                "an import is already running".into(),
            ));
        }
        let (found, _) = self.found(&registry).await?;
        let mut chosen = Vec::new();
        for path in &paths {
            match found.iter().find(|f| &f.candidate.path == path) {
                Some(f) => chosen.push(f.clone()),
                None => {
                    return Err(ServiceError::NotAllowed(format!(
                        "{path} is not a transcript in the Claude Code or Codex stores"
                    )))
                }
            }
        }
        {
            let mut progress = self.lock();
            if progress.running {
                return Err(ServiceError::InvalidState(
                    "an import is already running".into(),
                ));
            }
            *progress = ImportProgress {
                running: true,
                files_total: chosen.len() as u32,
                bytes_total: chosen.iter().map(|f| f.candidate.bytes).sum(),
                ..ImportProgress::default()
            };
        }
        self.cancel.store(false, Ordering::SeqCst);
        self.announce();
        let importer = Arc::clone(self);
        tokio::spawn(async move { importer.run(registry, chosen).await });
        Ok(())
    }

    /// Runs an import to its end and returns the report (the command line's way: no socket).
    pub async fn run_now(
        self: &Arc<Self>,
        registry: Arc<Registry>,
        chosen: Vec<Found>,
    ) -> ImportProgress {
        *self.lock() = ImportProgress {
            running: true,
            files_total: chosen.len() as u32,
            bytes_total: chosen.iter().map(|f| f.candidate.bytes).sum(),
            ..ImportProgress::default()
        };
        self.run(registry, chosen).await;
        self.progress()
    }

    /// Every transcript found now, for the command line.
    pub async fn candidates(
        &self,
        registry: &Registry,
    ) -> Result<(Vec<Found>, Vec<ImportProblem>), ServiceError> {
        self.found(registry).await
    }

    /// Stops the running job after its current batch.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    fn announce(&self) {
        let progress = self.progress();
        let _ = self.list.send(ServerFrame::ImportProgress {
            progress: progress.into(),
        });
    }

    async fn run(&self, registry: Arc<Registry>, chosen: Vec<Found>) {
        let mut report = ImportReport::default();
        // Read once: this job is the only writer of marks while it runs.
        let marks = match registry.db().import_marks().await {
            Ok(marks) => marks,
            Err(e) => {
                report.problems.push(ImportProblem {
                    path: String::new(),
                    line: None,
                    reason: format!("cannot read what was imported before: {e}"),
                });
                return self.finish(report);
            }
        };
        for found in chosen {
            if self.cancel.load(Ordering::SeqCst) {
                report.cancelled = true;
                break;
            }
            let path = found.candidate.path.clone();
            let bytes = found.candidate.bytes;
            let previous = marks.get(&path).copied();
            match self
                .import_file(&registry, found, previous, &mut report)
                .await
            {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(%path, "import failed: {e}");
                    report.problems.push(ImportProblem {
                        path,
                        line: None,
                        reason: e.to_string(),
                    });
                    self.lock().errors += 1;
                }
            }
            {
                let mut progress = self.lock();
                progress.files_done += 1;
                progress.bytes_done += bytes;
            }
            self.announce();
        }
        if self.cancel.load(Ordering::SeqCst) {
            report.cancelled = true;
        }
        self.finish(report);
    }

    /// Ends the job with its report.
    fn finish(&self, report: ImportReport) {
        {
            let mut progress = self.lock();
            progress.running = false;
            progress.report = Some(report);
        }
        self.announce();
    }

    /// Imports one file: the events beyond its mark, in batches, into its session (made on
    /// the first batch of a file never imported).
    async fn import_file(
        &self,
        registry: &Arc<Registry>,
        found: Found,
        previous: Option<ImportMark>,
        report: &mut ImportReport,
    ) -> Result<(), ServiceError> {
        let Found { candidate, meta } = found;
        let source = candidate.source;
        let session = match previous {
            Some(mark) => {
                registry.check_known(mark.session).map_err(|_| {
                    ServiceError::InvalidState(
                        "its session was ended in Switchboard; nothing was added".into(),
                    )
                })?;
                mark.session
            }
            None => imported_session_id(&candidate.path),
        };
        let skip = previous.map_or(0, |m| m.events);
        let (events, mut incoming) = mpsc::channel::<parse::Imported>(BATCH * 2);
        let path = candidate.path.clone();
        let reader = tokio::task::spawn_blocking(move || -> std::io::Result<parse::ParseReport> {
            let file = std::fs::File::open(&path)?;
            let mut parser = parser_for(source);
            let mut n = 0u64;
            parse::parse_reader(parser.as_mut(), std::io::BufReader::new(file), |event| {
                n += 1;
                if n > skip {
                    // A closed channel means the job stopped: the rest is not needed.
                    let _ = events.blocking_send(event);
                }
            })
        });
        let mut batch = Vec::with_capacity(BATCH);
        let mut stored = skip;
        let mut adopted = previous.is_some();
        let mut last_progress = Instant::now();
        let mut stopped = false;
        while let Some(event) = incoming.recv().await {
            batch.push((event.at_ms, event.event));
            if batch.len() < BATCH {
                continue;
            }
            if !adopted {
                registry.adopt_imported(session, source, &meta).await?;
                adopted = true;
            }
            stored += batch.len() as u64;
            let mark = ImportMark {
                session,
                bytes: previous.map_or(0, |m| m.bytes),
                events: stored,
            };
            self.send_batch(registry, session, &candidate.path, source, &mut batch, mark)
                .await?;
            if last_progress.elapsed() >= PROGRESS_EVERY {
                self.announce();
                last_progress = Instant::now();
            }
            if self.cancel.load(Ordering::SeqCst) {
                stopped = true;
                break;
            }
        }
        drop(incoming);
        let parsed = reader
            .await
            .map_err(|e| ServiceError::Storage(format!("the reader failed: {e}")))?
            .map_err(|e| ServiceError::Invalid(format!("cannot read the file: {e}")))?;
        if stopped {
            return Ok(());
        }
        let added = stored - skip + batch.len() as u64;
        if added == 0 {
            // Nothing new (or an empty transcript): no session is made for nothing, and a
            // file that only gained a half-written line just moves its mark.
            if previous.is_some_and(|m| parsed.bytes > m.bytes) {
                let mark = ImportMark {
                    session,
                    bytes: parsed.bytes,
                    events: stored,
                };
                self.send_batch(registry, session, &candidate.path, source, &mut batch, mark)
                    .await?;
            }
            if previous.is_some() {
                report.unchanged += 1;
            }
        } else {
            if !adopted {
                registry.adopt_imported(session, source, &meta).await?;
            }
            stored += batch.len() as u64;
            let mark = ImportMark {
                session,
                bytes: parsed.bytes,
                events: stored,
            };
            self.send_batch(registry, session, &candidate.path, source, &mut batch, mark)
                .await?;
            self.lock().sessions += 1;
        }
        report.unknown_records += parsed.unknown;
        let skipped = parsed.skipped.len() as u32;
        report
            .problems
            .extend(parsed.skipped.into_iter().map(|s| ImportProblem {
                path: candidate.path.clone(),
                line: Some(s.line),
                reason: s.reason,
            }));
        self.lock().errors += skipped;
        Ok(())
    }

    async fn send_batch(
        &self,
        registry: &Registry,
        session: SessionId,
        path: &str,
        source: ImportSource,
        batch: &mut Vec<(i64, crate::protocol::SessionEvent)>,
        mark: ImportMark,
    ) -> Result<(), ServiceError> {
        let events = std::mem::take(batch);
        let count = events.len() as u64;
        registry
            .import_batch(
                session,
                ImportBatch {
                    path: path.to_owned(),
                    source,
                    events,
                    mark,
                },
            )
            .await?;
        self.lock().events += count;
        Ok(())
    }
}

/// The session a transcript file becomes: the same id on every import, so a re-import
/// after a crash finds the session it began.
pub fn imported_session_id(path: &str) -> SessionId {
    SessionId(uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("switchboard-import:{path}").as_bytes(),
    ))
}

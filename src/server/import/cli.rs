//! `switchboard import`: the Import page's job from the command line, on a data dir no
//! server is using (it takes the data dir's lock).

use super::{Found, Importer};
use crate::protocol::{ImportSource, ImportStatus};
use crate::server::config::Config;
use crate::server::registry::Registry;
use std::sync::Arc;

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Only these stores (none given: both).
    pub sources: Vec<ImportSource>,
    /// Only transcripts started on or after this day (`YYYY-MM-DD`, UTC).
    pub since: Option<String>,
    /// List what would be imported, change nothing.
    pub dry_run: bool,
}

/// Runs an import and prints what it did; the error says why it could not run.
pub async fn run(config: Config, options: ImportOptions) -> Result<(), String> {
    let since_ms = options.since.as_deref().map(day_start_ms).transpose()?;
    crate::server::private_dir::ensure_private_dir(&config.data_dir).map_err(|e| e.to_string())?;
    let _lock = crate::server::data_lock::DataDirLock::acquire(&config.data_dir)
        .map_err(|e| e.to_string())?;
    let db = crate::server::db::Db::open_configured(&config)
        .await
        .map_err(|e| e.to_string())?;
    db.claim(true).await.map_err(|e| e.to_string())?;
    let registry = Registry::load(db, Arc::new(config))
        .await
        .map_err(|e| e.to_string())?;
    let importer: Arc<Importer> = Arc::clone(registry.importer());
    let (found, problems) = importer
        .candidates(&registry)
        .await
        .map_err(|e| e.to_string())?;
    for problem in &problems {
        eprintln!("note: {}: {}", problem.path, problem.reason);
    }
    let chosen: Vec<Found> = found
        .into_iter()
        .filter(|f| options.sources.is_empty() || options.sources.contains(&f.candidate.source))
        .filter(|f| since_ms.is_none_or(|since| f.candidate.started_ms >= since))
        .filter(|f| !f.candidate.status.is_current())
        .collect();
    for f in &chosen {
        let c = &f.candidate;
        let what = match c.status {
            ImportStatus::New => "new",
            ImportStatus::Grown { .. } => "grown",
            ImportStatus::Imported { .. } => "imported",
        };
        println!(
            "{:<6} {:<5} {:>9} B  {}  {}",
            c.source.name(),
            what,
            c.bytes,
            c.cwd.as_deref().unwrap_or("?"),
            c.first_prompt.lines().next().unwrap_or("")
        );
    }
    if options.dry_run || chosen.is_empty() {
        println!(
            "{} transcript(s) to import{}",
            chosen.len(),
            if options.dry_run {
                " (dry run: nothing changed)"
            } else {
                ""
            }
        );
        registry.shutdown().await;
        return Ok(());
    }
    let progress = importer.run_now(Arc::clone(&registry), chosen).await;
    registry.shutdown().await;
    let report = progress.report.unwrap_or_default();
    for problem in &report.problems {
        match problem.line {
            Some(line) => eprintln!("skipped {}:{line}: {}", problem.path, problem.reason),
            None => eprintln!("failed {}: {}", problem.path, problem.reason),
        }
    }
    println!(
        "imported {} session(s), {} event(s) from {} file(s); {} unchanged, {} unknown record(s), {} problem(s)",
        progress.sessions,
        progress.events,
        progress.files_done,
        report.unchanged,
        report.unknown_records,
        report.problems.len()
    );
    Ok(())
}

/// Milliseconds since the epoch at the start of day `YYYY-MM-DD` (UTC).
fn day_start_ms(day: &str) -> Result<i64, String> {
    let bad = || format!("--since {day}: give a day as YYYY-MM-DD");
    let mut parts = day.split('-').map(|p| p.parse::<i64>().map_err(|_| bad()));
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let (y, m, d) = (y?, m?, d?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    Ok(super::parse::days_from_civil(y, m, d) * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::day_start_ms;

    #[test]
    fn days_are_read_as_utc_midnight() {
        assert_eq!(day_start_ms("1970-01-01"), Ok(0));
        assert_eq!(day_start_ms("2026-12-03"), Ok(1_796_256_000_000));
        assert!(day_start_ms("2026-13-01").is_err());
        assert!(day_start_ms("yesterday").is_err());
    }
}

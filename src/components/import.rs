//! The `/import` page (`import-page`): the sessions Claude Code and Codex stored on this
//! machine, found by a scan when the page opens, one `import-candidate` each (`data-source`,
//! `data-imported`) with its project folder, first prompt, date and size. Ticked ones are
//! imported in the background (`import-start`); `import-progress` shows how far (with a
//! cancel button) and `import-report` what it did. After an import the stores are scanned
//! again, so the statuses are current.

use super::use_store;
use crate::client::actions::session_path;
use crate::client::format::date_time;
use crate::client::import::{
    self, folder_name, imported_attr, is_importable, problem_place, progress_text, size_text,
    ScanState,
};
use crate::protocol::{ImportCandidate, ImportProgress, ImportReport, ImportStatus};
use leptos::prelude::*;

/// The Import page.
#[component]
pub fn ImportPane() -> impl IntoView {
    let store = use_store();
    // This pane reads frames the shell holds undecoded (`client::pane_frames`).
    crate::client::pane_frames::read_import_as_they_come(store);
    let state = store.import;
    // In the browser: scan on opening, and again each time an import ends.
    Effect::new(move |was_running: Option<bool>| {
        let running = state.running();
        if was_running.is_none() || (was_running == Some(true) && !running) {
            import::scan(store);
        }
        running
    });
    view! {
        <section class="doctor-pane import-pane" data-testid="import-page">
            <div class="doctor-card">
                <h1>"Import sessions"</h1>
                <p class="doctor-intro">
                    "Sessions that Claude Code and Codex keep on this machine. An imported \
                     session shows its whole transcript here, is searchable, and a message \
                     sent in it continues the conversation in the real CLI. Importing one \
                     again later adds only what was said since."
                </p>
                <ImportProgressView/>
                <CandidateList/>
            </div>
        </section>
    }
}

/// The scan's outcome: the candidates with their checkboxes and the buttons, or a line.
#[component]
fn CandidateList() -> impl IntoView {
    let store = use_store();
    let state = store.import;
    let selected_count = move || state.selected.with(|s| s.len());
    let importable = Memo::new(move |_| state.importable_paths());
    let all_ticked = move || {
        let ticked = state.selected.get();
        importable.with(|all| !all.is_empty() && all.iter().all(|p| ticked.contains(p)))
    };
    let toggle_all = move |_| {
        if all_ticked() {
            state.selected.set(Default::default());
        } else {
            state.selected.set(importable.get_untracked());
        }
    };
    let can_start = move || selected_count() > 0 && !state.running();
    let start_label = move || match selected_count() {
        0 => "Import selected".to_owned(),
        1 => "Import 1 session".to_owned(),
        n => format!("Import {n} sessions"),
    };
    move || match state.scan.get() {
        ScanState::NotScanned | ScanState::Scanning => view! {
            <p class="doctor-loading" data-testid="import-scanning" role="status">
                <span class="state-dot spinner" aria-hidden="true"></span>
                "Looking for Claude Code and Codex sessions…"
            </p>
        }
        .into_any(),
        ScanState::Failed(message) => view! {
            <p class="doctor-error" data-testid="import-error" role="alert">
                {format!("Could not look for sessions: {message}")}
            </p>
        }
        .into_any(),
        ScanState::Scanned {
            candidates,
            problems,
        } => {
            let none = candidates.is_empty();
            view! {
                <div class="import-toolbar">
                    <label class="import-select-all">
                        <input
                            type="checkbox"
                            data-testid="import-select-all"
                            prop:checked=all_ticked
                            disabled=move || importable.with(|all| all.is_empty())
                            on:change=toggle_all
                        />
                        <span>"Select all new"</span>
                    </label>
                    <button
                        type="button"
                        class="primary"
                        data-testid="import-start"
                        disabled=move || !can_start()
                        on:click=move |_| import::start(store)
                    >
                        {start_label}
                    </button>
                    <button
                        type="button"
                        class="secondary"
                        data-testid="import-rescan"
                        disabled=move || state.running()
                        on:click=move |_| import::scan(store)
                    >
                        "Look again"
                    </button>
                </div>
                {move || state.start_error.get().map(|message| view! {
                    <p class="doctor-error" data-testid="import-error" role="alert">{message}</p>
                })}
                {none.then(|| view! {
                    <p class="doctor-intro" data-testid="import-none">
                        "No Claude Code or Codex sessions were found on this machine."
                    </p>
                })}
                <ul class="import-list" data-testid="import-candidates">
                    {candidates
                        .into_iter()
                        .map(|candidate| view! { <CandidateRow candidate/> })
                        .collect_view()}
                </ul>
                {(!problems.is_empty()).then(|| view! {
                    <details class="import-scan-problems" data-testid="import-scan-problems">
                        <summary>{format!("{} note{} from the scan", problems.len(), if problems.len() == 1 { "" } else { "s" })}</summary>
                        <ul>
                            {problems
                                .into_iter()
                                .map(|p| view! { <li><code>{problem_place(&p)}</code>" "{p.reason}</li> })
                                .collect_view()}
                        </ul>
                    </details>
                })}
            }
            .into_any()
        }
    }
}

/// One found transcript: a checkbox, where it ran, when, how big, its first prompt and
/// whether it was imported.
#[component]
fn CandidateRow(candidate: ImportCandidate) -> impl IntoView {
    let store = use_store();
    let state = store.import;
    let ImportCandidate {
        source,
        path,
        cwd,
        first_prompt,
        started_ms,
        bytes,
        status,
    } = candidate;
    let importable = is_importable(status);
    let folder = cwd.as_deref().map_or_else(
        || "(folder unknown)".to_owned(),
        |c| folder_name(c).to_owned(),
    );
    let ticked = {
        let path = path.clone();
        move || state.selected.with(|s| s.contains(&path))
    };
    let toggle = {
        let path = path.clone();
        move |_| {
            state.selected.update(|s| {
                if !s.remove(&path) {
                    s.insert(path.clone());
                }
            });
        }
    };
    let status_view = match status {
        ImportStatus::New => view! { <span class="import-status new">"New"</span> }.into_any(),
        ImportStatus::Imported { session } => view! {
            <a class="import-status imported" href=session_path(session) data-noscroll="">"Imported"</a>
        }
        .into_any(),
        ImportStatus::Grown { session } => view! {
            <a
                class="import-status grown"
                href=session_path(session)
                data-noscroll=""
                title="Imported before; the CLI added to it since. Importing again adds only the new turns."
            >
                "Imported · has new turns"
            </a>
        }
        .into_any(),
    };
    let prompt = if first_prompt.trim().is_empty() {
        "(no prompt)".to_owned()
    } else {
        first_prompt
    };
    view! {
        <li
            class="import-candidate"
            data-testid="import-candidate"
            data-source=source.name()
            data-imported=imported_attr(status)
            data-path=path.clone()
        >
            <label class="import-candidate-label">
                <input
                    type="checkbox"
                    data-testid="import-check"
                    prop:checked=ticked
                    disabled=!importable
                    title=if importable { "Import this session" } else { "Imported, nothing new to add" }
                    on:change=toggle
                />
                <span class="import-candidate-body">
                    <span class="import-candidate-top">
                        <span class="import-source" data-source=source.name()>{source.label()}</span>
                        <strong class="import-folder" title=cwd.clone().unwrap_or_default()>{folder}</strong>
                        <span class="import-when">{date_time(started_ms)}</span>
                        <span class="import-size">{size_text(bytes)}</span>
                    </span>
                    <span class="import-prompt">{prompt}</span>
                    <span class="import-path" title=path.clone()>{path.clone()}</span>
                </span>
            </label>
            {status_view}
        </li>
    }
}

/// `import-progress` while an import runs (with Cancel), then `import-report`.
#[component]
fn ImportProgressView() -> impl IntoView {
    let store = use_store();
    move || {
        let progress = store.import.progress.get()?;
        Some(if progress.running {
            view! { <RunningImport progress/> }.into_any()
        } else {
            let report = progress.report.clone().unwrap_or_default();
            view! { <ImportReportView progress report/> }.into_any()
        })
    }
}

#[component]
fn RunningImport(progress: ImportProgress) -> impl IntoView {
    let fraction = if progress.bytes_total > 0 {
        progress.bytes_done as f64 / progress.bytes_total as f64
    } else if progress.files_total > 0 {
        f64::from(progress.files_done) / f64::from(progress.files_total)
    } else {
        0.0
    };
    view! {
        <div class="import-progress" data-testid="import-progress" role="status">
            <div class="import-progress-head">
                <strong>"Importing…"</strong>
                <button
                    type="button"
                    class="secondary"
                    data-testid="import-cancel"
                    on:click=move |_| import::cancel()
                >
                    "Cancel"
                </button>
            </div>
            <progress max="1" value=fraction.to_string()></progress>
            <p class="import-progress-text">{progress_text(&progress)}</p>
        </div>
    }
}

#[component]
fn ImportReportView(progress: ImportProgress, report: ImportReport) -> impl IntoView {
    let headline = if report.cancelled {
        "Import cancelled"
    } else {
        "Import finished"
    };
    let summary = format!(
        "{} session{} made or grown · {} unchanged · {} unknown record{} skipped · {} of {} files",
        progress.sessions,
        if progress.sessions == 1 { "" } else { "s" },
        report.unchanged,
        report.unknown_records,
        if report.unknown_records == 1 { "" } else { "s" },
        progress.files_done,
        progress.files_total,
    );
    let problems = report.problems;
    view! {
        <div
            class="import-report"
            data-testid="import-report"
            data-cancelled=report.cancelled.to_string()
            data-sessions=progress.sessions.to_string()
        >
            <strong>{headline}</strong>
            <p class="import-report-summary">{summary}</p>
            {(!problems.is_empty()).then(|| view! {
                <p class="import-report-problems-head">
                    {format!("{} problem{}:", problems.len(), if problems.len() == 1 { "" } else { "s" })}
                </p>
                <ul class="import-problems">
                    {problems
                        .into_iter()
                        .map(|p| view! {
                            <li data-testid="import-problem">
                                <code>{problem_place(&p)}</code>
                                " "
                                {p.reason}
                            </li>
                        })
                        .collect_view()}
                </ul>
            })}
        </div>
    }
}

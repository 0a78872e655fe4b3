//! The `/search` pane: search every stored transcript (Ctrl/Cmd+Shift+F, or the sidebar's
//! "Search all sessions"). `search-all-input` searches as the user types; filters narrow by
//! project, agent, kind of text and dates; results come grouped by session, each hit a
//! `search-result` (`data-session-id`, `data-seq`) whose snippet marks the matches with
//! `<mark>` (text nodes only, never HTML). Choosing a hit opens its session at that entry.

use super::use_store;
use crate::client::actions::session_path;
use crate::client::format::date_time;
use crate::client::projects::project_of;
use crate::client::shortcuts::focus_testid;
use crate::client::transcript_search::{open_hit, run_search, snippet_pieces, SearchOutcome};
use crate::protocol::{AgentId, ProjectId, SearchGroup, SearchHit, SearchOrder, SearchRole};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// How long typing must pause before the search is sent.
const TYPING_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

/// The search pane.
#[component]
pub fn SearchPane() -> impl IntoView {
    let store = use_store();
    // This pane reads frames the shell holds undecoded (`client::pane_frames`).
    crate::client::pane_frames::read_search_as_they_come(store);
    let state = store.search;
    let query = use_query_map();
    // `?q=` (from the sidebar) fills the box; the server and the hydrating browser read the
    // same address, so both render the same.
    let asked = query.with_untracked(|q| q.get("q"));
    if let Some(text) = asked.filter(|t| *t != state.text.get_untracked()) {
        state.text.set(text);
    }
    // Each change bumps the generation; a pending search of an older one is not sent.
    let generation = StoredValue::new(0u64);
    let search_after = move |pause: std::time::Duration| {
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        set_timeout(
            move || {
                if generation.try_get_value() == Some(mine) {
                    run_search(store);
                }
            },
            pause,
        );
    };
    let search_now = move || search_after(std::time::Duration::ZERO);
    // In the browser: search what the box holds on opening, and again when the sidebar
    // brings other words while the pane is open.
    Effect::new(move |previous: Option<Option<String>>| {
        let asked = query.with(|q| q.get("q"));
        if let Some(text) = asked.clone().filter(|t| *t != state.text.get_untracked()) {
            state.text.set(text);
        }
        if previous.is_none() || previous.as_ref() != Some(&asked) {
            search_now();
        }
        if previous.is_none() {
            // In the next frame: a pane whose code was just fetched is mounted after its
            // effects first run.
            request_animation_frame(|| focus_testid("search-all-input"));
        }
        asked
    });
    let on_input = move |ev: leptos::ev::Event| {
        state.text.set(event_target_value(&ev));
        search_after(TYPING_PAUSE);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" {
            ev.prevent_default();
            search_now();
        }
    };
    view! {
        <section class="search-pane" data-testid="search-pane">
            <div class="search-card">
                <h1>"Search all sessions"</h1>
                <input
                    type="search"
                    class="search-all-input"
                    data-testid="search-all-input"
                    placeholder="Words, \"an exact phrase\", prefix*"
                    aria-label="Search every session's transcript"
                    autocomplete="off"
                    spellcheck="false"
                    prop:value=move || state.text.get()
                    value=state.text.get_untracked()
                    on:input=on_input
                    on:keydown=on_key
                />
                <SearchFilters on_change=search_now/>
                <SearchStatus/>
                <SearchResults/>
            </div>
        </section>
    }
}

/// Project, agent, kind of text, date range and order. Each change searches at once.
#[component]
fn SearchFilters(on_change: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let store = use_store();
    let state = store.search;
    let projects = move || {
        store.projects.with(|list| {
            list.iter()
                .map(|p| (p.id.to_string(), p.name.clone()))
                .collect::<Vec<_>>()
        })
    };
    let agents = move || {
        store.agents.with(|list| {
            list.iter()
                .map(|a| (a.id.0.clone(), a.label.clone()))
                .collect::<Vec<_>>()
        })
    };
    let set_order = move |order: SearchOrder| {
        if state.order.get_untracked() != order {
            state.order.set(order);
            on_change();
        }
    };
    let order_button = move |order: SearchOrder, label: &'static str| {
        view! {
            <button
                type="button"
                class="search-order-button"
                data-testid="search-order"
                data-order=match order { SearchOrder::Newest => "newest", SearchOrder::Relevance => "relevance" }
                aria-pressed=move || if state.order.get() == order { "true" } else { "false" }
                on:click=move |_| set_order(order)
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="search-filters">
            <label class="search-filter">
                <span>"Project"</span>
                <select
                    data-testid="search-project"
                    on:change=move |ev| {
                        state.project.set(ProjectId::parse(&event_target_value(&ev)));
                        on_change();
                    }
                >
                    <option value="" selected=move || state.project.with(Option::is_none)>"Any"</option>
                    <For
                        each=projects
                        key=|(id, name)| (id.clone(), name.clone())
                        children=move |(id, name)| view! {
                            <option
                                value=id.clone()
                                selected=move || state.project.with(|p| p.is_some_and(|p| p.to_string() == id))
                            >
                                {name}
                            </option>
                        }
                    />
                </select>
            </label>
            <label class="search-filter">
                <span>"Agent"</span>
                <select
                    data-testid="search-agent"
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        state.agent.set((!value.is_empty()).then_some(AgentId(value)));
                        on_change();
                    }
                >
                    <option value="" selected=move || state.agent.with(Option::is_none)>"Any"</option>
                    <For
                        each=agents
                        key=|(id, _)| id.clone()
                        children=move |(id, label)| view! {
                            <option
                                value=id.clone()
                                selected=move || state.agent.with(|a| a.as_ref().is_some_and(|a| a.0 == id))
                            >
                                {label}
                            </option>
                        }
                    />
                </select>
            </label>
            <label class="search-filter">
                <span>"Text"</span>
                <select
                    data-testid="search-role"
                    on:change=move |ev| {
                        state.role.set(SearchRole::from_name(&event_target_value(&ev)));
                        on_change();
                    }
                >
                    <option value="" selected=move || state.role.with(Option::is_none)>"Any"</option>
                    {SearchRole::ALL
                        .into_iter()
                        .map(|role| view! {
                            <option value=role.name() selected=move || state.role.get() == Some(role)>
                                {role_label(role)}
                            </option>
                        })
                        .collect_view()}
                </select>
            </label>
            <label class="search-filter">
                <span>"From"</span>
                <input
                    type="date"
                    data-testid="search-since"
                    prop:value=move || state.since.get()
                    on:change=move |ev| {
                        state.since.set(event_target_value(&ev));
                        on_change();
                    }
                />
            </label>
            <label class="search-filter">
                <span>"Until"</span>
                <input
                    type="date"
                    data-testid="search-until"
                    prop:value=move || state.until.get()
                    on:change=move |ev| {
                        state.until.set(event_target_value(&ev));
                        on_change();
                    }
                />
            </label>
            <div class="search-order" role="group" aria-label="Order">
                {order_button(SearchOrder::Newest, "Newest")}
                {order_button(SearchOrder::Relevance, "Best match")}
            </div>
        </div>
    }
}

/// A kind of text as people say it.
fn role_label(role: SearchRole) -> &'static str {
    match role {
        SearchRole::User => "Your messages",
        SearchRole::Assistant => "Answers",
        SearchRole::Thinking => "Thinking",
        SearchRole::Tool => "Tool calls",
    }
}

/// One line on how the search stands: searching, how many hits, no match, or why the query
/// cannot be read (`search-error`).
#[component]
fn SearchStatus() -> impl IntoView {
    let store = use_store();
    let outcome = store.search.outcome;
    move || match outcome.get() {
        SearchOutcome::Idle => view! {
            <p class="search-status">
                "Type to search every session, ended ones too. Ctrl+Shift+F opens this page."
            </p>
        }
        .into_any(),
        SearchOutcome::Searching => view! {
            <p class="search-status" role="status">"Searching…"</p>
        }
        .into_any(),
        SearchOutcome::Failed(message) => view! {
            <p class="search-error" data-testid="search-error" role="alert">{message}</p>
        }
        .into_any(),
        SearchOutcome::Results { groups, more } => {
            let hits: usize = groups.iter().map(|g| g.hits.len()).sum();
            let text = match (hits, more) {
                (0, _) => "No session has these words.".to_owned(),
                (n, false) => format!(
                    "{n} match{} in {} session{}.",
                    if n == 1 { "" } else { "es" },
                    groups.len(),
                    if groups.len() == 1 { "" } else { "s" }
                ),
                (n, true) => format!("The first {n} matches; narrow the search for the rest."),
            };
            let testid = if hits == 0 {
                "search-empty"
            } else {
                "search-count"
            };
            view! { <p class="search-status" data-testid=testid role="status">{text}</p> }
                .into_any()
        }
    }
}

/// The hits, grouped by session (the previous answer stays while the next one is on its way).
#[component]
fn SearchResults() -> impl IntoView {
    let store = use_store();
    let groups =
        Memo::new(
            move |previous: Option<&Vec<SearchGroup>>| match store.search.outcome.get() {
                SearchOutcome::Results { groups, .. } => groups,
                SearchOutcome::Searching => previous.cloned().unwrap_or_default(),
                SearchOutcome::Idle | SearchOutcome::Failed(_) => Vec::new(),
            },
        );
    view! {
        <ol class="search-groups" data-testid="search-results">
            {move || {
                groups
                    .get()
                    .into_iter()
                    .map(|group| view! { <ResultGroup group/> })
                    .collect_view()
            }}
        </ol>
    }
}

/// One session's hits under its title, agent and project.
#[component]
fn ResultGroup(group: SearchGroup) -> impl IntoView {
    let store = use_store();
    let project = group.project.and_then(|id| {
        store
            .projects
            .with_untracked(|list| project_of(list, Some(id)).map(|p| p.name.clone()))
    });
    let agent = store.agent_info(&group.agent).label;
    let SearchGroup {
        session,
        title,
        archived,
        hits,
        ..
    } = group;
    view! {
        <li class="search-group" data-testid="search-group" data-session-id=session.to_string()>
            <div class="search-group-head">
                <span class="search-group-title">{title}</span>
                <span class="agent-label">{agent}</span>
                {project.map(|name| view! { <span class="search-group-project">{name}</span> })}
                {archived.then(|| view! {
                    <span
                        class="search-archived"
                        data-testid="search-archived"
                        title="This session was ended: its transcript is searchable but cannot be opened"
                    >
                        "Ended · cannot be opened"
                    </span>
                })}
            </div>
            <ul class="search-hits">
                {hits
                    .into_iter()
                    .map(|hit| view! { <HitRow session hit archived/> })
                    .collect_view()}
            </ul>
        </li>
    }
}

/// One hit: its kind, when, and the snippet. A link to its entry, unless the session ended.
#[component]
fn HitRow(session: crate::protocol::SessionId, hit: SearchHit, archived: bool) -> impl IntoView {
    let store = use_store();
    let SearchHit {
        seq,
        role,
        at_ms,
        snippet,
    } = hit;
    let body = view! {
        <span class="search-hit-meta">
            <span class="search-hit-role" data-role=role.name()>{role_label(role)}</span>
            <span class="search-hit-when">{date_time(at_ms)}</span>
        </span>
        <SnippetText snippet/>
    };
    let row = if archived {
        view! {
            <div
                class="search-result archived"
                data-testid="search-result"
                data-session-id=session.to_string()
                data-seq=seq.0.to_string()
                aria-disabled="true"
                title="This session was ended; it cannot be opened"
            >
                {body}
            </div>
        }
        .into_any()
    } else {
        view! {
            <a
                class="search-result"
                data-testid="search-result"
                data-session-id=session.to_string()
                data-seq=seq.0.to_string()
                href=session_path(session)
                data-noscroll=""
                on:click=move |_| open_hit(store, session, seq)
            >
                {body}
            </a>
        }
        .into_any()
    };
    view! { <li>{row}</li> }
}

/// A snippet with its matches in `<mark>`: the runs are text nodes, so whatever the
/// transcript held (markup, scripts) shows as text.
#[component]
pub fn SnippetText(snippet: String) -> impl IntoView {
    let pieces = snippet_pieces(&snippet);
    view! {
        <span class="search-snippet" data-testid="search-snippet">
            {pieces
                .into_iter()
                .map(|(matched, text)| {
                    if matched {
                        view! { <mark>{text}</mark> }.into_any()
                    } else {
                        view! { <span>{text}</span> }.into_any()
                    }
                })
                .collect_view()}
        </span>
    }
}

//! The HTML shell, the routes (`/`, `/s/:id`, whose id is the active tab, `/doctor`,
//! `/settings`, `/search`, `/import` and `/usage`)
//! and the server functions that give SSR the session list, the Doctor its report and the
//! Usage page its figures.

use crate::components::compare::ComparePane;
use crate::components::doctor::DoctorPane;
use crate::components::import::ImportPane;
use crate::components::search::SearchPane;
use crate::components::settings::SettingsPane;
use crate::components::usage::UsagePane;
use crate::components::workspace::{EmptyPane, SessionRoute, Workspace};
use crate::protocol::{AgentInfo, Session};
use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

/// The stylesheet's address: content-hashed in a release build (see `server::assets`).
fn stylesheet_href() -> String {
    #[cfg(feature = "ssr")]
    return crate::server::assets::stylesheet_href();
    #[cfg(not(feature = "ssr"))]
    "/pkg/switchboard.css".to_owned()
}

/// The whole HTML document, rendered by the server around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                // No DNS prefetch of links in agent output (also sent as a header).
                <meta http-equiv="x-dns-prefetch-control" content="off"/>
                <meta name="viewport" content="width=device-width, initial-scale=1, interactive-widget=resizes-content"/>
                <meta name="color-scheme" content="light dark"/>
                <meta name="theme-color" media="(prefers-color-scheme: light)" content="#f6f7f9"/>
                <meta name="theme-color" media="(prefers-color-scheme: dark)" content="#0f1115"/>
                <title>"Switchboard"</title>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" href=stylesheet_href()/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The app: one store for the page, and the routes. All routes share the
/// [`Workspace`] layout, so switching tabs (or opening the Doctor) only swaps the pane.
#[component]
pub fn App() -> impl IntoView {
    provide_context(crate::client::Store::new());
    view! {
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                <ParentRoute path=path!("") view=Workspace>
                    <Route path=path!("") view=EmptyPane/>
                    <Route path=path!("s/:id") view=SessionRoute/>
                    <Route path=path!("c/:id") view=ComparePane/>
                    <Route path=path!("doctor") view=DoctorPane/>
                    <Route path=path!("usage") view=UsagePane/>
                    <Route path=path!("settings") view=SettingsPane/>
                    <Route path=path!("search") view=SearchPane/>
                    <Route path=path!("import") view=ImportPane/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Every session that is not archived and every project, for the first paint (the
/// socket's `Connected` frame replaces them later).
#[server]
pub async fn list_sessions() -> Result<(Vec<Session>, Vec<crate::protocol::Project>), ServerFnError>
{
    crate::server::sessions_from_context()
}

/// The Doctor's report: every agent this server knows, installed or not, with the version
/// each installed one gives now and the install command of each missing one.
#[server]
pub async fn agent_report() -> Result<Vec<AgentInfo>, ServerFnError> {
    crate::server::agent_report_from_context().await
}

/// This server's browser logins, the asking one marked.
#[server]
pub async fn list_logins() -> Result<Vec<crate::protocol::LoginInfo>, ServerFnError> {
    crate::server::logins_from_context().await
}

/// The Doctor's line on git: found (path, version) or why not.
#[server]
pub async fn git_report() -> Result<crate::protocol::GitInfo, ServerFnError> {
    crate::server::git_report_from_context()
}

/// The budgets that apply to a session (its own, its project's, today's) and what was
/// spent against each.
#[server]
pub async fn budget_lines(
    session: String,
) -> Result<Vec<crate::protocol::BudgetLine>, ServerFnError> {
    crate::server::budget_lines_from_context(&session)
}

/// Where agents run: the runner's pid, version and health (or "embedded").
#[server]
pub async fn runner_report() -> Result<crate::protocol::RunnerHealth, ServerFnError> {
    crate::server::runner_report_from_context().await
}

/// The Usage page's report: what finished turns spent from `from` to `to` (`YYYY-MM-DD`, UTC
/// days, both included) per day, project and agent. A date that is not one, a period that
/// ends before it starts or one longer than 366 days is refused with a sentence saying so.
#[server]
pub async fn usage_for_period(
    from: String,
    to: String,
) -> Result<crate::protocol::UsageReport, ServerFnError> {
    let period = crate::protocol::UsagePeriod { from, to };
    let (from, to) = period.days().map_err(ServerFnError::new)?;
    let registry = use_context::<std::sync::Arc<crate::server::registry::Registry>>()
        .ok_or_else(|| ServerFnError::new("the session registry is not available"))?;
    registry.db().usage_report(from, to).await.map_err(|error| {
        tracing::warn!(%error, %from, %to, "usage report failed");
        ServerFnError::new(format!("The spending could not be read: {error}"))
    })
}

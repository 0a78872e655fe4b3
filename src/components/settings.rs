//! The `/settings` pane: this server's browser logins (`login-list`, one `login-item`
//! each, this browser marked) and the two ways out: Sign out (this browser) and Sign out
//! everywhere. Plain forms that post, so they work before the page's code has loaded.
//! Below them, the API tokens (`api_tokens`).

use crate::app::list_logins;
use crate::protocol::LoginInfo;
use leptos::prelude::*;

/// The Settings page.
#[component]
pub fn SettingsPane() -> impl IntoView {
    let logins = OnceResource::new(list_logins());
    view! {
        <section class="doctor-pane settings-pane" data-testid="settings">
            <div class="doctor-card">
                <h1>"Settings"</h1>
                <h2 class="doctor-subhead">"Logins"</h2>
                <p class="doctor-intro">
                    "Browsers logged in to this server. A login lasts 30 days after its last \
                     use; signing out ends it on the server, so its cookie stops working \
                     wherever it went."
                </p>
                <Suspense fallback=|| view! { <p class="doctor-loading">"Reading logins…"</p> }>
                    {move || Suspend::new(async move {
                        match logins.await {
                            Ok(list) => view! { <LoginList list/> }.into_any(),
                            Err(error) => view! {
                                <p class="doctor-error" role="alert">
                                    {format!("Could not read the logins: {error}")}
                                </p>
                            }
                            .into_any(),
                        }
                    })}
                </Suspense>
                <div class="sign-out-actions">
                    <form method="post" action="/logout">
                        <button type="submit" class="secondary" data-testid="sign-out">
                            "Sign out"
                        </button>
                    </form>
                    <form method="post" action="/logout-all">
                        <button type="submit" class="danger" data-testid="sign-out-everywhere">
                            "Sign out everywhere"
                        </button>
                    </form>
                </div>
                <super::api_tokens::ApiTokens/>
            </div>
        </section>
    }
}

#[component]
fn LoginList(list: Vec<LoginInfo>) -> impl IntoView {
    let empty = list.is_empty();
    view! {
        <ul class="login-list" data-testid="login-list">
            {list
                .into_iter()
                .map(|login| {
                    let when = format!(
                        "logged in {}, last used {}",
                        crate::client::format::date_time(login.created_at_ms),
                        crate::client::format::date_time(login.last_used_ms)
                    );
                    view! {
                        <li
                            class="login-item"
                            data-testid="login-item"
                            data-current=login.current.to_string()
                        >
                            <strong>{browser_name(&login.user_agent)}</strong>
                            {login.current.then(|| view! { <span class="login-current">"this browser"</span> })}
                            <span class="login-when">{when}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        {empty.then(|| view! { <p class="doctor-intro">"No browser is logged in (this page was reached with the token)."</p> })}
    }
}

/// A short name for a User-Agent ("Chrome on Linux"), or the start of it.
fn browser_name(agent: &str) -> String {
    let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/"]
        .iter()
        .find(|marker| agent.contains(**marker))
        .map(|marker| match *marker {
            "Edg/" => "Edge",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            _ => "Safari",
        });
    let system = ["Android", "iPhone", "iPad", "Mac OS X", "Windows", "Linux"]
        .iter()
        .find(|marker| agent.contains(**marker))
        .map(|marker| match *marker {
            "Mac OS X" => "macOS",
            other => other,
        });
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        _ if agent.is_empty() => "Unknown browser".to_owned(),
        _ => agent.chars().take(60).collect(),
    }
}

//! Settings > API tokens (`api-tokens`): make a named token for scripts (its secret shown
//! once, `api-token-secret`, with a Copy button), list them (`api-token-row`: name, made,
//! last used, revoked) and revoke one (`api-token-revoke`). Through server functions, as
//! the rest of Settings.

use crate::app::{create_api_token, list_api_tokens, revoke_api_token};
use crate::protocol::{ApiTokenInfo, NewApiToken};
use leptos::prelude::*;

/// The API tokens section.
#[component]
pub fn ApiTokens() -> impl IntoView {
    let create = Action::new(|name: &String| create_api_token(name.clone()));
    let revoke = Action::new(|id: &String| revoke_api_token(id.clone()));
    // The list is read again after each token made or revoked.
    let version = move || (create.version().get(), revoke.version().get());
    let tokens = Resource::new(version, |_| list_api_tokens());
    view! {
        <section class="api-tokens" data-testid="api-tokens">
            <h2 class="doctor-subhead">"API tokens"</h2>
            <p class="doctor-intro">
                "Tokens for scripts and the command line (" <code>"switchboard send"</code>
                ", " <code>"sessions"</code> ", " <code>"tail"</code>
                "), sent as " <code>"Authorization: Bearer <token>"</code> " to "
                <code>"/api/v1"</code>
                ". A token is shown once, when it is made; only its hash is kept."
            </p>
            <NameForm
                placeholder="Name, e.g. CI job"
                input_id="api-token-name"
                button_id="api-token-create"
                label="Create token"
                busy=create.pending()
                on_name=Callback::new(move |name: String| {
                    create.dispatch(name);
                })
            />
            {move || create.value().get().map(|made| match made {
                Ok(made) => view! { <NewToken made/> }.into_any(),
                Err(error) => view! {
                    <p class="doctor-error" role="alert">{error.to_string()}</p>
                }
                .into_any(),
            })}
            {move || revoke.value().get().and_then(Result::err).map(|error| view! {
                <p class="doctor-error" role="alert">{error.to_string()}</p>
            })}
            <Suspense fallback=|| view! { <p class="doctor-loading">"Reading tokens…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) => view! { <TokenList list revoke/> }.into_any(),
                        Err(error) => view! {
                            <p class="doctor-error" role="alert">
                                {format!("Could not read the tokens: {error}")}
                            </p>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// A one-field form naming something to make (an API token, a machine): the field
/// (`input_id`, up to 100 characters) and the button (`button_id`, off while the name is
/// blank or `busy`). The name goes to `on_name`, and the field empties.
#[component]
pub fn NameForm(
    placeholder: &'static str,
    input_id: &'static str,
    button_id: &'static str,
    label: &'static str,
    #[prop(into)] busy: Signal<bool>,
    on_name: Callback<String>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    view! {
        <form
            class="api-token-form"
            on:submit=move |event| {
                event.prevent_default();
                on_name.run(name.get_untracked());
                name.set(String::new());
            }
        >
            <input
                type="text"
                placeholder=placeholder
                maxlength="100"
                data-testid=input_id
                prop:value=move || name.get()
                on:input=move |event| name.set(event_target_value(&event))
            />
            <button
                type="submit"
                data-testid=button_id
                disabled=move || busy.get() || name.with(|n| n.trim().is_empty())
            >
                {label}
            </button>
        </form>
    }
}

/// The token just made, with its secret (this once) and a Copy button.
#[component]
fn NewToken(made: NewApiToken) -> impl IntoView {
    let message = format!(
        "Token \u{201c}{}\u{201d} made. Copy it now: it is not shown again.",
        made.info.name
    );
    view! {
        <ShownOnce message secret=made.secret secret_id="api-token-secret" copy_id="api-token-copy"/>
    }
}

/// A secret shown once (`secret_id`), under `message`, with a Copy button (`copy_id`) that
/// says whether the copy worked.
#[component]
pub fn ShownOnce(
    message: String,
    secret: String,
    secret_id: &'static str,
    copy_id: &'static str,
) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let text = secret.clone();
    let on_copy = move |_| {
        #[cfg(feature = "hydrate")]
        crate::client::clipboard::copy_text(&text, move |removed| {
            let _ = copied.try_set(Some(removed.is_some()));
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
    };
    view! {
        <div class="api-token-new" role="status">
            <p>{message}</p>
            <code class="api-token-secret" data-testid=secret_id>{secret}</code>
            <button type="button" class="secondary" data-testid=copy_id on:click=on_copy>
                {move || match copied.get() {
                    Some(true) => "Copied",
                    Some(false) => "Copy failed",
                    None => "Copy",
                }}
            </button>
        </div>
    }
}

#[component]
fn TokenList(
    list: Vec<ApiTokenInfo>,
    revoke: Action<String, Result<(), ServerFnError>>,
) -> impl IntoView {
    let empty = list.is_empty();
    view! {
        <ul class="login-list api-token-list">
            {list
                .into_iter()
                .map(|token| {
                    let last = token
                        .last_used_ms
                        .map_or_else(|| "never used".to_owned(), |ms| {
                            format!("last used {}", crate::client::format::date_time(ms))
                        });
                    let when = format!(
                        "made {}, {last}",
                        crate::client::format::date_time(token.created_at_ms)
                    );
                    let revoked = token.revoked_at_ms.map(|ms| {
                        format!("revoked {}", crate::client::format::date_time(ms))
                    });
                    let id = token.id.clone();
                    view! {
                        <li
                            class="login-item"
                            data-testid="api-token-row"
                            data-token-id=token.id.clone()
                            data-revoked=token.revoked_at_ms.is_some().to_string()
                        >
                            <strong>{token.name.clone()}</strong>
                            {token.local.then(|| view! { <span class="login-current">"this machine's command line"</span> })}
                            <span class="login-when">{when}</span>
                            {match revoked {
                                Some(revoked) => view! { <span class="login-when">{revoked}</span> }.into_any(),
                                None => view! {
                                    <button
                                        type="button"
                                        class="danger"
                                        data-testid="api-token-revoke"
                                        disabled=move || revoke.pending().get()
                                        on:click=move |_| {
                                            revoke.dispatch(id.clone());
                                        }
                                    >
                                        "Revoke"
                                    </button>
                                }
                                .into_any(),
                            }}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        {empty.then(|| view! { <p class="doctor-intro">"No API tokens yet."</p> })}
    }
}

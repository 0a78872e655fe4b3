//! The `/machines` pane: other hosts whose runners connect to this server. Make a one-time
//! enrollment code (`machine-name`, `machine-enroll`; the command to run on the machine,
//! `enrollment-command`, shown once with a Copy button), list the machines
//! (`machine-list`, one `machine-row` each: name, host, version, state, agents, load,
//! projects, last contact) and revoke one (`machine-revoke`). Read again every 5 s, so a
//! machine's coming and going shows.

use crate::app::{create_enrollment, list_machines, revoke_machine};
use crate::components::api_tokens::{NameForm, ShownOnce};
use crate::components::use_store;
use crate::protocol::{MachineInfo, NewEnrollment};
use leptos::prelude::*;

/// How often the list is read again while the page is open, in ms.
const REFRESH_MS: u32 = 5_000;

/// The Machines page.
#[component]
pub fn MachinesPane() -> impl IntoView {
    let create = Action::new(|name: &String| create_enrollment(name.clone()));
    let revoke = Action::new(|id: &String| revoke_machine(id.clone()));
    let tick = RwSignal::new(0u32);
    // Only in the browser (effects do not run on the server).
    Effect::new(move |_| {
        let every = std::time::Duration::from_millis(u64::from(REFRESH_MS));
        let handle = set_interval_with_handle(
            move || {
                let _ = tick.try_update(|n| *n += 1);
            },
            every,
        )
        .ok();
        on_cleanup(move || {
            if let Some(handle) = handle {
                handle.clear();
            }
        });
    });
    let version = move || (create.version().get(), revoke.version().get(), tick.get());
    let machines = Resource::new(version, |_| list_machines());
    view! {
        <section class="doctor-pane machines-pane" data-testid="machines">
            <div class="doctor-card">
                <h1>"Machines"</h1>
                <p class="doctor-intro">
                    "Other hosts whose agents this server runs: a build box, a laptop. A \
                     machine runs " <code>"switchboard runner"</code>
                    ", which dials this server, so it needs no open port. Make a code \
                     here, run the command it gives on the machine (once), then add a \
                     project on that machine from the sidebar. Codes work once, for an hour."
                </p>
                <NameForm
                    placeholder="Machine name, e.g. build box"
                    input_id="machine-name"
                    button_id="machine-enroll"
                    label="Make an enrollment code"
                    busy=create.pending()
                    on_name=Callback::new(move |name: String| {
                        create.dispatch(name);
                    })
                />
                {move || create.value().get().map(|made| match made {
                    Ok(made) => view! { <NewCode made/> }.into_any(),
                    Err(error) => view! {
                        <p class="doctor-error" role="alert">{error.to_string()}</p>
                    }
                    .into_any(),
                })}
                {move || revoke.value().get().and_then(Result::err).map(|error| view! {
                    <p class="doctor-error" role="alert">{error.to_string()}</p>
                })}
                <Transition fallback=|| view! { <p class="doctor-loading">"Reading machines…"</p> }>
                    {move || Suspend::new(async move {
                        match machines.await {
                            Ok(list) => view! { <MachineList list revoke/> }.into_any(),
                            Err(error) => view! {
                                <p class="doctor-error" role="alert">
                                    {format!("Could not read the machines: {error}")}
                                </p>
                            }
                            .into_any(),
                        }
                    })}
                </Transition>
            </div>
        </section>
    }
}

/// The command that enrolls a machine with a code just made, for this server's address.
fn enroll_command(code: &str) -> String {
    #[cfg(feature = "hydrate")]
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    #[cfg(not(feature = "hydrate"))]
    let origin = String::from("https://THIS-SERVER");
    let plain = if origin.starts_with("http://") {
        " --insecure-plain"
    } else {
        ""
    };
    format!("switchboard runner --server {origin} --enroll {code}{plain}")
}

/// The code just made, as the command to run on the machine, with a Copy button.
#[component]
fn NewCode(made: NewEnrollment) -> impl IntoView {
    let until = crate::client::format::date_time(made.expires_at_ms);
    let message = format!(
        "Run this on \u{201c}{}\u{201d} (the code works once, until {until}; it is not shown again):",
        made.name
    );
    view! {
        <ShownOnce
            message
            secret=enroll_command(&made.code)
            secret_id="enrollment-command"
            copy_id="enrollment-copy"
        />
    }
}

/// A machine's state in words.
fn state_words(machine: &MachineInfo) -> (&'static str, &'static str) {
    match (
        machine.revoked_at_ms,
        machine.connected,
        machine.unreachable,
    ) {
        (Some(_), _, _) => ("revoked", "Revoked"),
        (None, true, _) => ("connected", "Connected"),
        (None, false, true) => ("unreachable", "Unreachable"),
        (None, false, false) => ("offline", "Not connected"),
    }
}

#[component]
fn MachineList(
    list: Vec<MachineInfo>,
    revoke: Action<String, Result<(), ServerFnError>>,
) -> impl IntoView {
    let store = use_store();
    let empty = list.is_empty();
    view! {
        <ul class="login-list machine-list" data-testid="machine-list">
            {list
                .into_iter()
                .map(|machine| {
                    let (state, words) = state_words(&machine);
                    let id = machine.id.clone();
                    let projects = {
                        let id = id.clone();
                        move || {
                            store.projects.with(|projects| {
                                projects
                                    .iter()
                                    .filter(|p| p.machine.as_deref() == Some(id.as_str()))
                                    .map(|p| p.name.clone())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            })
                        }
                    };
                    let about = [
                        machine.host.clone(),
                        machine.version.as_ref().map(|v| format!("Switchboard {v}")),
                        Some(format!("{} agent(s)", machine.agents)),
                        machine.load.map(|load| format!("load {load:.2}")),
                        Some(machine.last_contact_ms.map_or_else(
                            || "never connected".to_owned(),
                            |ms| format!("last contact {}", crate::client::format::date_time(ms)),
                        )),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · ");
                    let revoked = machine.revoked_at_ms.is_some();
                    view! {
                        <li
                            class="login-item machine-row"
                            data-testid="machine-row"
                            data-machine-id=machine.id.clone()
                            data-state=state
                        >
                            <strong>{machine.name.clone()}</strong>
                            <span class="machine-state" data-state=state>{words}</span>
                            <span class="login-when">{about}</span>
                            <span class="login-when" data-testid="machine-projects">
                                {move || match projects() {
                                    names if names.is_empty() => "no projects".to_owned(),
                                    names => format!("projects: {names}"),
                                }}
                            </span>
                            {(!revoked).then(|| view! {
                                <button
                                    type="button"
                                    class="danger"
                                    data-testid="machine-revoke"
                                    disabled=move || revoke.pending().get()
                                    on:click=move |_| {
                                        revoke.dispatch(id.clone());
                                    }
                                >
                                    "Revoke"
                                </button>
                            })}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        {empty.then(|| view! { <p class="doctor-intro">"No machines yet."</p> })}
    }
}

//! The HTML shell, the routes (`/`, `/s/:id`, whose id is the active tab, `/doctor`,
//! `/settings`, `/search`, `/import` and `/usage`)
//! and the server functions that give SSR the session list, the Doctor its report and the
//! Usage page its figures.

use crate::components::conversation_route::ConversationRoute;
use crate::components::deferred::LoadFailedNotice;
use crate::components::panes::{preload_tool_page, tool_page, Conversation, ToolPage};
use crate::components::workspace::{EmptyPane, Workspace};
use crate::protocol::AgentInfo;
use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, Lazy, LazyRoute, SsrMode};

/// The stylesheet's address: content-hashed in a release build (see `server::assets`).
fn stylesheet_href() -> String {
    #[cfg(feature = "ssr")]
    return crate::server::assets::stylesheet_href();
    #[cfg(not(feature = "ssr"))]
    "/pkg/switchboard.css".to_owned()
}

/// The app's icon (`public/favicon.svg`, 455 bytes) as a `data:` address: one request
/// fewer, and 0.8 KB fewer (with its headers) sharing the network with the first load,
/// for about 200 bytes more of compressed page.
fn icon_href() -> String {
    const SVG: &str = include_str!("../public/favicon.svg");
    let mut href = String::from("data:image/svg+xml,");
    for c in SVG.trim().chars() {
        match c {
            '#' => href.push_str("%23"),
            '%' => href.push_str("%25"),
            '"' => href.push('\''),
            '<' => href.push_str("%3C"),
            '>' => href.push_str("%3E"),
            c => href.push(c),
        }
    }
    href
}

/// Preload links for the split WASM modules the requested page renders (its lazy pane), so
/// they download alongside the main module rather than after it has run. Low priority: the
/// stylesheet, which holds the first paint, goes first.
#[cfg(feature = "ssr")]
fn split_preloads(options: &LeptosOptions) -> impl IntoView {
    let path = use_context::<axum::http::request::Parts>()
        .map(|parts| parts.uri.path().to_owned())
        .unwrap_or_default();
    let pkg_dir = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let preloads = crate::components::panes::split_point_for_path(&path)
        .and_then(|point| crate::server::assets::split_preloads(&pkg_dir, point));
    preloads.map(|preloads| {
        view! {
            <link rel="modulepreload" href=preloads.loader crossorigin="anonymous"/>
            {preloads
                .modules
                .into_iter()
                .map(|href| {
                    view! {
                        <link rel="preload" href=href r#as="fetch" r#type="application/wasm" crossorigin="anonymous" fetchpriority="low"/>
                    }
                })
                .collect_view()}
        }
    })
}

#[cfg(not(feature = "ssr"))]
fn split_preloads(_options: &LeptosOptions) -> impl IntoView {}

/// The panes' stylesheet of a build that split it off (`style/main.css`'s `@pane-styles`
/// part): linked on every page but `/`, which shows no pane; there it is named in a
/// `<meta>` and fetched once the page is live (`components::warm`), so the first load does
/// not share the network with it (6 KB brotli). A build that did not split has none.
#[cfg(feature = "ssr")]
#[component]
fn PaneStyles() -> impl IntoView {
    let path = use_context::<axum::http::request::Parts>()
        .map(|parts| parts.uri.path().to_owned())
        .unwrap_or_default();
    crate::server::assets::pane_stylesheet_href().map(|href| {
        if path == "/" {
            view! { <meta name=crate::client::PANE_STYLES content=href/> }.into_any()
        } else {
            view! { <link rel="stylesheet" href=href/> }.into_any()
        }
    })
}

#[cfg(not(feature = "ssr"))]
#[component]
fn PaneStyles() -> impl IntoView {}

/// Opens the page's WebSocket from the document's head and says `Hello` on it (resuming
/// nothing), so the handshake and the server's `Connected` (the session list) overlap the
/// WASM's download instead of following it; the app adopts the socket, with what arrived
/// meanwhile, when it starts (`client::socket`), and subscribes its open tabs then. The
/// `Hello` is written here, by the server, from the protocol's own type; only the tab's id
/// (fresh per page, as the app's own would be) is handed to the app. A page whose app does
/// not start within [`EARLY_SOCKET_TTL_MS`] closes the socket (and the app, if it starts
/// later, opens its own).
#[component]
fn EarlySocket() -> impl IntoView {
    let client = crate::protocol::ClientId(crate::client::ids::new_uuid());
    let hello = crate::protocol::ClientFrame::Hello {
        client_id: client,
        resume: Vec::new(),
    };
    // JSON text as a JS string literal: a UUID and fixed words, so nothing to escape.
    let hello = serde_json::to_string(&serde_json::to_string(&hello).unwrap_or_default())
        .unwrap_or_default();
    let script = format!(
        "(function(){{var s=new WebSocket((location.protocol==='https:'?'wss://':'ws://')+location.host+'/ws'),\
        o={{socket:s,received:[],hello:false,client:'{client}'}};\
        s.onopen=function(){{s.send({hello});o.hello=true}};\
        s.onmessage=function(e){{o.received.push(e.data)}};\
        window.{name}=o;\
        setTimeout(function(){{if(window.{name}===o){{delete window.{name};s.close()}}}},{EARLY_SOCKET_TTL_MS})}})()",
        client = client.0,
        name = crate::client::EARLY_SOCKET,
    );
    view! { <script nonce=use_nonce()>{script}</script> }
}

/// How long the head's socket waits for the app to adopt it (see [`EarlySocket`]).
const EARLY_SOCKET_TTL_MS: u32 = 60_000;

/// Holds back, from the page's first moment until a conversation pane is built in the
/// browser (`conversation_route`), what would lose a message typed into the server's
/// composer: Enter (which would add a line) and the form's submit (a native submit reloads
/// the page). It marks the body instead, and the built composer sends. Only the composer's
/// textarea and form; every other form keeps its native behaviour.
#[component]
fn EarlyInput() -> impl IntoView {
    use crate::components::conversation_route::{
        COMPOSER_FORM, COMPOSER_INPUT, PANE_AT, SEND_ASKED,
    };
    let script = format!(
        "(function(){{\
        function hold(e){{var b=document.body;if(!b||b.hasAttribute('{PANE_AT}'))return;\
        e.preventDefault();b.setAttribute('{SEND_ASKED}','')}}\
        addEventListener('keydown',function(e){{var t=e.target;if(e.key==='Enter'&&!e.shiftKey\
        &&!e.isComposing&&t.matches&&t.matches('{COMPOSER_INPUT}'))hold(e)}},true);\
        addEventListener('submit',function(e){{if(e.target.matches('{COMPOSER_FORM}'))hold(e)}},true)\
        }})()"
    );
    view! { <script nonce=use_nonce()>{script}</script> }
}

/// The session and project lists a page is rendered with: the registry's, read once per
/// page, so the head's copy ([`FirstPaintData`]) and the markup agree.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct FirstPaintLists(pub Result<crate::components::workspace::FirstPaint, String>);

/// The lists the page is rendered with, as JSON in the head, for the hydrating app to
/// start from (`components::workspace` reads them synchronously, so the layout hydrates
/// without a resource, its `Suspense` and their async machinery: 9 KB brotli of the first
/// load). A page without them still works: the socket's `Connected` brings both lists.
#[cfg(feature = "ssr")]
#[component]
fn FirstPaintData() -> impl IntoView {
    use_context::<FirstPaintLists>()
        .and_then(|lists| lists.0.ok())
        .and_then(|lists| first_paint_json(&lists))
        .map(|json| view! { <script type="application/json" id=crate::client::FIRST_PAINT>{json}</script> })
}

#[cfg(not(feature = "ssr"))]
#[component]
fn FirstPaintData() -> impl IntoView {}

/// `lists` as JSON to write inside a `<script>`: a title holding `</script>` or `<!--`
/// would end or garble the element, so every `<` (only ever inside a JSON string) is
/// written as its escape `\u003c`, which reads back the same.
#[cfg(feature = "ssr")]
pub fn first_paint_json(lists: &crate::components::workspace::FirstPaint) -> Option<String> {
    match serde_json::to_string(lists) {
        Ok(json) => Some(json.replace('<', "\\u003c")),
        Err(error) => {
            tracing::error!(%error, "the first paint's lists could not be written");
            None
        }
    }
}

/// The whole HTML document, rendered by the server around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    provide_context(FirstPaintLists(
        crate::server::sessions_from_context().map_err(|error| error.to_string()),
    ));
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
                <link rel="icon" href=icon_href() type="image/svg+xml"/>
                <link rel="stylesheet" href=stylesheet_href()/>
                <PaneStyles/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options=options.clone()/>
                {split_preloads(&options)}
                <FirstPaintData/>
                <EarlySocket/>
                <EarlyInput/>
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
                    // Live without the pane's module: see `conversation_route`.
                    <Route
                        path=path!("s/:id")
                        view=|| view! { <ConversationRoute kind=Conversation::Session/> }
                    />
                    <Route
                        path=path!("c/:id")
                        view=|| view! { <ConversationRoute kind=Conversation::Compare/> }
                    />
                    // Whole before it is sent: its checks resolve late, and a streamed
                    // chunk replacing a fallback while the lazy pane hydrates broke
                    // hydration now and then (tachys' "failed to cast text node").
                    <Route
                        path=path!("doctor")
                        view={Lazy::<DoctorPage>::new()}
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("usage") view={Lazy::<UsagePage>::new()}/>
                    <Route path=path!("settings") view={Lazy::<SettingsPage>::new()}/>
                    <Route path=path!("search") view={Lazy::<SearchPage>::new()}/>
                    <Route path=path!("import") view={Lazy::<ImportPage>::new()}/>
                    <Route path=path!("machines") view={Lazy::<MachinesPage>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Awaits a lazy route's module before the router hydrates the server's markup: a failed
/// fetch is tried twice more (0.5 s, then 2 s later); if it still fails, the page is
/// built anyway and the route's view says what failed.
pub(crate) async fn preload_patiently<F, Fut>(preload: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), crate::components::panes::LoadFailed>>,
{
    for pause_ms in [500, 2000] {
        match preload().await {
            Ok(()) => return,
            Err(error) => {
                leptos::logging::warn!("fetching a page's code failed ({}); trying again", error.0)
            }
        }
        #[cfg(feature = "hydrate")]
        gloo_timers::future::TimeoutFuture::new(pause_ms).await;
        #[cfg(not(feature = "hydrate"))]
        let _ = pause_ms;
    }
    let _ = preload().await;
}

/// A route whose pane is rendered by one of the lazily loaded functions of
/// [`crate::components::panes`].
macro_rules! lazy_pane {
    ($(#[$doc:meta])* $route:ident => $load:ident($pane:expr), $preload:ident) => {
        $(#[$doc])*
        struct $route;

        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            async fn view(_this: Self) -> AnyView {
                match $load($pane).await {
                    Ok(view) => view,
                    Err(error) => {
                        let retry = Callback::new(|()| crate::components::deferred::reload_page());
                        view! { <LoadFailedNotice error retry/> }.into_any()
                    }
                }
            }

            async fn preload() {
                preload_patiently($preload).await;
            }
        }
    };
}

lazy_pane!(/// `/doctor`.
    DoctorPage => tool_page(ToolPage::Doctor), preload_tool_page);
lazy_pane!(/// `/usage`.
    UsagePage => tool_page(ToolPage::Usage), preload_tool_page);
lazy_pane!(/// `/settings`.
    SettingsPage => tool_page(ToolPage::Settings), preload_tool_page);
lazy_pane!(/// `/search`.
    SearchPage => tool_page(ToolPage::Search), preload_tool_page);
lazy_pane!(/// `/import`.
    ImportPage => tool_page(ToolPage::Import), preload_tool_page);
lazy_pane!(/// `/machines`.
    MachinesPage => tool_page(ToolPage::Machines), preload_tool_page);

/// The Doctor's report: every agent this server knows, installed or not, with the version
/// each installed one gives now and the install command of each missing one.
#[server]
pub async fn agent_report() -> Result<Vec<AgentInfo>, ServerFnError> {
    crate::server::agent_report_from_context().await
}

/// The Doctor's "Look again": looks for every agent's program anew (after one was
/// installed) and gives the report.
#[server]
pub async fn rescan_agents() -> Result<Vec<AgentInfo>, ServerFnError> {
    crate::server::rescan_agents_from_context().await
}

/// This server's browser logins, the asking one marked.
#[server]
pub async fn list_logins() -> Result<Vec<crate::protocol::LoginInfo>, ServerFnError> {
    crate::server::logins_from_context().await
}

/// The API tokens, without their secrets (Settings > API tokens).
#[server(endpoint = "list_api_tokens")]
pub async fn list_api_tokens() -> Result<Vec<crate::protocol::ApiTokenInfo>, ServerFnError> {
    Ok(crate::server::api_tokens_from_context()?.list())
}

/// Makes an API token named `name`; the answer holds its secret, shown this once.
#[server(endpoint = "create_api_token")]
pub async fn create_api_token(name: String) -> Result<crate::protocol::NewApiToken, ServerFnError> {
    if name.trim().is_empty() {
        return Err(ServerFnError::new("Give the token a name"));
    }
    crate::server::api_tokens_from_context()?
        .create(&name, false)
        .await
        .map_err(|e| ServerFnError::new(format!("The token could not be stored: {e}")))
}

/// Revokes an API token: it is refused from now on.
#[server(endpoint = "revoke_api_token")]
pub async fn revoke_api_token(id: String) -> Result<(), ServerFnError> {
    let revoked = crate::server::api_tokens_from_context()?
        .revoke(&id)
        .await
        .map_err(|e| ServerFnError::new(format!("The token could not be revoked: {e}")))?;
    match revoked {
        true => Ok(()),
        false => Err(ServerFnError::new("No valid token has this id")),
    }
}

/// The machines whose runners connect from other hosts (the Machines page).
#[server(endpoint = "list_machines")]
pub async fn list_machines() -> Result<Vec<crate::protocol::MachineInfo>, ServerFnError> {
    Ok(crate::server::machines_from_context()?.list().await)
}

/// Makes a one-time enrollment code for a machine named `name`; shown this once.
#[server(endpoint = "create_enrollment")]
pub async fn create_enrollment(
    name: String,
) -> Result<crate::protocol::NewEnrollment, ServerFnError> {
    if name.trim().is_empty() {
        return Err(ServerFnError::new("Give the machine a name"));
    }
    crate::server::machines_from_context()?
        .create_enrollment(&name)
        .await
        .map_err(|e| ServerFnError::new(format!("The code could not be stored: {e}")))
}

/// Revokes a machine: its runner is disconnected now and refused from then on.
#[server(endpoint = "revoke_machine")]
pub async fn revoke_machine(id: String) -> Result<(), ServerFnError> {
    let revoked = crate::server::machines_from_context()?
        .revoke(&id)
        .await
        .map_err(|e| ServerFnError::new(format!("The machine could not be revoked: {e}")))?;
    match revoked {
        true => Ok(()),
        false => Err(ServerFnError::new("No enrolled machine has this id")),
    }
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

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::EarlySocket;
    use crate::protocol::ClientFrame;
    use leptos::prelude::*;

    #[test]
    fn the_head_says_a_hello_the_server_reads_with_the_id_it_hands_the_app() {
        let owner = Owner::new();
        let html = owner.with(|| view! { <EarlySocket/> }.to_html());
        let (_, sent) = html.split_once("s.send(").expect("the script sends");
        let (literal, _) = sent.split_once(");").expect("one argument");
        let json: String = serde_json::from_str(literal).expect("a JS string literal");
        let Ok(ClientFrame::Hello { client_id, resume }) = serde_json::from_str(&json) else {
            panic!("not a Hello: {json}");
        };
        assert!(resume.is_empty(), "the head knows no tabs");
        assert!(
            html.contains(&format!("client:'{}'", client_id.0)),
            "the app is handed the Hello's id"
        );
    }

    #[test]
    fn the_icon_is_a_data_address_an_attribute_can_hold() {
        let href = super::icon_href();
        assert!(href.starts_with("data:image/svg+xml,%3Csvg"), "{href}");
        assert!(!href.contains(['"', '#', '<', '>']), "{href}");
        assert!(href.contains("fill='%232563eb'"), "{href}");
    }

    #[test]
    fn the_heads_lists_read_back_and_no_title_can_end_their_script() {
        use crate::protocol::{AgentId, Session, SessionId, SessionState};
        let mut session = Session::empty(
            SessionId(uuid::Uuid::new_v4()),
            AgentId::demo(),
            "/tmp".into(),
            "default".into(),
            SessionState::Idle,
        );
        session.title = "</script><script>alert(1)</script><!-- & </SCRIPT".into();
        session.preview = "a < b".into();
        let lists = (vec![session], Vec::new());
        let owner = Owner::new();
        let html = owner.with(|| {
            provide_context(super::FirstPaintLists(Ok(lists.clone())));
            view! { <super::FirstPaintData/> }.to_html()
        });
        let (_, json) = html.split_once('>').expect("a script element");
        let json = json.strip_suffix("</script>").expect("one script element");
        assert!(!json.contains('<'), "{json}");
        let read: crate::components::workspace::FirstPaint =
            serde_json::from_str(json).expect("reads back");
        assert_eq!(read, lists);

        // No lists (the registry was not there): no script, and the app waits for the socket.
        let html = owner.with(|| {
            provide_context(super::FirstPaintLists(Err("none".into())));
            view! { <super::FirstPaintData/> }.to_html()
        });
        assert!(!html.contains("<script"), "{html}");
    }
}

//! The wire vocabulary shared by server and browser: ids, sessions, persisted events and
//! the frames of the one multiplexed WebSocket. Compiled for both targets, with no `cfg`.

mod agents;
mod api_tokens;
mod compare;
mod deferred;
mod event;
mod frame;
mod ids;
mod import;
mod limits;
mod project;
mod runner;
mod search;
mod session;
mod spending;
mod tag_first;
mod title;
mod usage_report;

pub use agents::*;
pub use api_tokens::*;
pub use compare::*;
pub use deferred::Deferred;
pub use event::*;
pub use frame::*;
pub use ids::*;
pub use import::*;
pub use limits::*;
pub use project::*;
pub use runner::*;
pub use search::*;
pub use session::*;
pub use spending::*;
pub use title::*;
pub use usage_report::*;

#[cfg(test)]
mod tests;

//! The warm-up sample decodes with the current protocol and holds a row of each kind, so
//! warming renders what a real transcript renders.

use crate::client::store::{EntryBody, Store};
use crate::client::tool_view::ToolDetail;
use crate::client::warm::{sample_session, SAMPLE_SESSION};
use leptos::prelude::*;

#[test]
fn the_sample_session_decodes_into_a_row_of_each_kind() {
    let owner = Owner::new();
    owner.with(|| {
        let store = Store::new();
        let view = sample_session(&store).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(view.id, SAMPLE_SESSION);
        let kinds: Vec<&str> = view.entries.with(|entries| {
            entries
                .iter()
                .map(|entry| match &entry.body {
                    EntryBody::User { .. } => "user",
                    EntryBody::Assistant { .. } => "assistant",
                    EntryBody::Thinking { .. } => "thinking",
                    EntryBody::Tool { .. } => "tool",
                    EntryBody::Permission { .. } => "permission",
                    EntryBody::TurnEnd { .. } => "turn end",
                    EntryBody::Notice { .. } => "notice",
                    EntryBody::Budget { .. } => "budget",
                })
                .collect()
        });
        for kind in [
            "user",
            "thinking",
            "tool",
            "permission",
            "assistant",
            "notice",
            "turn end",
        ] {
            assert!(kinds.contains(&kind), "no {kind} row in {kinds:?}");
        }
        // The Edit call shows a diff, the Bash call its command.
        let tools = view.entries.with(|entries| {
            entries
                .iter()
                .filter_map(|entry| match &entry.body {
                    EntryBody::Tool { detail, .. } => Some(detail.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        });
        assert!(
            matches!(tools.as_slice(), [bash, edit]
                if matches!(**bash, ToolDetail::Bash { .. }) && matches!(**edit, ToolDetail::Edit { .. })),
            "{tools:?}"
        );
    });
}

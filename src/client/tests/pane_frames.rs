//! Frames only a split pane reads: held undecoded until a pane reads them, in order; an
//! unreadable payload is said and changes nothing.

use super::*;
use crate::client::pane_frames::{self, Reader};
use crate::protocol::{ImportProgress, RequestTag};

fn progress(files_done: u32) -> ServerFrame {
    over_the_wire(ServerFrame::ImportProgress {
        progress: ImportProgress {
            running: true,
            files_total: 9,
            files_done,
            ..ImportProgress::default()
        }
        .into(),
    })
}

#[test]
fn frames_wait_undecoded_until_a_pane_reads_them() {
    let store = connected(1);
    apply(&store, progress(1));
    apply(&store, progress(2));
    apply(
        &store,
        over_the_wire(ServerFrame::SearchResults {
            tag: Some(RequestTag(4)),
            groups: Vec::new().into(),
            more: false,
        }),
    );
    assert_eq!(
        store.import.progress.get_untracked(),
        None,
        "nothing read before a pane reads"
    );
    assert_eq!(
        store.pane_frames.with_untracked(Vec::len),
        2,
        "of the progress, only the newest waits"
    );
    pane_frames::read_waiting_for(&store, Reader::Import);
    let read = store
        .import
        .progress
        .get_untracked()
        .expect("read by the pane");
    assert_eq!(read.files_done, 2);
    assert_eq!(
        store.pane_frames.with_untracked(Vec::len),
        1,
        "the search answer waits for the search pane"
    );
    pane_frames::read_waiting_for(&store, Reader::Search);
    assert!(
        store.pane_frames.with_untracked(Vec::is_empty),
        "each read once"
    );
    apply(&store, progress(3));
    pane_frames::read_waiting_for(&store, Reader::Import);
    assert_eq!(
        store.import.progress.get_untracked().map(|p| p.files_done),
        Some(3)
    );
}

#[test]
fn an_unreadable_payload_is_said_and_changes_nothing() {
    let store = connected(1);
    apply(&store, progress(1));
    pane_frames::read_waiting_for(&store, Reader::Import);
    let frame: ServerFrame =
        serde_json::from_str(r#"{"type":"import_progress","progress":{"running":"maybe"}}"#)
            .expect("the frame reads: its payload is decoded later");
    apply(&store, frame);
    pane_frames::read_waiting_for(&store, Reader::Import);
    assert_eq!(
        store.import.progress.get_untracked().map(|p| p.files_done),
        Some(1),
        "the last good progress stays"
    );
    let said = store
        .server_error
        .get_untracked()
        .expect("said in the banner");
    assert!(said.contains("cannot read"), "{said}");
}

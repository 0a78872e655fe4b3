//! The page's keyboard shortcuts as pure decisions (which key does what), tested natively;
//! the window listener that acts on them is the browser-only [`super::keys`]. Enter and
//! Shift+Enter belong to the composer itself.

use crate::protocol::SessionId;

/// What a key press asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// Esc: stop the running turn of the session in front.
    Stop,
    /// Ctrl/Cmd+1..8: the Nth open tab (from 1); Ctrl/Cmd+9: the last one, as browsers do.
    Tab(usize),
    /// Ctrl/Cmd+K: the session search in the sidebar.
    Search,
    /// Ctrl/Cmd+Shift+F: the search over every transcript (`/search`).
    SearchAll,
}

/// The modifier keys held with a key press.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Modifiers {
    /// Control.
    pub ctrl: bool,
    /// Command on macOS, the Windows key elsewhere.
    pub meta: bool,
    /// Alt / Option.
    pub alt: bool,
    /// Shift.
    pub shift: bool,
}

/// The shortcut a key press (`KeyboardEvent.key`) means, if any. Combinations with more
/// modifiers are left to the browser and the system (Ctrl+Shift+K is a devtools key).
pub fn shortcut_for(key: &str, mods: Modifiers) -> Option<Shortcut> {
    let command = mods.ctrl || mods.meta;
    if key == "Escape" && !command && !mods.alt && !mods.shift {
        return Some(Shortcut::Stop);
    }
    if command && mods.shift && !mods.alt && matches!(key, "f" | "F") {
        return Some(Shortcut::SearchAll);
    }
    if !command || mods.alt || mods.shift {
        return None;
    }
    match key {
        "k" | "K" => Some(Shortcut::Search),
        "9" => Some(Shortcut::Tab(usize::MAX)),
        _ => match key.parse::<usize>() {
            Ok(n @ 1..=8) => Some(Shortcut::Tab(n)),
            _ => None,
        },
    }
}

/// The tab a [`Shortcut::Tab`] number picks: the Nth from 1, [`usize::MAX`] for the last.
pub fn nth_tab(tabs: &[SessionId], n: usize) -> Option<SessionId> {
    if n == usize::MAX {
        return tabs.last().copied();
    }
    n.checked_sub(1).and_then(|i| tabs.get(i)).copied()
}

/// Focuses the composer's input (after the session search is left with Escape).
pub fn focus_composer() {
    focus_testid("chat-input");
}

/// Focuses (and selects the text of) the element with `data-testid=name`, if it is there.
/// Inert outside the browser.
pub fn focus_testid(name: &str) {
    #[cfg(feature = "hydrate")]
    super::keys::focus_testid(name);
    #[cfg(not(feature = "hydrate"))]
    let _ = name;
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    const CTRL: Modifiers = Modifiers {
        ctrl: true,
        meta: false,
        alt: false,
        shift: false,
    };
    const CMD: Modifiers = Modifiers {
        ctrl: false,
        meta: true,
        alt: false,
        shift: false,
    };

    #[test]
    fn keys_map_to_shortcuts() {
        assert_eq!(
            shortcut_for("Escape", Modifiers::default()),
            Some(Shortcut::Stop)
        );
        assert_eq!(shortcut_for("k", CTRL), Some(Shortcut::Search));
        assert_eq!(shortcut_for("K", CMD), Some(Shortcut::Search));
        assert_eq!(shortcut_for("1", CTRL), Some(Shortcut::Tab(1)));
        assert_eq!(shortcut_for("8", CMD), Some(Shortcut::Tab(8)));
        assert_eq!(shortcut_for("9", CTRL), Some(Shortcut::Tab(usize::MAX)));
    }

    #[test]
    fn other_keys_are_left_alone() {
        assert_eq!(shortcut_for("k", Modifiers::default()), None);
        assert_eq!(shortcut_for("0", CTRL), None);
        assert_eq!(shortcut_for("Enter", CTRL), None);
        let ctrl_shift = Modifiers {
            shift: true,
            ..CTRL
        };
        assert_eq!(shortcut_for("k", ctrl_shift), None);
        assert_eq!(shortcut_for("Escape", ctrl_shift), None);
        let ctrl_alt = Modifiers { alt: true, ..CTRL };
        assert_eq!(shortcut_for("1", ctrl_alt), None);
    }

    #[test]
    fn ctrl_shift_f_searches_every_transcript() {
        let shift = |mods: Modifiers| Modifiers {
            shift: true,
            ..mods
        };
        assert_eq!(shortcut_for("F", shift(CTRL)), Some(Shortcut::SearchAll));
        assert_eq!(shortcut_for("f", shift(CTRL)), Some(Shortcut::SearchAll));
        assert_eq!(shortcut_for("F", shift(CMD)), Some(Shortcut::SearchAll));
        // Without Shift it is the browser's find; with Alt as well, left alone.
        assert_eq!(shortcut_for("f", CTRL), None);
        assert_eq!(shortcut_for("F", shift(Modifiers::default())), None);
        let with_alt = Modifiers {
            alt: true,
            ..shift(CTRL)
        };
        assert_eq!(shortcut_for("F", with_alt), None);
    }

    #[test]
    fn tab_numbers_pick_tabs() {
        let tabs: Vec<SessionId> = (1..=3).map(|n| SessionId(Uuid::from_u128(n))).collect();
        assert_eq!(nth_tab(&tabs, 1), Some(tabs[0]));
        assert_eq!(nth_tab(&tabs, 3), Some(tabs[2]));
        assert_eq!(nth_tab(&tabs, 4), None);
        assert_eq!(nth_tab(&tabs, usize::MAX), Some(tabs[2]));
        assert_eq!(nth_tab(&[], usize::MAX), None);
        assert_eq!(nth_tab(&tabs, 0), None);
    }
}

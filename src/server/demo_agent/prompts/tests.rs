//! The demo agent's prompt parser and reply chunks.

use super::*;

#[test]
fn prompts_parse_into_commands() {
    assert_eq!(parse_command("/slow 10"), DemoCommand::Slow(10));
    assert_eq!(parse_command("/slow"), DemoCommand::Slow(5));
    assert_eq!(parse_command(" /tool "), DemoCommand::Tool);
    assert_eq!(parse_command("/burst 2000"), DemoCommand::Burst(2000));
    assert_eq!(
        parse_command("/stamp 10"),
        DemoCommand::Stamp {
            count: 10,
            every_ms: 5
        }
    );
    assert_eq!(
        parse_command("/stamp 10 20"),
        DemoCommand::Stamp {
            count: 10,
            every_ms: 20
        }
    );
    assert_eq!(parse_command("/permission"), DemoCommand::Permission);
    assert_eq!(parse_command("/crash"), DemoCommand::Crash);
    assert_eq!(parse_command("/hang"), DemoCommand::Hang);
    assert_eq!(parse_command("/history"), DemoCommand::History);
    assert_eq!(parse_command("/abuse"), DemoCommand::Abuse);
    assert_eq!(parse_command("/markdown"), DemoCommand::Markdown);
    assert_eq!(parse_command("/edit"), DemoCommand::Edit);
    assert_eq!(parse_command("/invisible"), DemoCommand::Invisible);
    assert_eq!(
        parse_command("/write notes/a.txt hello  world\nline two"),
        DemoCommand::Write {
            path: "notes/a.txt".into(),
            text: "hello  world\nline two".into()
        }
    );
    assert_eq!(
        parse_command("/rm a.txt"),
        DemoCommand::Remove {
            path: "a.txt".into()
        }
    );
    assert!(inside(Path::new("/w"), "../x").is_none());
    assert!(inside(Path::new("/w"), "/etc/passwd").is_none());
    assert_eq!(inside(Path::new("/w"), "a/b"), Some("/w/a/b".into()));
    assert_eq!(
        parse_command("hello there"),
        DemoCommand::Echo("hello there".into())
    );
    assert_eq!(
        parse_command("/unknown"),
        DemoCommand::Echo("/unknown".into())
    );
}

#[test]
fn replies_stream_in_at_least_three_chunks_that_spell_the_text() {
    for text in [
        "Echo: a",
        "Echo: hello",
        "Echo: a much longer message with many words",
        "Echo: héllo ünïcode",
    ] {
        let parts = chunks(text);
        assert!(parts.len() >= 3, "{text} gave {parts:?}");
        assert_eq!(parts.concat(), text);
    }
}

#[test]
fn usage_counts_words() {
    assert_eq!(word_count("one two  three"), 3);
}

#[test]
fn invisible_reply_hides_a_bidi_override_a_zero_width_space_and_an_escape() {
    assert!(INVISIBLE_REPLY.contains("```sh\nls\u{202E}\u{200B}\u{1b}[2K -la\n```"));
    // Only the hidden characters differ from what the page shows as text.
    let shown: String = INVISIBLE_CODE
        .replace("\u{1b}[2K", "")
        .chars()
        .filter(|c| !matches!(c, '\u{202E}' | '\u{200B}'))
        .collect();
    assert_eq!(shown, "ls -la");
}

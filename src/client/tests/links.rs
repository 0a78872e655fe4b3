//! Which links wait for a click: every target that names another host (so nothing is
//! resolved before the user acts), and none of the page's own or mail targets.

use crate::client::links::{link_target, LinkTarget};
use crate::client::markdown::{parse, safe_href, Block, Inline};

fn external(url: &str, host: &str) -> LinkTarget {
    LinkTarget::External {
        url: url.into(),
        host: host.into(),
    }
}

#[test]
fn links_to_other_hosts_are_external_with_their_host() {
    assert_eq!(
        link_target("https://spec.commonmark.org/"),
        external("https://spec.commonmark.org/", "spec.commonmark.org")
    );
    assert_eq!(
        link_target("http://s3cr3t.attacker.example:8080/x?y#z"),
        external(
            "http://s3cr3t.attacker.example:8080/x?y#z",
            "s3cr3t.attacker.example:8080"
        )
    );
    // The scheme's case does not matter; the host shown is where the browser goes, not the
    // user info before `@`.
    assert_eq!(
        link_target("HTTPS://trusted.example@Evil.Example/p"),
        external("HTTPS://trusted.example@Evil.Example/p", "evil.example")
    );
    assert_eq!(
        link_target("http://evil.example"),
        external("http://evil.example", "evil.example")
    );
}

#[test]
fn links_scheme_relative_targets_are_external_too() {
    // `safe_href` lets these through as relative, but the browser resolves their host.
    for target in ["//evil.example/x", "/\\evil.example/x", "\\\\evil.example"] {
        assert!(safe_href(target).is_some(), "{target}");
        assert!(
            matches!(link_target(target), LinkTarget::External { ref host, .. } if host == "evil.example"),
            "{target}: {:?}",
            link_target(target)
        );
    }
}

#[test]
fn links_on_this_page_and_mail_stay_direct() {
    for target in [
        "#notes",
        "docs/a.md",
        "./a:b",
        "/s/123",
        "?q=1",
        "mailto:me@example.com",
    ] {
        assert_eq!(link_target(target), LinkTarget::Direct(target.into()));
    }
}

#[test]
fn links_every_web_link_in_a_reply_is_external() {
    let blocks = parse(
        "See [docs](https://example.com/docs), <http://auto.example/>, \
         ![chart](https://img.example/c.png) and [local](#x).",
    );
    let Block::Paragraph(content) = &blocks[0] else {
        panic!("{blocks:?}");
    };
    let kinds: Vec<bool> = content
        .iter()
        .filter_map(|inline| match inline {
            Inline::Link { href: Some(h), .. } => {
                Some(matches!(link_target(h), LinkTarget::External { .. }))
            }
            _ => None,
        })
        .collect();
    assert_eq!(kinds, [true, true, true, false]);
}

//! The stylesheet's blocks are all closed: one missing `}` (a merge, say) swallows every
//! rule after it into the block above, e.g. a phone-only media query, and the desktop page
//! loses its styles without any error.

#[test]
fn every_block_of_the_stylesheet_is_closed() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("style/main.css");
    let css = std::fs::read_to_string(&path).expect("style/main.css reads");
    let mut depth: i64 = 0;
    let mut line = 1;
    let mut chars = css.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                    }
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                assert!(depth >= 0, "an unopened }} on line {line}");
            }
            _ => {}
        }
    }
    assert_eq!(depth, 0, "{depth} block(s) never closed");
}

//! The `wildcard` operator: `*` matches any run of characters, `\*` a literal star.
//!
//! A wildcard is compiled into the literal pieces between stars, so matching is a prefix
//! check, a suffix check and a left-to-right search for the middle pieces. With only `*`
//! (no `?`, no classes) taking the leftmost occurrence of each middle piece is always
//! right, so there is no backtracking.

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wildcard {
    /// The literal text between stars; `pieces.len() == stars + 1`.
    pieces: Vec<String>,
}

impl Wildcard {
    /// Parses `text`; `\*` is a literal star and `\\` a literal backslash. Two stars in a
    /// row are refused, as EventBridge does, because they mean nothing more than one.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = vec![String::new()];
        let mut chars = text.chars().peekable();
        let mut last_was_star = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped @ ('*' | '\\')) => {
                        push(&mut pieces, escaped);
                        last_was_star = false;
                    }
                    Some(other) => {
                        return Err(format!(
                            "wildcard `{text}` has an invalid escape `\\{other}` (only `\\*` and `\\\\` are allowed)"
                        ))
                    }
                    None => return Err(format!("wildcard `{text}` ends with a lone backslash")),
                },
                '*' => {
                    if last_was_star {
                        return Err(format!(
                            "wildcard `{text}` has consecutive `*` characters"
                        ));
                    }
                    pieces.push(String::new());
                    last_was_star = true;
                }
                other => {
                    push(&mut pieces, other);
                    last_was_star = false;
                }
            }
        }
        Ok(Self { pieces })
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return s.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            return s == first;
        };
        if s.len() < first.len() + last.len() || !s.starts_with(first.as_str()) {
            return false;
        }
        if !s.ends_with(last.as_str()) {
            return false;
        }
        let mut window = &s[first.len()..s.len() - last.len()];
        for piece in middle {
            match window.find(piece.as_str()) {
                Some(at) => window = &window[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

fn push(pieces: &mut [String], c: char) {
    if let Some(piece) = pieces.last_mut() {
        piece.push(c);
    }
}

//! "Did you mean …?" for misspelt pragmas, properties, names and time zones.

/// The known word closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn nearest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    known
        .into_iter()
        .map(|k| (k, strsim::jaro_winkler(&lower, &k.to_ascii_lowercase())))
        .filter(|(_, score)| *score >= 0.8)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
}

/// `did you mean `x`?` or nothing.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    known: impl IntoIterator<Item = &'a str>,
    prefix: &str,
) -> Option<String> {
    nearest(word, known).map(|k| format!("did you mean `{prefix}{k}`?"))
}

/// A `did you mean` sentence followed by the full list of valid choices.
pub(crate) fn did_you_mean_or_list(word: &str, known: &[&str], prefix: &str) -> String {
    let list = known
        .iter()
        .map(|k| format!("`{prefix}{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match did_you_mean(word, known.iter().copied(), prefix) {
        Some(suggestion) => format!("{suggestion} (known: {list})"),
        None => format!("expected one of {list}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(nearest("htp", ["http", "events", "queues"]), Some("http"));
        assert_eq!(
            nearest("visibilitytimeout", ["visibilityTimeout", "fifo"]),
            Some("visibilityTimeout")
        );
        assert_eq!(nearest("zzzz", ["http", "events"]), None);
    }
}

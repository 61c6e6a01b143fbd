//! Duration arguments such as `10s`, `500ms` or `2m`, read by the sandbox's one duration
//! parser (`sandbox_services::parse_duration`), so benchmark knobs and `/_sandbox/clock`
//! take the same spellings.

use std::time::Duration;

/// Parses `<number><unit>` parts with units `ms`, `s`, `m`, `h`, `d`, `w`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    sandbox_services::parse_duration(text)
        .map_err(|e| e.to_string())?
        .to_std()
        .map_err(|_| format!("duration `{text}` is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        assert!(parse_duration("").is_err());
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("10 parsecs").is_err());
    }
}

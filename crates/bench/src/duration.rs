//! Human-friendly duration arguments such as `10s`, `500ms` or `2m`.
//!
//! Benchmark knobs are typed on the command line, so they read the way people write
//! them rather than as bare numbers of an implied unit.

use std::time::Duration;

/// Parses `<number><unit>` with unit `ms`, `s` or `m`; a bare number means seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (examples: 10s, 500ms, 2m)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        other => return Err(format!("unknown duration unit `{other}` (use ms, s or m)")),
    };
    if !seconds.is_finite() || seconds > 86_400.0 {
        return Err(format!("duration `{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_duration("").is_err());
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("1.2.3s").is_err());
        assert!(parse_duration("99999999s").is_err());
    }
}

//! Command-line values of the speed-at-scale options: durations such as
//! `registry serve --ingest-delay 2s` and the `--concurrency` bound of sync and publish.

use std::time::Duration;

/// `--concurrency` of `module sync` and of `module publish` with a tfpub.toml.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct ConcurrencyArgs {
    /// How many versions (sync) or tfpub.toml modules (publish) to publish at once, 1-64.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY, value_parser = parse_concurrency)]
    pub concurrency: usize,
}

/// The default of `--concurrency`.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// A duration as `500ms`, `2s`, `1.5s`, `1m` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (examples: 500ms, 2s, 1m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s or m)")),
    };
    if !secs.is_finite() || !(0.0..=3600.0).contains(&secs) {
        return Err(format!("{s:?} is outside 0 to 1 hour"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A `--concurrency` bound: 1 to 64 versions at a time.
pub fn parse_concurrency(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a number from 1 to 64")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("2m").is_ok());
        assert!(parse_duration("61m").is_err());
    }

    #[test]
    fn concurrency() {
        assert_eq!(parse_concurrency("8"), Ok(8));
        assert!(parse_concurrency("0").is_err());
        assert!(parse_concurrency("65").is_err());
    }
}

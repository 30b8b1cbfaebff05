//! Benchmark helper: the embedded registry with injected per-request latency.
//!
//! Why: `bench/run.sh` must measure publishing against a registry that answers like a
//! remote one (50 ms per request), but the latency switch is a test-only library API, not
//! a CLI flag. This example starts the registry, prints its base URL on stdout, then
//! reads commands on stdin, one per line:
//! `stats` prints `total=N gets=N writes=N puts=N s429=N s5xx=N api_p50_ms=X api_p99_ms=X
//! api_n=N api_peak_1s=N` (the percentiles: the registry's own time to answer API requests, without
//! the injected latency; the peak: most API requests arriving within one second, what
//! HCP Terraform's 30/s limit counts), `reset` clears the counters,
//! `latency MS` changes the latency. End of input stops the registry.
//!
//! Usage: `cargo run --example bench_registry -- --data DIR [--latency-ms 50]
//! [--ingest-delay-ms 2000] [--rate-limit 30] [--listen 127.0.0.1:0]` (`--ingest-delay-ms`:
//! module versions stay `reg_ingressing` that long after their upload, as `registry serve
//! --ingest-delay`; `--rate-limit`: 429 past that many API requests per token in any
//! second, as `registry serve --rate-limit` and HCP Terraform past 30).
//!
//! `bench_registry --sha256 FILE...` instead hashes the files with the function tfpub
//! uses for release zips and prints `sha256sum`-style lines (tfpub has no hashing command).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::exit
)]

use std::io::Write;
use std::time::Duration;

use tfpub_registry::{self as registry, RegistryOptions};
use tokio::io::AsyncBufReadExt;

fn usage() -> ! {
    eprintln!(
        "usage: bench_registry --data DIR [--latency-ms MS] [--ingest-delay-ms MS] [--rate-limit N] [--listen ADDR]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut data = None;
    let mut latency_ms = 0u64;
    let mut ingest_ms = 0u64;
    let mut rate_limit = None;
    let mut listen = "127.0.0.1:0".to_string();
    let mut args = std::env::args().skip(1);
    if std::env::args().nth(1).as_deref() == Some("--sha256") {
        for f in args.skip(1) {
            match tfpub_core::package::provider::sha256_file(std::path::Path::new(&f)) {
                Ok(h) => println!("{h}  {f}"),
                Err(e) => {
                    eprintln!("bench_registry: {e}");
                    std::process::exit(1)
                }
            }
        }
        return;
    }
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--data" => data = Some(val()),
            "--latency-ms" => latency_ms = val().parse().unwrap_or_else(|_| usage()),
            "--ingest-delay-ms" => ingest_ms = val().parse().unwrap_or_else(|_| usage()),
            "--rate-limit" => rate_limit = Some(val().parse().unwrap_or_else(|_| usage())),
            "--listen" => listen = val(),
            _ => usage(),
        }
    }
    let data = data.unwrap_or_else(|| usage());
    let addr = listen.parse().unwrap_or_else(|_| usage());
    let mut opts = RegistryOptions::new(data);
    opts.ingest_delay = Duration::from_millis(ingest_ms);
    opts.rate_limit = rate_limit;
    let reg = match registry::start(opts, addr).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench_registry: {e}");
            std::process::exit(1)
        }
    };
    let faults = reg.faults();
    faults.set_latency(Duration::from_millis(latency_ms));
    let stats = reg.stats();
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", reg.base_url());
    let _ = out.flush();

    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("stats"), _) => {
                let mut t = stats.api_times();
                t.sort();
                let pct = |p: f64| {
                    let i = ((t.len() as f64 - 1.0) * p).round() as usize;
                    t.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
                };
                let _ = writeln!(
                    out,
                    "total={} gets={} writes={} puts={} s429={} s5xx={} api_p50_ms={:.2} api_p99_ms={:.2} api_n={} api_peak_1s={}",
                    stats.total(),
                    stats.count("GET", ""),
                    stats.writes(),
                    stats.count("PUT", ""),
                    stats.too_many_requests(),
                    stats.answers_in_class(5),
                    pct(0.50),
                    pct(0.99),
                    t.len(),
                    stats.api_peak(Duration::from_secs(1))
                );
            }
            (Some("reset"), _) => stats.reset(),
            (Some("latency"), Some(ms)) => match ms.parse() {
                Ok(ms) => faults.set_latency(Duration::from_millis(ms)),
                Err(_) => eprintln!("bench_registry: bad latency {ms:?}"),
            },
            (None, _) => {}
            _ => eprintln!("bench_registry: unknown command {line:?}"),
        }
        let _ = out.flush();
    }
    reg.shutdown().await;
}

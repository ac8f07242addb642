//! How fast this disk makes a small write durable: the floor under the
//! commit rate of a database that syncs every commit.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::report::{histogram, ms};

/// Appends `size` bytes and calls `fdatasync`, `count` times (stopping after
/// `limit`); returns a one-line summary.
pub fn measure(dir: &Path, count: usize, size: usize, limit: Duration) -> anyhow::Result<String> {
    let path = dir.join("ichido-bench-fsync.tmp");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)?;
    let block = vec![0x5au8; size];
    let mut h = histogram();
    let started = Instant::now();
    let mut done = 0;
    while done < count && started.elapsed() < limit {
        let t = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        h.saturating_record(
            u64::try_from(t.elapsed().as_micros())
                .unwrap_or(u64::MAX)
                .max(1),
        );
        done += 1;
    }
    let total = started.elapsed();
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(format!(
        "fsync: {done} appends of {size} bytes + fdatasync in {:.2} s: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        total.as_secs_f64(),
        done as f64 / total.as_secs_f64(),
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max())
    ))
}

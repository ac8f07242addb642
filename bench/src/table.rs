//! The results table: the median of every run of a scenario, one row each,
//! and the side-by-side ratio line.

use std::path::Path;

use crate::report::Report;

/// Runs grouped by label, in the order the labels first appear.
pub fn load(path: &Path) -> anyhow::Result<Vec<(String, Vec<Report>)>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mut groups: Vec<(String, Vec<Report>)> = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let r: Report = serde_json::from_str(line)
            .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), n + 1))?;
        match groups.iter_mut().find(|(l, _)| *l == r.label) {
            Some((_, runs)) => runs.push(r),
            None => groups.push((r.label.clone(), vec![r])),
        }
    }
    Ok(groups)
}

pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn med(runs: &[Report], f: impl Fn(&Report) -> f64) -> f64 {
    median(runs.iter().map(f).collect())
}

fn opt(v: f64, digits: usize) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{v:.digits$}")
    }
}

/// A Markdown table of medians.
pub fn render(groups: &[(String, Vec<Report>)]) -> String {
    let mut out = String::from(
        "| scenario | load | runs | valid accepts/s | requests/s | p50 ms | p95 ms | p99 ms | max ms | failures | server CPU (cores) | server RSS MiB | other CPU (cores) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (label, runs) in groups {
        let first = &runs[0];
        let load = match first.rate {
            Some(rate) => format!("open {rate:.0}/s"),
            None => format!("closed, {} in flight", first.concurrency),
        };
        let failures: u64 = runs.iter().map(Report::failures).sum();
        out += &format!(
            "| {label} | {load} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {failures} | {} | {} | {} |\n",
            runs.len(),
            med(runs, |r| r.accepts_per_second),
            med(runs, |r| r.requests_per_second),
            med(runs, |r| r.p50_ms),
            med(runs, |r| r.p95_ms),
            med(runs, |r| r.p99_ms),
            med(runs, |r| r.max_ms),
            opt(med(runs, |r| r.server_cpu_cores.unwrap_or(f64::NAN)), 2),
            opt(med(runs, |r| r.server_rss_mib.unwrap_or(f64::NAN)), 1),
            opt(med(runs, |r| r.other_cpu_cores.unwrap_or(f64::NAN)), 2),
        );
    }
    out
}

/// `ratio: …` comparing the throughput of two scenarios and the p99 of two others.
pub fn ratio_line(
    groups: &[(String, Vec<Report>)],
    throughput: (&str, &str),
    latency: Option<(&str, &str)>,
) -> anyhow::Result<String> {
    let find = |label: &str| {
        groups
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, runs)| runs.as_slice())
            .ok_or_else(|| anyhow::anyhow!("no runs labelled {label}"))
    };
    let (a, b) = (find(throughput.0)?, find(throughput.1)?);
    let (ta, tb) = (
        med(a, |r| r.accepts_per_second),
        med(b, |r| r.accepts_per_second),
    );
    let mut line = format!(
        "ratio: Ichido/privacyIDEA throughput {:.1}x ({ta:.0} vs {tb:.1} valid accepts/s)",
        ta / tb.max(f64::MIN_POSITIVE)
    );
    if let Some((la, lb)) = latency {
        let (pa, pb) = (med(find(la)?, |r| r.p99_ms), med(find(lb)?, |r| r.p99_ms));
        line += &format!(
            "; p99 1/{:.1} ({pa:.2} ms vs {pb:.1} ms)",
            pb / pa.max(f64::MIN_POSITIVE)
        );
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }
}

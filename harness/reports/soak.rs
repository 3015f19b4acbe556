//! A soak's documents: `soak.json` and `soak.md`, from the [`SoakReport`] its rounds added
//! up to.

use super::document::{Exporter, Json, Markdown, ToMarkdown};
use crate::results::folder::file;
use crate::results::soak::SoakReport;

/// soak.json and soak.md.
pub const SOAK: [&dyn Exporter<SoakReport>; 2] = [&Json(file::SOAK_JSON), &Markdown(file::SOAK_MD)];

impl ToMarkdown for SoakReport {
    fn markdown(&self) -> String {
        let mb = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        let mut s = String::from("# Soak\n\n");
        s += "bakeoff's own memory, MiB: after each cell (the range over the round), and once the round \
              was over with its summaries and reports written.\n\n";
        s += "Decode step latency, ms: every measured step of the round's completed cells (p50 / p99; \
              an HDR histogram at 3 significant digits, the soak's own figures).\n\n";
        s += "| round | completed | failed | samples recorded | samples expected | torn lines | RSS after each cell | RSS after the round | peak RSS after the round | decode step p50 / p99 |\n";
        s += "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
        for r in &self.rounds {
            let range = r.harness_rss_range_mb.map_or("-".to_string(), |(lo, hi)| format!("{lo:.1} - {hi:.1}"));
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.round,
                r.completed,
                r.failed,
                r.samples_recorded,
                r.samples_expected,
                r.torn_lines,
                range,
                mb(r.harness_rss_mb),
                mb(r.harness_peak_rss_mb),
                r.decode_steps.map_or("-".to_string(), |q| format!("{:.2} / {:.2}", q.p50_ms, q.p99_ms))
            );
        }
        s += &format!(
            "\nFrom the end of round 1 to the end of round {}: bakeoff's peak RSS grew {} MiB, its RSS {} MiB \
             (allowed: {} MiB). Samples lost: {}. Torn lines: {}.\n",
            self.rounds.len(),
            mb(self.harness_peak_growth_mb),
            mb(self.harness_rss_growth_mb),
            self.max_harness_growth_mb,
            self.samples_lost,
            self.torn_lines
        );
        if let Some(q) = self.decode_steps {
            s += &format!(
                "\nEvery decode step of the soak ({} steps): p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms.\n",
                q.steps, q.p50_ms, q.p99_ms, q.p999_ms, q.max_ms
            );
        }
        if self.resumed {
            s += "\nThis soak was resumed: its rounds ran in more than one bakeoff process, so the memory \
                  figures of different rounds may come from different processes.\n";
        }
        let problems = self.problems();
        s += &if problems.is_empty() {
            "\n**Verdict: pass.**\n".to_string()
        } else {
            format!("\n**Verdict: fail.** {}\n", problems.join("; "))
        };
        s
    }
}

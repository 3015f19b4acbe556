//! The decisions' documents (compare, qualify, recommend): their formats, `<stem>.json` and
//! `<stem>.md`, and the markdown they print.

use super::document::{Exporter, Json, Markdown, ToMarkdown};
use crate::decide::comparison::{describe, Comparison};
use crate::decide::qualify::{Qualification, Severity};
use crate::decide::recommend::{RecommendDocument, Recommendation};
use crate::decide::verdict::PerfVerdict;
use crate::metrics::MetricId;

/// compare.json and compare.md.
pub const COMPARE: [&dyn Exporter<Comparison>; 2] = [&Json("compare.json"), &Markdown("compare.md")];
/// qualify.json and qualify.md.
pub const QUALIFY: [&dyn Exporter<Qualification>; 2] = [&Json("qualify.json"), &Markdown("qualify.md")];
/// recommend.json and recommend.md.
pub const RECOMMEND: [&dyn Exporter<RecommendDocument>; 2] = [&Json("recommend.json"), &Markdown("recommend.md")];

impl ToMarkdown for Comparison {
    fn markdown(&self) -> String {
        compare_markdown(self)
    }
}

impl ToMarkdown for Qualification {
    fn markdown(&self) -> String {
        qualify_markdown(self)
    }
}

impl ToMarkdown for RecommendDocument {
    fn markdown(&self) -> String {
        recommend_markdown(&self.recommendations)
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

/// The comparison: warnings first, then every judged metric of every cell.
pub fn compare_markdown(c: &Comparison) -> String {
    let mut s = format!("# bakeoff compare\n\nbaseline `{}`, candidate `{}`\n\n", c.baseline, c.candidate);
    for w in &c.warnings {
        s += &format!("> **WARNING** {w}\n>\n");
    }
    let regressions = c.regressions();
    s += &format!(
        "\n{} cells compared, {} regression(s); a change counts when its whole 95% bootstrap interval \
         lies beyond the metric's noise threshold.\n\n",
        c.cells.len(),
        regressions.len()
    );
    for r in &regressions {
        s += &format!("- **regressed** {r}\n");
    }
    s += "\n| cell | metric | baseline | candidate | change [95% interval] | threshold | min. detectable | verdict |\n";
    s += "|---|---|---:|---:|---|---:|---:|---|\n";
    for cell in &c.cells {
        if cell.baseline_status != cell.candidate_status {
            s += &format!(
                "| `{}` | status | {} | {} | | | | {} |\n",
                cell.cell,
                cell.baseline_status.name(),
                cell.candidate_status.name(),
                if cell.status_regressed() { "**regressed**" } else { "changed" }
            );
        }
        for m in &cell.metrics {
            if m.baseline.is_none() && m.candidate.is_none() {
                continue;
            }
            let verdict = match m.verdict {
                PerfVerdict::Regressed => "**regressed**".to_string(),
                v => v.name().to_string(),
            };
            let mde = m.minimum_detectable_effect.map_or("-".to_string(), |v| format!("{:.1}%", 100.0 * v));
            s += &format!(
                "| `{}` | {} ({}) | {} | {} | {} | {:.0}% | {mde} | {verdict} |\n",
                cell.cell,
                m.metric,
                m.unit,
                opt(m.baseline),
                opt(m.candidate),
                describe(m),
                100.0 * m.threshold
            );
        }
    }
    for (what, keys) in [("only in the baseline", &c.only_in_baseline), ("only in the candidate", &c.only_in_candidate)]
    {
        if !keys.is_empty() {
            s += &format!("\nCells {what}: {}\n", keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "));
        }
    }
    s += &effective_differences_markdown(c);
    if !c.fingerprint.is_empty() {
        s += "\n## Fingerprint differences\n\n| field | baseline | candidate | matters |\n|---|---|---|---|\n";
        for d in &c.fingerprint {
            s += &format!(
                "| {} | {} | {} | {} |\n",
                d.field,
                d.baseline.as_deref().unwrap_or("-"),
                d.candidate.as_deref().unwrap_or("-"),
                if d.matters { "yes" } else { "no" }
            );
        }
    }
    s
}

/// A verdict's reasons as a markdown list, one line each: severity, cell, aspect, what.
pub fn reasons_markdown(reasons: &[crate::decide::qualify::Reason]) -> String {
    let mut s = String::new();
    for r in reasons {
        let tag = match r.severity {
            Severity::Fail => "**FAIL**",
            Severity::Warn => "WARN",
            Severity::Note => "note",
        };
        s += &format!("- {tag} `{}` {:?}: {}\n", r.cell, r.aspect, r.what);
    }
    s
}

/// The qualification: the verdict and its reasons first, then cells, then fingerprints.
pub fn qualify_markdown(q: &Qualification) -> String {
    let mut s = format!(
        "# bakeoff qualify: {}\n\nold stack `{}`, new stack `{}`\n\n",
        if q.pass { "PASS" } else { "FAIL" },
        q.comparison.baseline,
        q.comparison.candidate
    );
    if q.reasons.is_empty() {
        s += "No cell changed beyond noise.\n";
    }
    s += &reasons_markdown(&q.reasons);
    for w in &q.comparison.warnings {
        s += &format!("- WARN {w}\n");
    }
    s += "\n## Cells\n\n| cell | old status | new status | old outputs | new outputs | verdict |\n|---|---|---|---|---|---|\n";
    for c in &q.cells {
        let verdict = match c.worst {
            Some(Severity::Fail) => "**FAIL**",
            Some(Severity::Warn) => "WARN",
            _ => "pass",
        };
        s += &format!(
            "| `{}` | {} | {} | {} | {} | {verdict} |\n",
            c.cell,
            c.old_status.name(),
            c.new_status.name(),
            c.old_golden.as_deref().unwrap_or("-"),
            c.new_golden.as_deref().unwrap_or("-")
        );
    }
    s += &effective_differences_markdown(&q.comparison);
    s += &resolution_markdown(&q.comparison);
    s += "\n## Fingerprints\n\n| field | old stack | new stack |\n|---|---|---|\n";
    for (field, old, new) in &q.fingerprints {
        let mark = if old != new { " **≠**" } else { "" };
        s += &format!("| {field}{mark} | {} | {} |\n", old.as_deref().unwrap_or("-"), new.as_deref().unwrap_or("-"));
    }
    s
}

/// The settings each cell's two compiled models report differently, as a table (nothing
/// when they agree, or when a run did not read them back).
fn effective_differences_markdown(c: &Comparison) -> String {
    let rows: Vec<String> = c
        .cells
        .iter()
        .flat_map(|cell| {
            cell.effective_properties.iter().map(move |d| {
                let v = |x: &Option<String>| x.as_deref().unwrap_or("(not reported)").to_string();
                format!("| `{}` | {} | {} | {} |\n", cell.cell, d.key, v(&d.baseline), v(&d.candidate))
            })
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "\n## Effective properties that differ\n\nWhat each compiled model reports it runs with, where the two \
         differ: a value a profile leaves is the plugin's default, and defaults move between releases.\n\n\
         | cell | property | baseline | candidate |\n|---|---|---|---|\n{}",
        rows.concat()
    )
}

/// What two separately taken runs could see: per cell, the minimum detectable effect of the
/// headline metrics, and why an interleaved run sees finer.
fn resolution_markdown(c: &Comparison) -> String {
    let mut s = format!(
        "\n## What these two runs could see\n\nThe smallest change each cell's interval could have flagged at its \
         threshold (threshold + half the interval's width). Two runs taken one after the other also differ by the \
         machine's drift between them, which no interval of either run sees: on a shared 2-vCPU VM that drift \
         reached 25-50% within minutes. `bakeoff ab` (`make qualify`) runs both stacks interleaved, pair by pair, \
         in one run, so the drift cancels; it resolves changes of 2-3% there.\n\n\
         | cell | {} | {} |\n|---|---:|---:|\n",
        MetricId::DecodeTokensPerS,
        MetricId::TtftP50Ms
    );
    let mde = |cell: &crate::decide::comparison::CellComparison, id: MetricId| {
        cell.metrics
            .iter()
            .find(|m| m.metric == id)
            .and_then(|m| m.minimum_detectable_effect)
            .map_or("-".to_string(), |v| format!("{:.1}%", 100.0 * v))
    };
    for cell in &c.cells {
        s += &format!(
            "| `{}` | {} | {} |\n",
            cell.cell,
            mde(cell, MetricId::DecodeTokensPerS),
            mde(cell, MetricId::TtftP50Ms)
        );
    }
    s
}

/// The recommendation: the chosen profile per group, and every candidate with why it lost.
pub fn recommend_markdown(recs: &[Recommendation]) -> String {
    let mut s = String::from("# bakeoff recommend\n");
    for r in recs {
        s += &format!(
            "\n## {} {} {} ({} cache): {}\n\n",
            r.model,
            r.device,
            r.pipeline,
            r.cache,
            r.best.as_deref().map_or("no profile meets the constraints".to_string(), |b| format!("**{b}**"))
        );
        if let Some(note) = r.device.disclaimer() {
            s += &format!("> {note}: the speeds below say nothing about an NPU.\n\n");
        }
        s += "| profile | decode tok/s | TTFT p50 (ms) | host CPU (ms/token) | energy (J/token) | peak RSS (MiB) \
              | max prompt | outputs | outcome |\n";
        s += "|---|---:|---:|---:|---:|---:|---:|---|---|\n";
        for c in &r.candidates {
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                c.profile,
                opt(c.tokens_per_s),
                opt(c.ttft_ms),
                opt(c.cpu_ms_per_token),
                c.joules_per_token.map_or("-".into(), |v| format!("{v:.4}")),
                opt(c.peak_rss_mb),
                c.max_prompt_len.map_or("no limit".into(), |v| v.to_string()),
                c.golden.as_deref().unwrap_or("-"),
                c.lost.as_deref().unwrap_or("**chosen**")
            );
        }
    }
    s
}

//! An A/B run's reports: `ab.md` (what the command prints), `ab.json`, two charts per cell
//! (both sides' raw decode tokens/s over the run, where the machine's drift shows; and each
//! pair's ratio with the paired estimate and its interval, where it cancels), and
//! `report.html` with all of it inline.

use super::charts::{write_chart, Chart, Figure, Level, Series, Trend};
use super::document::{write_document, Exporter, Json, Markdown, ToMarkdown};
use super::html::esc;
use super::ReportError;
use crate::decide::ab::{AbCell, AbMetric, AbReport};
use crate::decide::qualify::Severity;
use crate::decide::verdict::PerfVerdict;
use crate::metrics::MetricId;
use crate::plan::CellKey;
use crate::results::folder::file;
use crate::results::pairs::{Pair, Side};
use std::collections::BTreeMap;
use std::path::Path;

/// The metrics every A/B table shows first (the rest follow in registry order).
const HEADLINE: [MetricId; 4] =
    [MetricId::DecodeTokensPerS, MetricId::TtftP50Ms, MetricId::ItlP50Ms, MetricId::E2eP50Ms];

fn ordered(cell: &AbCell) -> Vec<&AbMetric> {
    let mut out: Vec<&AbMetric> = HEADLINE.iter().filter_map(|&id| cell.metric(id)).collect();
    out.extend(cell.metrics.iter().filter(|m| !HEADLINE.contains(&m.metric)));
    out
}

fn verdict_word(m: &AbMetric) -> String {
    match (m.verdict, m.decided) {
        (PerfVerdict::Regressed, _) => "**regressed**".into(),
        (PerfVerdict::Improved, _) => "improved".into(),
        (PerfVerdict::NoChange, true) => "no change".into(),
        (PerfVerdict::NoChange, false) => "no change (undecided)".into(),
        (PerfVerdict::InsufficientData, _) if m.change.is_none() && m.baseline.is_some() => "not judged".into(),
        (v, _) => v.name().into(),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.1}%", 100.0 * v))
}

fn value(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

/// The markdown of an A/B run: the verdict lines first, then every cell's metrics with
/// their paired change, interval, threshold and minimum detectable effect.
pub fn ab_markdown(r: &AbReport) -> String {
    let mut s = format!(
        "# bakeoff ab: {}\n\nbaseline **{}**, candidate **{}**, interleaved in one run\n\n",
        r.scenario, r.baseline, r.candidate
    );
    for w in &r.warnings {
        s += &format!("> **WARNING** {w}\n>\n");
    }
    let regressions = r.regressions();
    let failures = r.failures();
    s += &format!(
        "{} cells, {} regression(s), {} failed cell(s). A change counts when the whole 95% interval of the paired \
         change (bootstrap over blocks of two rounds of pairs, over pairs while a cell has fewer than {} blocks) lies beyond its threshold (default {:.1}%); `min. detectable` is the smallest \
         change this run could have flagged.\n\n",
        r.cells.len(),
        regressions.len(),
        failures.len(),
        crate::stats::paired::MIN_ROUNDS,
        100.0 * r.threshold
    );
    s += &format!("**Verdict: {}**\n\n", if r.pass { "PASS" } else { "FAIL" });
    s += &super::decisions::reasons_markdown(&r.reasons);
    for c in &r.cells {
        let end = c.end.map_or(String::new(), |e| format!(", {}", e.describe()));
        let schedule = c.schedule.map_or(String::new(), |s| format!(", {}", s.name()));
        s += &format!("\n## `{}`: {} ({} pairs{schedule}{end})\n\n", c.cell, c.status.name(), c.pairs);
        if let Some(why) = &c.reason {
            s += &format!("{why}\n\n");
        }
        if c.metrics.is_empty() {
            continue;
        }
        s += "| metric | baseline | candidate | change [95% interval] | threshold | min. detectable | verdict |\n";
        s += "|---|---:|---:|---|---:|---:|---|\n";
        for m in ordered(c) {
            s += &format!(
                "| {} ({}) | {} | {} | {} | {:.1}% | {} | {} |\n",
                m.metric,
                m.unit,
                value(m.baseline),
                value(m.candidate),
                m.describe(),
                100.0 * m.threshold,
                pct(m.minimum_detectable_effect),
                verdict_word(m)
            );
        }
        s += &checks_markdown(c);
        if let Some(compared) = &c.schedules {
            s += &schedules_markdown(compared);
        }
    }
    if !r.fingerprint.is_empty() {
        s += "\n## What differs between the sides\n\n| field | baseline | candidate |\n|---|---|---|\n";
        for d in &r.fingerprint {
            s += &format!(
                "| {} | {} | {} |\n",
                d.field,
                d.baseline.as_deref().unwrap_or("-"),
                d.candidate.as_deref().unwrap_or("-")
            );
        }
    }
    s
}

/// A mixed cell's two schedules: per-pair noise, and each side's figures under `steps`
/// against under `alternate`.
fn schedules_markdown(compared: &crate::decide::schedules::ScheduleComparison) -> String {
    let mut s = String::from(
        "\n### Schedules compared (pairs taken by either at random)\n\nPer-pair noise, the standard deviation of \
         the pairs' log ratios (what a verdict's interval shrinks from):\n\n| schedule | pairs |",
    );
    let metrics: Vec<_> = compared.schedules[0].noise.iter().map(|n| n.metric).collect();
    for m in &metrics {
        s += &format!(" {m} |");
    }
    s += &format!("\n|---|---:|{}\n", "---:|".repeat(metrics.len()));
    for sched in &compared.schedules {
        s += &format!("| {} | {} |", sched.schedule.name(), sched.pairs);
        for n in &sched.noise {
            s += &format!(" {} |", n.pair_ratio_sd.map_or("-".into(), |v| format!("{v:.4}")));
        }
        s += "\n";
    }
    s += "\nWhat interleaving steps does to a side's figures (its median under steps against under alternate, 95% \
          interval):\n\n| side | metric | change |\n|---|---|---|\n";
    for cost in &compared.step_cost {
        let change = cost.change.as_ref().map_or("-".into(), |c| {
            format!("{:+.1}% [{:+.1}%, {:+.1}%]", 100.0 * c.relative, 100.0 * c.ci_low, 100.0 * c.ci_high)
        });
        s += &format!("| {} | {} | {change} |\n", cost.side, cost.metric);
    }
    s
}

/// A cell's outputs across the sides and its cache across stacks, a line each.
fn checks_markdown(c: &AbCell) -> String {
    let mut s = String::new();
    if let Some(o) = &c.outputs {
        s += &format!("\nOutputs (candidate against baseline, pair by pair): {}.\n", o.describe());
    }
    if let Some(cache) = &c.cache {
        s += &format!(
            "\nCache across stacks (the candidate opening the baseline's compile cache): {}.\n",
            cache.describe()
        );
    }
    s
}

/// File stem of a cell's charts: `ab-<n>-raw`, `ab-<n>-ratio` (n: the cell's place in the
/// report, from 1).
fn stems(n: usize) -> [String; 2] {
    [format!("ab-{n}-raw"), format!("ab-{n}-ratio")]
}

/// Both sides' decode tokens/s per pair, in run order.
pub fn raw_chart(cell: &CellKey, pairs: &[Pair], labels: [&str; 2]) -> Chart {
    let series = Side::BOTH
        .iter()
        .enumerate()
        .map(|(i, &side)| Series {
            name: format!("{side}: {}", labels[i]),
            color: i,
            filled: true,
            points: pairs
                .iter()
                .filter_map(|p| p.side(side).metrics.decode_tokens_per_s.map(|v| (p.index as f64, v)))
                .collect(),
        })
        .collect();
    Chart::Trend(Trend {
        title: format!("{cell}: decode tokens/s of each side, in run order"),
        x_label: "pair".into(),
        y_label: "decode tokens/s".into(),
        series,
        levels: Vec::new(),
        band: None,
        note: "The machine's drift moves both sides together; the pair ratio (next chart) cancels it.".into(),
    })
}

/// Each pair's candidate / baseline decode tokens/s, with the paired estimate, its 95%
/// interval and the threshold.
pub fn ratio_chart(cell: &CellKey, pairs: &[Pair], metric: Option<&AbMetric>) -> Chart {
    let points: Vec<(f64, f64)> = pairs
        .iter()
        .filter_map(|p| {
            let b = p.baseline.metrics.decode_tokens_per_s?;
            let c = p.candidate.metrics.decode_tokens_per_s?;
            (b > 0.0).then(|| (p.index as f64, c / b))
        })
        .collect();
    let mut levels = vec![Level { name: "no change".into(), y: 1.0, color: 7, dashed: false }];
    let mut band = None;
    if let Some(m) = metric {
        levels.push(Level {
            name: format!("-{:.1}% threshold", 100.0 * m.threshold),
            y: 1.0 - m.threshold,
            color: 3,
            dashed: true,
        });
        levels.push(Level {
            name: format!("+{:.1}% threshold", 100.0 * m.threshold),
            y: 1.0 + m.threshold,
            color: 2,
            dashed: true,
        });
        if let Some(c) = &m.change {
            levels.push(Level {
                name: format!("paired estimate {:+.2}%", 100.0 * c.relative),
                y: 1.0 + c.relative,
                color: 0,
                dashed: false,
            });
            band = Some((
                1.0 + c.ci_low,
                1.0 + c.ci_high,
                format!("95% interval [{:+.2}%, {:+.2}%]", 100.0 * c.ci_low, 100.0 * c.ci_high),
            ));
        }
    }
    Chart::Trend(Trend {
        title: format!("{cell}: candidate / baseline decode tokens/s, each pair"),
        x_label: "pair".into(),
        y_label: "ratio".into(),
        series: vec![Series { name: "pair ratio".into(), color: 4, filled: true, points }],
        levels,
        band,
        note: format!(
            "Estimate: Hodges-Lehmann of the pairs' log ratios; interval: bootstrap over blocks of two rounds (over pairs below {} blocks).",
            crate::stats::paired::MIN_ROUNDS
        ),
    })
}

/// An A/B run's document: its verdicts and the charts drawn for them.
#[derive(serde::Serialize)]
pub struct AbDocument<'a> {
    /// The verdicts (what ab.json holds).
    #[serde(flatten)]
    pub report: &'a AbReport,
    /// The charts, drawn before (report.html inlines them).
    #[serde(skip)]
    pub figures: Vec<Figure>,
}

impl ToMarkdown for AbDocument<'_> {
    fn markdown(&self) -> String {
        ab_markdown(self.report)
    }
}

/// report.html of an A/B run.
pub struct AbHtml;

impl Exporter<AbDocument<'_>> for AbHtml {
    fn file_name(&self) -> &'static str {
        file::REPORT_HTML
    }
    fn render(&self, doc: &AbDocument<'_>) -> Result<Vec<u8>, ReportError> {
        Ok(ab_html(doc.report, &doc.figures).into_bytes())
    }
}

/// Every format of an A/B run: ab.json, ab.md, report.html.
pub fn ab_exporters<'a>() -> [&'a dyn Exporter<AbDocument<'a>>; 3] {
    [&Json(file::AB_JSON), &Markdown(file::AB_MD), &AbHtml]
}

/// Draw the charts and write every format of the A/B run into `dir`; returns the markdown.
pub fn write_ab_reports(dir: &Path, r: &AbReport, pairs: &BTreeMap<CellKey, Vec<Pair>>) -> Result<String, ReportError> {
    let empty = Vec::new();
    let mut figures: Vec<Figure> = Vec::new();
    for (n, cell) in r.cells.iter().enumerate() {
        let cell_pairs = pairs.get(&cell.cell).unwrap_or(&empty);
        if cell_pairs.is_empty() {
            continue;
        }
        let [raw, ratio] = stems(n + 1);
        figures.push(write_chart(dir, &raw, &raw_chart(&cell.cell, cell_pairs, [&r.baseline, &r.candidate]))?);
        let metric = cell.metric(MetricId::DecodeTokensPerS);
        figures.push(write_chart(dir, &ratio, &ratio_chart(&cell.cell, cell_pairs, metric))?);
    }
    let doc = AbDocument { report: r, figures };
    write_document(dir, &doc, &ab_exporters())?;
    Ok(doc.markdown())
}

/// report.html of an A/B run: the verdict table per cell and its charts, self-contained.
fn ab_html(r: &AbReport, figures: &[Figure]) -> String {
    let mut s = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>bakeoff ab {}</title><style>{}</style></head><body>",
        esc(&r.scenario),
        super::html::STYLE
    );
    s += &format!(
        "<h1>bakeoff ab: {}</h1><p>baseline <b>{}</b>, candidate <b>{}</b>, interleaved in one run. A change counts \
         when the whole 95% interval of the paired change lies beyond its threshold.</p>",
        esc(&r.scenario),
        esc(&r.baseline),
        esc(&r.candidate)
    );
    for w in &r.warnings {
        s += &format!("<p class=\"note\">WARNING {}</p>", esc(w));
    }
    s += &format!("<p><b>Verdict: {}</b></p>", if r.pass { "PASS" } else { "FAIL" });
    for reason in r.reasons.iter().filter(|r| r.severity != Severity::Note) {
        let class = if reason.severity == Severity::Fail { "bad" } else { "note" };
        s += &format!(
            "<p class=\"{class}\">{:?} {} {:?}: {}</p>",
            reason.severity,
            esc(&reason.cell.to_string()),
            reason.aspect,
            esc(&reason.what)
        );
    }
    for c in &r.cells {
        s += &format!("<h2>{}: {} ({} pairs)</h2>", esc(&c.cell.to_string()), c.status.name(), c.pairs);
        if let Some(why) = &c.reason {
            s += &format!("<p>{}</p>", esc(why));
        }
        s += "<table><tr><th>metric</th><th>baseline</th><th>candidate</th><th>change [95% interval]</th><th>threshold</th><th>min. detectable</th><th>verdict</th></tr>";
        for m in ordered(c) {
            let class = if m.verdict == PerfVerdict::Regressed { " class=\"failed\"" } else { "" };
            s += &format!(
                "<tr{class}><td>{} ({})</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{:.1}%</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(m.metric.name()),
                esc(m.unit),
                value(m.baseline),
                value(m.candidate),
                esc(&m.describe()),
                100.0 * m.threshold,
                pct(m.minimum_detectable_effect),
                esc(&verdict_word(m).replace("**", ""))
            );
        }
        s += "</table>";
        for line in checks_markdown(c).lines().filter(|l| !l.is_empty()) {
            s += &format!("<p>{}</p>", esc(line));
        }
        let prefix = format!("{}: ", c.cell);
        for f in figures.iter().filter(|f| f.title.starts_with(&prefix)) {
            s += &format!("<figure><figcaption>{}</figcaption>{}</figure>", esc(&f.title), f.svg);
        }
    }
    s + "</body></html>\n"
}

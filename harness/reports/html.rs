//! report.html: one self-contained file (inline CSS and SVG charts, no script, nothing
//! fetched) with the summary table, the correctness verdicts, failed and skipped cells with
//! their reasons, and the fingerprint. It opens in a browser with no network.

use super::{key_values, Exporter, ReportError, RunReport, MD_METRICS};
use crate::results::metrics::{Direction, METRICS};
use crate::results::CellStatus;

/// The HTML report.
pub struct Html;

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The style sheet every HTML report inlines.
pub const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em;color:#222;max-width:1400px}\
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px}\
th{background:#f0f0f0;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.failed{background:#fde2e2}.skipped,.unsupported{background:#f3f3f3;color:#666}\
.note{background:#fff6d5;border-left:4px solid #e0b000;padding:8px 12px}\
.bad{color:#b00020;font-weight:bold}figure{margin:1.5em 0}figcaption{font-weight:bold;margin-bottom:.5em}\
svg{max-width:100%;height:auto}";

fn table(head: &[String], rows: &[(String, Vec<String>)], numeric_from: usize) -> String {
    let mut s = String::from("<table><tr>");
    for h in head {
        s += &format!("<th>{}</th>", esc(h));
    }
    s += "</tr>\n";
    for (class, cells) in rows {
        s += &format!("<tr class=\"{class}\">");
        for (i, c) in cells.iter().enumerate() {
            let cls = if i >= numeric_from { " class=\"num\"" } else { "" };
            s += &format!("<td{cls}>{}</td>", esc(c));
        }
        s += "</tr>\n";
    }
    s + "</table>\n"
}

fn summary_table(run: &RunReport) -> String {
    let metrics: Vec<_> = METRICS.iter().filter(|m| MD_METRICS.contains(&m.id)).collect();
    let mut head: Vec<String> = ["model", "pipeline", "device", "profile", "cache", "status", "samples"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for m in &metrics {
        let arrow = match m.direction {
            Direction::Lower => " ↓",
            Direction::Higher => " ↑",
            Direction::Neither => "",
        };
        head.push(format!("{} ({}){arrow}", m.name, m.unit));
    }
    let rows: Vec<(String, Vec<String>)> = run
        .cells
        .iter()
        .map(|c| {
            let k = key_values(c);
            let mut row =
                vec![k[0].clone(), k[1].clone(), k[2].clone(), k[3].clone(), k[4].clone(), k[5].clone(), k[8].clone()];
            row.extend(metrics.iter().map(|m| super::table_value(c, m)));
            (c.status.name().to_string(), row)
        })
        .collect();
    let mut s = table(&head, &rows, 6);
    s += &format!("<p class=\"note\">{}</p>\n", esc(super::SPREAD_NOTE));
    let unstable = super::unstable_lines(run.cells);
    if !unstable.is_empty() {
        s += "<h3>Unstable cells</h3>\n<ul class=\"bad\">\n";
        s += &unstable.iter().map(|l| format!("<li>⚠ {}</li>\n", esc(l))).collect::<String>();
        s += "</ul>\n";
    }
    let changed = super::property_change_lines(run.cells);
    if !changed.is_empty() {
        s += "<h3>Properties the plugin changed or did not report</h3>\n";
        s += &format!("<p class=\"note\">{}</p>\n<ul>\n", esc(super::PROPERTY_CHANGES_NOTE));
        s += &changed.iter().map(|l| format!("<li>{}</li>\n", esc(l))).collect::<String>();
        s += "</ul>\n";
    }
    if let Some(why) = crate::fingerprint::energy_absence(run.fingerprint) {
        s += &format!("<p>joules_per_token is empty, never zero: package energy is {}.</p>\n", esc(&why));
    }
    s
}

fn correctness_section(run: &RunReport) -> String {
    let c = run.correctness;
    if c.golden.is_empty() && c.pipelines.is_empty() && c.devices.is_empty() {
        return "<p>No golden set named by the scenario; kvcache against static128 had no pair to compare.</p>".into();
    }
    let mut s = format!("<p>Near tie: the expected top-2 margin below {} logits.</p>", c.near_tie);
    let counts: Vec<(String, Vec<String>)> = c
        .counts()
        .into_iter()
        .map(|(name, g, p, d)| (String::new(), vec![name.to_string(), g.to_string(), p.to_string(), d.to_string()]))
        .collect();
    s += &table(
        &["verdict".into(), "golden checks".into(), "kvcache vs static128".into(), "NPU vs CPU (reported)".into()],
        &counts,
        1,
    );
    let rows: Vec<(String, Vec<String>)> = c
        .findings()
        .filter(|f| f.verdict.severity() > 0)
        .map(|f| {
            let class = if f.fails() { "failed" } else { "" };
            let enforced = if f.enforced { "yes" } else { "no (reported only)" };
            let row = vec![
                f.kind.label().into(),
                f.cell.to_string(),
                f.prompt_id.to_string(),
                f.verdict.to_string(),
                enforced.into(),
            ];
            (class.to_string(), row)
        })
        .collect();
    if !rows.is_empty() {
        s += &table(
            &["check".into(), "cell".into(), "prompt".into(), "verdict".into(), "enforced".into()],
            &rows,
            usize::MAX,
        );
    }
    let short = c.short_outputs();
    if !short.is_empty() {
        s += &format!("<h3>Outputs that end early</h3><p>{}</p><ul>", esc(super::SHORT_NOTE));
        s += &short.iter().map(|l| format!("<li>{}</li>", esc(l))).collect::<String>();
        s += "</ul>";
    }
    s
}

fn not_completed(run: &RunReport) -> String {
    let rows: Vec<(String, Vec<String>)> = run
        .cells
        .iter()
        .filter(|c| c.status != CellStatus::Completed)
        .map(|c| {
            let status = c.status.name().to_string();
            (status.clone(), vec![c.cell.to_string(), status, c.reason.clone().unwrap_or_default()])
        })
        .collect();
    if rows.is_empty() {
        return "<p>Every cell completed.</p>".into();
    }
    table(&["cell".into(), "status".into(), "reason".into()], &rows, usize::MAX)
}

fn fingerprint_table(run: &RunReport) -> String {
    let rows: Vec<(String, Vec<String>)> =
        crate::fingerprint::fields(run.fingerprint).into_iter().map(|(k, v)| (String::new(), vec![k, v])).collect();
    table(&["field".into(), "value".into()], &rows, usize::MAX)
}

impl Exporter<RunReport<'_>> for Html {
    fn file_name(&self) -> &'static str {
        "report.html"
    }

    fn render(&self, run: &RunReport) -> Result<Vec<u8>, ReportError> {
        let count = |st| run.cells.iter().filter(|c| c.status == st).count();
        let mut s = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>bakeoff run: {0}</title>\
             <style>{STYLE}</style></head><body>\n<h1>bakeoff run: {0}</h1>\n",
            esc(run.scenario)
        );
        s += &format!(
            "<p id=\"counts\">{} cells: {} completed, {} failed, {} skipped, {} unsupported. \
             Warm-up samples are run and excluded from every metric.</p>\n",
            run.cells.len(),
            count(CellStatus::Completed),
            count(CellStatus::Failed),
            count(CellStatus::Skipped),
            count(CellStatus::Unsupported)
        );
        let wrong = run.correctness.failures();
        if !wrong.is_empty() {
            s += &format!("<p class=\"bad\">Correctness failures: {}</p>\n", wrong.len());
        }
        if run.cells.iter().any(|c| c.cell.device.disclaimer().is_some()) {
            s += "<p class=\"note\"><b>NPU:host cells: NPUW host execution: not NPU silicon.</b> The NPU plugin's \
                  NPUW pipeline ran with the host CPU executing the parts; their speed says nothing about an NPU.</p>\n";
        }
        s += "<h2>Summary</h2>\n";
        s += &summary_table(run);
        s += "<h2>Charts</h2>\n";
        for f in run.figures {
            s += &format!(
                "<figure id=\"{}\" aria-label=\"{}\">{}</figure>\n",
                esc(&f.stem),
                esc(&f.title),
                strip_xml_declaration(&f.svg)
            );
        }
        s += "<h2>Correctness</h2>\n";
        s += &correctness_section(run);
        s += "<h2>Failed, skipped and unsupported cells</h2>\n";
        s += &not_completed(run);
        let refused = super::refused_lines(run.by_length);
        if !refused.is_empty() {
            s += &format!("<h2>Refused prompts</h2>\n<p>{}</p><ul>", esc(super::REFUSED_NOTE));
            s += &refused.iter().map(|l| format!("<li>{}</li>", esc(l))).collect::<String>();
            s += "</ul>\n";
        }
        s += "<h2>Fingerprint</h2>\n";
        s += &fingerprint_table(run);
        s += "</body></html>\n";
        Ok(s.into_bytes())
    }
}

/// An SVG document's text without its XML declaration, for inlining in HTML.
fn strip_xml_declaration(svg: &str) -> &str {
    match svg.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(svg, |(_, body)| body.trim_start()),
        None => svg,
    }
}

//! A profile search's documents: `search.md`, `search.json`, the front chart and
//! `report.html`, all from the [`SearchReport`] the search decided (nothing recomputed).

use super::charts::{write_chart, Chart, Figure, Scatter, Series};
use super::document::{write_document, Exporter, Json, Markdown, ToMarkdown};
use super::html::{esc, STYLE};
use super::ReportError;
use crate::decide::pareto::{ProfileFigure, OBJECTIVES};
use crate::decide::search::{Measured, SearchReport};
use crate::metrics::MetricId;
use crate::results::folder::file;
use std::path::Path;

/// A search's document: what it decided and the front chart drawn for it.
#[derive(serde::Serialize)]
pub struct SearchDocument<'a> {
    /// The decisions (what search.json holds).
    #[serde(flatten)]
    pub report: &'a SearchReport,
    /// The front chart, drawn before (report.html inlines it).
    #[serde(skip)]
    pub front: Figure,
}

impl ToMarkdown for SearchDocument<'_> {
    fn markdown(&self) -> String {
        search_markdown(self.report)
    }
}

/// report.html of a search.
pub struct SearchHtml;

impl Exporter<SearchDocument<'_>> for SearchHtml {
    fn file_name(&self) -> &'static str {
        file::REPORT_HTML
    }
    fn render(&self, doc: &SearchDocument<'_>) -> Result<Vec<u8>, ReportError> {
        Ok(search_html(doc.report, &doc.front).into_bytes())
    }
}

/// Every format of a search: search.json, search.md, report.html.
pub fn search_exporters<'a>() -> [&'a dyn Exporter<SearchDocument<'a>>; 3] {
    [&Json(file::SEARCH_JSON), &Markdown(file::SEARCH_MD), &SearchHtml]
}

/// Draw the front chart and write every format of the search into `dir`; returns the
/// markdown.
pub fn write_search_reports(dir: &Path, r: &SearchReport) -> Result<String, ReportError> {
    let front = write_chart(dir, file::FRONT_CHART, &front_chart(r))?;
    let doc = SearchDocument { report: r, front };
    write_document(dir, &doc, &search_exporters())?;
    Ok(doc.markdown())
}

/// The candidates as a scatter of TTFT against decode speed: the front filled, the
/// dominated hollow and grey.
pub fn front_chart(r: &SearchReport) -> Chart {
    let point = |m: &Measured| {
        let figure = |id: MetricId| m.figures.get(&ProfileFigure::Metric(id)).copied();
        figure(MetricId::TtftP50Ms).zip(figure(MetricId::DecodeTokensPerS))
    };
    let series = |name: &str, color: usize, filled: bool, on: bool| Series {
        name: name.into(),
        color,
        filled,
        points: r.candidates.iter().filter(|(_, f)| *f == on).filter_map(|(m, _)| point(m)).collect(),
    };
    let mut note = "The front is judged on every objective of search.md (TTFT, decode, ITL p90, compile, memory, \
                    CPU, energy where measured); this plane shows two of them."
        .to_string();
    if let Some(n) = &r.note {
        note = format!("{n}. {note}");
    }
    Chart::Scatter(Scatter {
        title: format!("{}: search front, {}", r.scenario, r.cell),
        x_label: "TTFT p50 (ms)".into(),
        y_label: "decode tokens/s".into(),
        series: vec![series("on the front", 0, true, true), series("dominated", 7, false, false)],
        note,
        legend_right: true,
    })
}

fn figure(m: &Measured, which: ProfileFigure) -> String {
    m.figures.get(&which).map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

/// search.md.
pub fn search_markdown(r: &SearchReport) -> String {
    let mut s = format!("# bakeoff search: {}\n\nCell {}.", r.scenario, r.cell);
    if let Some(n) = &r.note {
        s += &format!(" {n}.");
    }
    s += &format!(
        "\nBudget {:.1} min; the measuring stages used {:.1} min. Stopped: {}.\n\n",
        r.budget_minutes, r.used_minutes, r.stopped
    );
    s += &stages_table(r);
    s += &keys_table(r);
    s += &candidates_table(r);
    s += &finalists_section(r);
    s
}

fn stages_table(r: &SearchReport) -> String {
    let mut s =
        "## Stages\n\n| folder | what | profiles | repetitions | minutes |\n|---|---|---:|---:|---:|\n".to_string();
    for st in &r.stages {
        s += &format!(
            "| {} | {} | {} | {} | {:.1} |\n",
            st.folder,
            st.what,
            st.profiles,
            st.repetitions,
            st.wall_s / 60.0
        );
    }
    s + "\n"
}

fn keys_table(r: &SearchReport) -> String {
    let mut s = "## Keys that helped alone\n\n".to_string();
    if r.keys_that_helped.is_empty() {
        return s + "No key, varied alone, beat the base beyond its noise threshold: the grid was skipped.\n\n";
    }
    s += "| key | helpful values | best gain | on |\n|---|---|---:|---|\n";
    for k in &r.keys_that_helped {
        s += &format!("| {} | {} | {:+.1}% | {} |\n", k.key, k.values.join(", "), 100.0 * k.gain, k.metric);
    }
    s + "\n"
}

fn candidates_table(r: &SearchReport) -> String {
    let mut s =
        "## Candidates (each at its latest, most-sampled stage)\n\n| profile | front | stage | reps |".to_string();
    for o in OBJECTIVES {
        s += &format!(" {} ({}) |", o.figure, o.unit);
    }
    s += " status |\n|---|---|---|---:|";
    s += &"---:|".repeat(OBJECTIVES.len());
    s += "---|\n";
    let mut rows: Vec<&(Measured, bool)> = r.candidates.iter().collect();
    rows.sort_by_key(|(m, on)| (!on, m.candidate.lost.is_some(), m.profile.clone()));
    for (m, on) in rows {
        s += &format!("| {} | {} | {} | {} |", m.profile, if *on { "yes" } else { "" }, m.stage, m.repetitions);
        for o in OBJECTIVES {
            s += &format!(" {} |", figure(m, o.figure));
        }
        s += &format!(" {} |\n", m.candidate.lost.as_deref().unwrap_or("ok"));
    }
    s + "\n"
}

fn finalists_section(r: &SearchReport) -> String {
    let mut s = format!("## Finalists, measured paired\n\nFinalists (leader first): {}.\n\n", r.finalists.join(", "));
    if !r.pairs.is_empty() {
        s += "| folder | leader | against | pairs | change of the leader [95%] | min. detectable | verdict |\n";
        s += "|---|---|---|---:|---|---:|---|\n";
        for p in &r.pairs {
            let (change, mde, verdict) = match &p.judged {
                Some(m) => (
                    format!("{} {}", m.metric, m.describe()),
                    m.minimum_detectable_effect.map_or("-".into(), |x| format!("{:.1}%", 100.0 * x)),
                    m.verdict.name().to_string(),
                ),
                None => ("-".into(), "-".into(), p.reason.clone().unwrap_or_else(|| "no verdict".into())),
            };
            s += &format!(
                "| {} | {} | {} | {} | {change} | {mde} | {verdict} |\n",
                p.folder, p.leader, p.challenger, p.pairs
            );
        }
        s += "\n";
    }
    match &r.pick {
        Some(p) => {
            s += &format!(
                "## Pick\n\n**{}**. {}\n\nExported as `{}` (a bakeoff profile file) and `{}` (openvino-genai / \
                 llm_bench `-lc`).\n",
                p.winner,
                p.statement,
                file::WINNER_TOML,
                file::WINNER_GENAI
            )
        }
        None => s += "## Pick\n\nNo candidate completed and met the constraints.\n",
    }
    s
}

/// report.html: the markdown's tables as text and the front chart, self-contained.
fn search_html(r: &SearchReport, figure: &Figure) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>bakeoff search {}</title><style>{STYLE}</style>\
         </head><body><figure><figcaption>{}</figcaption>{}</figure><pre>{}</pre></body></html>\n",
        esc(&r.scenario),
        esc(&figure.title),
        figure.svg,
        esc(&search_markdown(r))
    )
}

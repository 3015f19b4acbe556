//! `bakeoff recommend RUN [constraints]`: the best profile per device and pipeline; for the
//! folder of a profile search, the best of its Pareto front.

use super::{open_run as open, print_json};
use crate::cli::{DecisionOutput, Format, RecommendArgs};
use crate::decide::recommend::{recommend, Constraints, RecommendDocument, Recommendation};
use crate::exit::{Failure, SUCCESS};
use crate::reports::decisions::RECOMMEND;
use crate::reports::{write_decision, ToMarkdown};

/// A search folder's recommendation: chosen from its front (see
/// [`crate::decide::search::recommend_from_front`]).
fn from_front(
    key: crate::plan::CellKey,
    latest: &[crate::decide::search::Measured],
    k: &Constraints,
) -> Recommendation {
    let (best, candidates) = crate::decide::search::recommend_from_front(latest, k);
    Recommendation {
        model: key.model,
        device: key.device,
        pipeline: key.pipeline,
        cache: key.cache.name().to_string(),
        best,
        candidates,
    }
}

/// Recommend profiles from one run, or from a search folder's front.
pub fn run(args: &RecommendArgs) -> Result<i32, Failure> {
    let constraints = Constraints {
        max_ttft_ms: args.max_ttft_ms,
        min_tokens_per_s: args.min_tokens_per_s,
        max_prompt_len: args.max_prompt_len,
        max_rss_mb: args.max_rss_mb,
        exact: args.exact,
        max_cpu_ms_per_token: args.max_cpu_ms_per_token,
        max_joules_per_token: args.max_joules_per_token,
        prefer: args.prefer.into(),
    };
    let recs = match crate::decide::search_folder::read_latest(&args.run)? {
        Some((key, latest)) => vec![from_front(key, &latest, &constraints)],
        None => recommend(&open(&args.run)?, &constraints).map_err(Failure::input)?,
    };
    let out = DecisionOutput { dir: args.out.dir.clone(), format: args.out.format };
    let dir = out.dir.as_deref().unwrap_or(&args.run);
    let doc = RecommendDocument { constraints, recommendations: recs };
    write_decision(dir, &doc, &RECOMMEND, None).map_err(Failure::harness)?;
    match out.format {
        Format::Json => print_json(&doc)?,
        Format::Text => println!("{}", doc.markdown()),
    }
    Ok(SUCCESS)
}

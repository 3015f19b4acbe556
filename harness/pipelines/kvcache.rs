//! kvcache: the stateful IR (KV cache in ReadValue/Assign variables). Prefill the whole
//! prompt once, then feed one token per step. On CPU the shapes are dynamic; on NPU the
//! same IR is compiled with a profile's NPUW_LLM properties and the plugin splits it into
//! prefill and generate models itself. The C API has no reset_state, so every generation
//! gets a fresh infer request (reusing one without a reset fails, or with one thread silently gives wrong tokens). The
//! request is made ahead, between generations, as a serving loop keeps one ready:
//! openvino-genai resets and reuses its request, so neither TTFT pays for an allocation.

use super::names::{ATTENTION_MASK, BEAM_IDX, INPUT_IDS, POSITION_IDS};
use super::{
    logits_top2, GenerateError, GenerationConfig, Greedy, Observer, Pipeline, StepClock, StopReason, Transcript, Turn,
};
use crate::pipeline_kind::PipelineKind;
use crate::runtime::{CompiledModel, ElementType, InferRequest, Tensor};

/// The kvcache pipeline over a compiled stateful IR.
pub struct KvCache {
    compiled: CompiledModel,
    /// The next generation's request, made after the previous generation ended.
    spare: Option<InferRequest>,
    /// NPUW's limits for these compile properties; None: NPUW_LLM is off (dynamic shapes).
    limits: Option<NpuwLimits>,
    /// The conversation whose KV state the last turn left (see [`Pipeline::generate_turn`]).
    kept: Option<Kept>,
}

/// A conversation's request kept between turns: its KV state holds `fed`.
struct Kept {
    decoder: Decoder,
    /// Every token fed so far: the history and the answers, but not each answer's last token
    /// (generated, never fed).
    fed: Vec<i64>,
}

/// What NPUW's LLM pipeline accepts, from its compile properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NpuwLimits {
    /// The longest prompt, tokens (NPUW_LLM_MAX_PROMPT_LEN, default 1024): the plugin
    /// refuses a longer one at infer time, as openvino-genai's NPU pipeline does before.
    pub max_prompt_len: usize,
    /// Tokens the KV cache holds at most (see [`NpuwLimits::of`]).
    pub capacity: usize,
}

impl NpuwLimits {
    /// The limits of a compile with `properties`; None when NPUW_LLM is off. The KV
    /// capacity is the prompt window plus the response room, each rounded up to a multiple
    /// of 64 (the plugin's `align_to(..., 64)`, defaults 1024 and 128), less the one slot the
    /// plugin keeps (checked: 64 + 64 fails with "KV-Cache is full: num_stored_tokens=127
    /// capacity=127").
    pub fn of(properties: &[(String, String)]) -> Option<NpuwLimits> {
        let get = |k: &str| properties.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        if get("NPUW_LLM") != Some("YES") {
            return None;
        }
        let num = |k: &str, default: usize| get(k).and_then(|v| v.parse().ok()).unwrap_or(default);
        let align = |v: usize| v.div_ceil(64) * 64;
        let max_prompt_len = num("NPUW_LLM_MAX_PROMPT_LEN", 1024);
        let capacity = align(max_prompt_len) + align(num("NPUW_LLM_MIN_RESPONSE_LEN", 128)) - 1;
        Some(NpuwLimits { max_prompt_len, capacity })
    }
}

/// The plugin's own sentence in an OpenVINO error: its first line that is not one of the
/// "Exception from FILE:LINE:" frames the runtime stacks above it.
fn plugin_says(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("Exception from") && !l.contains("failed (GENERAL_ERROR)"))
        .unwrap_or(text.trim())
}

/// One generation's request and the decode-step tensors it reuses every token.
struct Decoder {
    request: InferRequest,
    token: Tensor,
    position: Tensor,
    mask: Tensor,
}

impl Decoder {
    /// Prefill `prompt` on a fresh request (fresh KV state); returns the decoder, ready
    /// for one token per step, and the first token.
    fn prefill(
        mut request: InferRequest,
        prompt: &[i64],
        max_new: usize,
        clock: &mut StepClock,
    ) -> Result<(Decoder, i64, f32), GenerateError> {
        let mut beam = Tensor::new(ElementType::I32, &[1])?;
        beam.data_mut::<i32>()?[0] = 0;
        request.set_tensor(BEAM_IDX, &beam)?;
        let mut decoder = Decoder {
            request,
            token: Tensor::new(ElementType::I64, &[1, 1])?,
            position: Tensor::new(ElementType::I64, &[1, 1])?,
            mask: Tensor::new(ElementType::I64, &[1, 1])?,
        };
        let (id, margin) = decoder.extend(prompt, 0, max_new, clock)?;
        Ok((decoder, id, margin))
    }

    /// Feed `tokens` at positions `past..` in one infer (a prefill when `past` is 0; a
    /// conversation's new turn after the tokens its KV state already holds), then bind the
    /// one-token tensors again; returns the next token. The mask is allocated at the length
    /// this generation can reach, all ones; `step`'s set_shape then only changes the visible
    /// length (no reallocation while it fits).
    fn extend(
        &mut self,
        tokens: &[i64],
        past: usize,
        max_new: usize,
        clock: &mut StepClock,
    ) -> Result<(i64, f32), GenerateError> {
        let n = tokens.len() as i64;
        let mut ids = Tensor::new(ElementType::I64, &[1, n])?;
        ids.data_mut::<i64>()?.copy_from_slice(tokens);
        let mut pos = Tensor::new(ElementType::I64, &[1, n])?;
        for (i, p) in pos.data_mut::<i64>()?.iter_mut().enumerate() {
            *p = (past + i) as i64;
        }
        let total = past as i64 + n;
        self.mask = Tensor::new(ElementType::I64, &[1, total + max_new as i64])?;
        self.mask.data_mut::<i64>()?.fill(1);
        self.mask.set_shape(&[1, total])?;
        self.request.set_tensor(INPUT_IDS, &ids)?;
        self.request.set_tensor(POSITION_IDS, &pos)?;
        self.request.set_tensor(ATTENTION_MASK, &self.mask)?;
        clock.infer(|| self.request.infer())?;
        let first = logits_top2(&self.request, None)?;
        // From here on every step has the same one-token shapes: bind those tensors once.
        self.request.set_tensor(INPUT_IDS, &self.token)?;
        self.request.set_tensor(POSITION_IDS, &self.position)?;
        Ok((first.id as i64, first.margin))
    }

    /// Feed `token` at position `past` (the number of tokens already in the cache).
    fn step(&mut self, token: i64, past: usize, clock: &mut StepClock) -> Result<(i64, f32), GenerateError> {
        self.token.data_mut::<i64>()?[0] = token;
        self.position.data_mut::<i64>()?[0] = past as i64;
        self.mask.set_shape(&[1, past as i64 + 1])?;
        // Rebound after the reshape so every plugin sees the new length.
        self.request.set_tensor(ATTENTION_MASK, &self.mask)?;
        clock.infer(|| self.request.infer())?;
        let t = logits_top2(&self.request, None)?;
        Ok((t.id as i64, t.margin))
    }
}

impl KvCache {
    /// Wrap a compiled stateful IR.
    pub fn new(compiled: CompiledModel, limits: Option<NpuwLimits>) -> KvCache {
        KvCache { compiled, spare: None, limits, kept: None }
    }

    /// A failed prefill of a prompt over NPUW's prompt window is the plugin refusing it
    /// (2026.3 and 2026.4 raise "Input prompt is longer than configured
    /// NPUW_LLM_MAX_PROMPT_LEN"): a limit of the configuration, classified as such whatever
    /// the plugin's wording, and never a truncated prompt counted as a measurement.
    fn classify_prefill_error(&self, prompt_len: usize, e: GenerateError) -> GenerateError {
        match self.limits {
            Some(l) if prompt_len > l.max_prompt_len => GenerateError::Unsupported(format!(
                "prompt over NPUW_LLM_MAX_PROMPT_LEN: {prompt_len} tokens, the profile allows {}; refused by the \
                 plugin: {}",
                l.max_prompt_len,
                plugin_says(&e.to_string())
            )),
            _ => e,
        }
    }

    /// The request for the next generation: the spare, or a new one.
    fn take_request(&mut self) -> Result<InferRequest, GenerateError> {
        match self.spare.take() {
            Some(r) => Ok(r),
            None => Ok(self.compiled.create_infer_request()?),
        }
    }
}

impl Pipeline for KvCache {
    fn kind(&self) -> PipelineKind {
        PipelineKind::Kvcache
    }

    fn generate(
        &mut self,
        prompt_ids: &[i64],
        config: &GenerationConfig,
        observer: &mut dyn Observer,
    ) -> Result<Transcript, GenerateError> {
        if prompt_ids.is_empty() {
            return Err(GenerateError::Unsupported("the prompt has no tokens".into()));
        }
        let greedy = Greedy::new(config, observer);
        if config.max_new_tokens == 0 {
            return Ok(greedy.into_transcript(prompt_ids, StopReason::MaxNewTokens, false));
        }
        self.kept = None;
        let (transcript, decoder) = self.fresh(prompt_ids, greedy)?;
        drop(decoder);
        self.spare = Some(self.compiled.create_infer_request()?);
        Ok(transcript)
    }

    /// A turn keeps the conversation's KV state on CPU: when the history starts with every
    /// token the state holds, only the rest is fed (the new turn, and the end of the
    /// previous answer the template adds), as openvino-genai's `start_chat` does. When the
    /// history does not (the previous answer tokenized otherwise once rendered), the turn
    /// starts from a fresh request: the C API has no way to trim a state, where GenAI trims
    /// its cache. NPUW's pipeline starts its KV cache anew on every prefill, so on NPU every
    /// turn re-prefills the whole history (with NPUW_LLM_ENABLE_PREFIX_CACHING the plugin
    /// reuses its cached prefix blocks itself).
    fn generate_turn(
        &mut self,
        history: &[i64],
        config: &GenerationConfig,
        observer: &mut dyn Observer,
    ) -> Result<Turn, GenerateError> {
        let kept = self.kept.take().filter(|k| history.len() > k.fed.len() && history.starts_with(&k.fed));
        if self.limits.is_some() || history.is_empty() || config.max_new_tokens == 0 {
            return self.recompute_turn(history, config, observer);
        }
        let mut greedy = Greedy::new(config, observer);
        let Some(Kept { mut decoder, fed }) = kept else {
            let (transcript, decoder) = self.fresh(history, greedy)?;
            self.kept = Some(Kept { decoder, fed: fed_after(&transcript) });
            return Ok(Turn { prefilled: history.len(), transcript });
        };
        let mut clock = StepClock::start();
        let new = &history[fed.len()..];
        let first = decoder.extend(new, fed.len(), config.max_new_tokens, &mut clock)?;
        let (stop, decoder) = self.decode(decoder, &mut greedy, &mut clock, first, history.len())?;
        let transcript = greedy.into_transcript(history, stop, false);
        self.kept = Some(Kept { decoder, fed: fed_after(&transcript) });
        Ok(Turn { prefilled: new.len(), transcript })
    }

    fn end_conversation(&mut self) {
        self.kept = None;
    }
}

/// Every token a generation fed into its KV state: the prompt and every generated token but
/// the last.
fn fed_after(t: &Transcript) -> Vec<i64> {
    let generated = &t.output_ids[..t.output_ids.len().saturating_sub(1)];
    t.prompt_ids.iter().chain(generated).copied().collect()
}

impl KvCache {
    /// One token per step from the first token `(id, margin)` until a stop, `past` tokens
    /// already in the cache; returns the stop and the decoder (its state holds the history
    /// and every token but the last).
    fn decode(
        &self,
        mut decoder: Decoder,
        greedy: &mut Greedy,
        clock: &mut StepClock,
        (mut id, margin): (i64, f32),
        mut past: usize,
    ) -> Result<(StopReason, Decoder), GenerateError> {
        let mut stop = greedy.push(clock, id, margin);
        while stop.is_none() {
            // The next step stores one more token; a full static cache ends generation here
            // (the plugin would fail or overwrite).
            if self.limits.is_some_and(|l| past >= l.capacity) {
                stop = Some(StopReason::KvFull);
                break;
            }
            let (next, margin) = decoder.step(id, past, clock)?;
            past += 1;
            id = next;
            stop = greedy.push(clock, id, margin);
        }
        Ok((stop.expect("loop ends with a stop reason"), decoder))
    }

    /// A generation on a fresh request (fresh KV state): its transcript, and the decoder
    /// whose state holds it (a conversation keeps it; a single generation drops it).
    fn fresh(&mut self, prompt_ids: &[i64], mut greedy: Greedy) -> Result<(Transcript, Decoder), GenerateError> {
        let request = self.take_request()?;
        let mut clock = StepClock::start();
        let (decoder, id, margin) = Decoder::prefill(request, prompt_ids, greedy.config.max_new_tokens, &mut clock)
            .map_err(|e| self.classify_prefill_error(prompt_ids.len(), e))?;
        let (stop, decoder) = self.decode(decoder, &mut greedy, &mut clock, (id, margin), prompt_ids.len())?;
        Ok((greedy.into_transcript(prompt_ids, stop, false), decoder))
    }
}

#[cfg(test)]
mod tests {
    use super::{plugin_says, NpuwLimits};

    fn npuw_kv_capacity(properties: &[(String, String)]) -> Option<usize> {
        NpuwLimits::of(properties).map(|l| l.capacity)
    }

    fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn capacity_follows_the_plugin_rounding_and_defaults() {
        assert_eq!(npuw_kv_capacity(&props(&[])), None);
        assert_eq!(npuw_kv_capacity(&props(&[("NPUW_LLM", "YES")])), Some(1024 + 128 - 1));
        let p = props(&[("NPUW_LLM", "YES"), ("NPUW_LLM_MAX_PROMPT_LEN", "100"), ("NPUW_LLM_MIN_RESPONSE_LEN", "16")]);
        assert_eq!(npuw_kv_capacity(&p), Some(128 + 64 - 1));
    }

    #[test]
    fn limits_take_the_prompt_window_or_the_plugin_default() {
        assert_eq!(NpuwLimits::of(&props(&[])), None);
        let default = NpuwLimits::of(&props(&[("NPUW_LLM", "YES")])).unwrap();
        assert_eq!(default.max_prompt_len, 1024);
        let p = props(&[("NPUW_LLM", "YES"), ("NPUW_LLM_MAX_PROMPT_LEN", "2048")]);
        assert_eq!(NpuwLimits::of(&p).unwrap().max_prompt_len, 2048);
    }

    #[test]
    fn the_plugin_sentence_is_found_below_the_exception_frames() {
        // The text 2026.4.1's NPU plugin gives for a prompt over its window, as the C API
        // reports it.
        let text = "ov_infer_request_infer failed (GENERAL_ERROR): Exception from src/inference/src/cpp/infer_request.cpp:224:\n\
                    Exception from src/plugins/intel_npu/src/plugin/npuw/llm_infer_request.cpp:1285:\n\
                    Input prompt is longer than configured \"NPUW_LLM_MAX_PROMPT_LEN\": 1024.\n\
                    Please either setup bigger \"NPUW_LLM_MAX_PROMPT_LEN\" or shorten the prompt.\n";
        assert_eq!(plugin_says(text), "Input prompt is longer than configured \"NPUW_LLM_MAX_PROMPT_LEN\": 1024.");
        assert_eq!(plugin_says("just this"), "just this");
    }
}

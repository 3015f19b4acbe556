//! kvcache: the stateful IR (KV cache in ReadValue/Assign variables). Prefill the whole
//! prompt once, then feed one token per step. On CPU the shapes are dynamic; on NPU the
//! same IR is compiled with a profile's NPUW_LLM properties and the plugin splits it into
//! prefill and generate models itself. The C API has no reset_state, so every generation
//! gets a fresh infer request (reusing one without a reset fails, or with one thread silently gives wrong tokens). The
//! request is made ahead, between generations, as a serving loop keeps one ready:
//! openvino-genai resets and reuses its request, so neither TTFT pays for an allocation.

use super::names::{ATTENTION_MASK, BEAM_IDX, INPUT_IDS, POSITION_IDS};
use super::{
    logits_top2, GenerateError, GenerationConfig, Greedy, Observer, Pipeline, StepClock, StopReason, Transcript,
};
use crate::pipeline_kind::PipelineKind;
use crate::runtime::{CompiledModel, ElementType, InferRequest, Tensor};

/// The kvcache pipeline over a compiled stateful IR.
pub struct KvCache {
    compiled: CompiledModel,
    /// The next generation's request, made after the previous generation ended.
    spare: Option<InferRequest>,
    /// Tokens the KV cache holds at most (NPUW's static cache); None: dynamic (CPU).
    capacity: Option<usize>,
}

/// The tokens NPUW's LLM pipeline can hold for these compile properties: its prompt window
/// plus its response room, each rounded up to a multiple of 64 (the plugin's
/// `align_to(..., 64)`, defaults 1024 and 128), less the one slot the plugin keeps (checked:
/// 64 + 64 fails with "KV-Cache is full: num_stored_tokens=127 capacity=127"). None when
/// NPUW_LLM is off.
pub fn npuw_kv_capacity(properties: &[(String, String)]) -> Option<usize> {
    let get = |k: &str| properties.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    if get("NPUW_LLM") != Some("YES") {
        return None;
    }
    let align = |v: usize| v.div_ceil(64) * 64;
    let num = |k: &str, default: usize| get(k).and_then(|v| v.parse().ok()).unwrap_or(default);
    Some(align(num("NPUW_LLM_MAX_PROMPT_LEN", 1024)) + align(num("NPUW_LLM_MIN_RESPONSE_LEN", 128)) - 1)
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
        let n = prompt.len() as i64;
        let mut ids = Tensor::new(ElementType::I64, &[1, n])?;
        ids.data_mut::<i64>()?.copy_from_slice(prompt);
        let mut pos = Tensor::new(ElementType::I64, &[1, n])?;
        for (i, p) in pos.data_mut::<i64>()?.iter_mut().enumerate() {
            *p = i as i64;
        }
        // The mask is allocated once at its final length, all ones; set_shape then only
        // changes the visible length (no reallocation while it fits).
        let mut mask = Tensor::new(ElementType::I64, &[1, n + max_new as i64])?;
        mask.data_mut::<i64>()?.fill(1);
        mask.set_shape(&[1, n])?;
        let mut beam = Tensor::new(ElementType::I32, &[1])?;
        beam.data_mut::<i32>()?[0] = 0;
        request.set_tensor(INPUT_IDS, &ids)?;
        request.set_tensor(POSITION_IDS, &pos)?;
        request.set_tensor(ATTENTION_MASK, &mask)?;
        request.set_tensor(BEAM_IDX, &beam)?;
        clock.infer(|| request.infer())?;
        let first = logits_top2(&request, None)?;
        // From here on every step has the same one-token shapes: bind those tensors once.
        let token = Tensor::new(ElementType::I64, &[1, 1])?;
        let position = Tensor::new(ElementType::I64, &[1, 1])?;
        request.set_tensor(INPUT_IDS, &token)?;
        request.set_tensor(POSITION_IDS, &position)?;
        Ok((Decoder { request, token, position, mask }, first.id as i64, first.margin))
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
    pub fn new(compiled: CompiledModel, capacity: Option<usize>) -> KvCache {
        KvCache { compiled, spare: None, capacity }
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
        let mut greedy = Greedy::new(config, observer);
        if config.max_new_tokens == 0 {
            return Ok(greedy.into_transcript(prompt_ids, StopReason::MaxNewTokens, false));
        }
        let request = self.take_request()?;
        let mut clock = StepClock::start();
        let (mut decoder, mut id, margin) = Decoder::prefill(request, prompt_ids, config.max_new_tokens, &mut clock)?;
        let mut stop = greedy.push(clock.finish(id, margin));
        let mut past = prompt_ids.len();
        while stop.is_none() {
            // The next step stores one more token; a full static cache ends generation here
            // (the plugin would fail or overwrite).
            if self.capacity.is_some_and(|c| past >= c) {
                stop = Some(StopReason::KvFull);
                break;
            }
            let (next, margin) = decoder.step(id, past, &mut clock)?;
            past += 1;
            id = next;
            stop = greedy.push(clock.finish(id, margin));
        }
        drop(decoder);
        self.spare = Some(self.compiled.create_infer_request()?);
        Ok(greedy.into_transcript(prompt_ids, stop.expect("loop ends with a stop reason"), false))
    }
}

#[cfg(test)]
mod tests {
    use super::npuw_kv_capacity;

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
}

//! kvcache: the stateful IR (KV cache in ReadValue/Assign variables). Prefill the whole
//! prompt once, then feed one token per step. On CPU the shapes are dynamic; on NPU the
//! same IR is compiled with a profile's NPUW_LLM properties and the plugin splits it into
//! prefill and generate models itself. The C API has no reset_state, so every generation
//! gets a fresh infer request (reusing one gives wrong tokens; DESIGN.md section 10).

use super::{
    top2, GenerateError, GenerationConfig, Greedy, Observer, Pipeline, PipelineKind, StepClock, StopReason, Transcript,
};
use crate::runtime::{CompiledModel, ElementType, InferRequest, Tensor};
use std::ffi::CStr;

const INPUT_IDS: &CStr = c"input_ids";
const ATTENTION_MASK: &CStr = c"attention_mask";
const POSITION_IDS: &CStr = c"position_ids";
const BEAM_IDX: &CStr = c"beam_idx";
const LOGITS: &CStr = c"logits";

/// The kvcache pipeline over a compiled stateful IR.
pub struct KvCache {
    compiled: CompiledModel,
}

/// The argmax of the last logits row of the request's output, without copying it.
fn last_row_top2(request: &InferRequest) -> Result<(i64, f32), GenerateError> {
    let logits = request.tensor(LOGITS)?;
    let shape = logits.shape()?;
    let (rows, vocab) = match shape.as_slice() {
        [1, rows, vocab] if *rows > 0 => (*rows as usize, *vocab as usize),
        other => return Err(GenerateError::Model(format!("logits have shape {other:?}, expected [1, rows, vocab]"))),
    };
    let data = logits.data::<f32>()?;
    let t = top2(&data[(rows - 1) * vocab..rows * vocab]);
    Ok((t.id as i64, t.margin))
}

/// The per-generation input tensors, written in place every step.
struct Inputs {
    token: Tensor,
    position: Tensor,
    mask: Tensor,
    beam: Tensor,
}

impl Inputs {
    /// Tensors for a prompt of `n` tokens with room for `max_new` more.
    fn new(n: usize, max_new: usize) -> Result<Inputs, GenerateError> {
        // The mask is allocated once at its final length, all ones; set_shape then only
        // changes the visible length (no reallocation while it shrinks or regrows).
        let mut mask = Tensor::new(ElementType::I64, &[1, (n + max_new) as i64])?;
        mask.data_mut::<i64>()?.fill(1);
        let mut beam = Tensor::new(ElementType::I32, &[1])?;
        beam.data_mut::<i32>()?[0] = 0;
        Ok(Inputs {
            token: Tensor::new(ElementType::I64, &[1, 1])?,
            position: Tensor::new(ElementType::I64, &[1, 1])?,
            mask,
            beam,
        })
    }
}

impl KvCache {
    /// Wrap a compiled stateful IR.
    pub fn new(compiled: CompiledModel) -> KvCache {
        KvCache { compiled }
    }

    fn prefill(
        &self,
        request: &mut InferRequest,
        inputs: &mut Inputs,
        prompt: &[i64],
        clock: &mut StepClock,
    ) -> Result<(i64, f32), GenerateError> {
        let n = prompt.len() as i64;
        let mut ids = Tensor::new(ElementType::I64, &[1, n])?;
        ids.data_mut::<i64>()?.copy_from_slice(prompt);
        let mut pos = Tensor::new(ElementType::I64, &[1, n])?;
        for (i, p) in pos.data_mut::<i64>()?.iter_mut().enumerate() {
            *p = i as i64;
        }
        inputs.mask.set_shape(&[1, n])?;
        request.set_tensor(INPUT_IDS, &ids)?;
        request.set_tensor(POSITION_IDS, &pos)?;
        request.set_tensor(ATTENTION_MASK, &inputs.mask)?;
        request.set_tensor(BEAM_IDX, &inputs.beam)?;
        clock.infer(|| request.infer())?;
        last_row_top2(request)
    }

    /// Feed `token` at position `past` (the number of tokens already in the cache).
    fn decode(
        &self,
        request: &mut InferRequest,
        inputs: &mut Inputs,
        token: i64,
        past: usize,
        clock: &mut StepClock,
    ) -> Result<(i64, f32), GenerateError> {
        inputs.token.data_mut::<i64>()?[0] = token;
        inputs.position.data_mut::<i64>()?[0] = past as i64;
        inputs.mask.set_shape(&[1, past as i64 + 1])?;
        request.set_tensor(INPUT_IDS, &inputs.token)?;
        request.set_tensor(POSITION_IDS, &inputs.position)?;
        request.set_tensor(ATTENTION_MASK, &inputs.mask)?;
        clock.infer(|| request.infer())?;
        last_row_top2(request)
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
        let mut request = self.compiled.create_infer_request()?;
        let mut inputs = Inputs::new(prompt_ids.len(), config.max_new_tokens)?;
        let mut clock = StepClock::start();
        let (mut id, margin) = self.prefill(&mut request, &mut inputs, prompt_ids, &mut clock)?;
        let mut stop = greedy.push(clock.finish(id, margin));
        let mut past = prompt_ids.len();
        while stop.is_none() {
            let (next, margin) = self.decode(&mut request, &mut inputs, id, past, &mut clock)?;
            past += 1;
            id = next;
            stop = greedy.push(clock.finish(id, margin));
        }
        Ok(greedy.into_transcript(prompt_ids, stop.expect("loop ends with a stop reason"), false))
    }
}

//! static128: the stateless static-window loop (no KV cache). Every step pads the whole context
//! into the `[1, W]` window, runs it, and takes the argmax at the last real position.
//! Cost per step is constant (the full window), total O(N x W).

use super::names::{ATTENTION_MASK, INPUT_IDS, LOGITS, POSITION_IDS};
use super::window::{fill_window, Overflow, Padding};
use super::{
    logits_top2, GenerateError, GenerationConfig, Greedy, Observer, Pipeline, StepClock, StopReason, Transcript,
};
use crate::pipeline_kind::PipelineKind;
use crate::runtime::{CompiledModel, ElementType, InferRequest, Tensor};

/// How the window is built (and which static IR runs it).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct WindowOptions {
    /// W, the static sequence length the IR was reshaped to.
    pub window: usize,
    /// The id written into padded positions (masked out, so its value does not matter).
    pub pad_id: i64,
    /// Left (default) or right padding.
    pub padding: Padding,
    /// Stop at a full window (default) or drop the oldest tokens.
    pub overflow: Overflow,
    /// Run the static IR whose lm_head computes all W rows (the original design,
    /// `openvino_model_static{W}_full.xml`) even when a sliced one is there: what slicing
    /// buys, measured.
    #[serde(default)]
    pub full_lm_head: bool,
}

/// The static128 pipeline over a compiled static IR. The IR is stateless, so one infer
/// request and one set of input and output tensors serve every generation.
pub struct Static128 {
    request: InferRequest,
    ids: Tensor,
    mask: Tensor,
    pos: Tensor,
    options: WindowOptions,
    _compiled: CompiledModel,
}

/// The static IR's logits have W rows, or one row when the bake sliced the lm_head to the
/// last window position (what openvino-genai does at load time). One row is only right
/// with left padding, where the last real token always sits at W-1.
fn check_logits_rows(request: &InferRequest, options: &WindowOptions) -> Result<(), GenerateError> {
    let shape = request.tensor(LOGITS)?.shape()?;
    match (shape.as_slice(), options.padding) {
        ([1, 1, _], Padding::Left) => Ok(()),
        ([1, 1, _], Padding::Right) => Err(GenerateError::Model(
            "this static IR's lm_head is sliced to the last window position, which right padding does not \
             hold; bake the unsliced variant (openvino_model_static{W}_full.xml, `tools/bake/bake.py` writes it)"
                .into(),
        )),
        ([1, rows, _], _) if *rows as usize == options.window => Ok(()),
        (other, _) => Err(GenerateError::Model(format!(
            "static IR logits have shape {other:?}, expected [1, {}, vocab] or [1, 1, vocab]",
            options.window
        ))),
    }
}

impl Static128 {
    /// Bind the window's input tensors to a request of `compiled` (a static `[1, W]` IR).
    pub fn new(compiled: CompiledModel, options: WindowOptions) -> Result<Static128, GenerateError> {
        let mut request = compiled.create_infer_request()?;
        let dims = [1, options.window as i64];
        let ids = Tensor::new(ElementType::I64, &dims)?;
        let mask = Tensor::new(ElementType::I64, &dims)?;
        let pos = Tensor::new(ElementType::I64, &dims)?;
        request.set_tensor(INPUT_IDS, &ids)?;
        request.set_tensor(ATTENTION_MASK, &mask)?;
        request.set_tensor(POSITION_IDS, &pos)?;
        check_logits_rows(&request, &options)?;
        Ok(Static128 { request, ids, mask, pos, options, _compiled: compiled })
    }

    /// Fill the window for `context` and run it; returns (id, margin, truncated).
    fn step(&mut self, context: &[i64], clock: &mut StepClock) -> Result<(i64, f32, bool), GenerateError> {
        let fill = fill_window(
            context,
            self.options.pad_id,
            self.options.padding,
            self.ids.data_mut::<i64>()?,
            self.mask.data_mut::<i64>()?,
            self.pos.data_mut::<i64>()?,
        );
        clock.infer(|| self.request.infer())?;
        let t = logits_top2(&self.request, Some(fill.last_row))?;
        Ok((t.id as i64, t.margin, fill.truncated))
    }
}

impl Pipeline for Static128 {
    fn kind(&self) -> PipelineKind {
        PipelineKind::Static128
    }

    fn generate(
        &mut self,
        prompt_ids: &[i64],
        config: &GenerationConfig,
        observer: &mut dyn Observer,
    ) -> Result<Transcript, GenerateError> {
        let w = self.options.window;
        if prompt_ids.is_empty() {
            return Err(GenerateError::Unsupported("the prompt has no tokens".into()));
        }
        if prompt_ids.len() > w && self.options.overflow == Overflow::Stop {
            return Err(GenerateError::Unsupported(format!(
                "prompt over window: {} tokens do not fit the static window of {w} (choose overflow = \"truncate_left\" to keep the newest {w})",
                prompt_ids.len()
            )));
        }
        let mut context = Vec::with_capacity(prompt_ids.len() + config.max_new_tokens.min(w));
        context.extend_from_slice(prompt_ids);
        let mut greedy = Greedy::new(config, observer);
        let mut truncated = false;
        let mut clock = StepClock::start();
        let stop = loop {
            if config.max_new_tokens == 0 {
                break StopReason::MaxNewTokens;
            }
            if context.len() > w && self.options.overflow == Overflow::Stop {
                break StopReason::WindowFull;
            }
            let (id, margin, cut) = self.step(&context, &mut clock)?;
            truncated |= cut;
            if let Some(stop) = greedy.push(&mut clock, id, margin) {
                break stop;
            }
            context.push(id);
        };
        Ok(greedy.into_transcript(prompt_ids, stop, truncated))
    }
}

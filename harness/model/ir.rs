//! What an IR's `.xml` declares, read without the runtime: inputs and their shapes,
//! weight constants and where they sit in the `.bin`, KV-cache variables, the logits width.

use std::path::Path;

/// A dimension as the IR states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// A fixed size.
    Static(u64),
    /// `?` or `-1` (or a range).
    Dynamic,
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Static(n) => write!(f, "{n}"),
            Dim::Dynamic => write!(f, "?"),
        }
    }
}

/// Format a shape like OpenVINO does: `[?,3,?,64]`.
pub fn shape_string(dims: &[Dim]) -> String {
    format!("[{}]", dims.iter().map(Dim::to_string).collect::<Vec<_>>().join(","))
}

/// A model input (a `Parameter` layer).
#[derive(Debug, Clone)]
pub struct Input {
    /// The layer's name (the tensor name bakeoff binds to).
    pub name: String,
    /// Its declared shape.
    pub shape: Vec<Dim>,
    /// Its element type (`i64`, `i32`, ...).
    pub element_type: String,
}

/// A state variable (a `ReadValue` layer) of a stateful model.
#[derive(Debug, Clone)]
pub struct Variable {
    /// `variable_id`.
    pub id: String,
    /// The declared variable shape, e.g. `[?,3,?,64]`.
    pub shape: Vec<Dim>,
}

/// The facts lint and the pipelines need from one IR.
#[derive(Debug, Clone, Default)]
pub struct IrSummary {
    /// `Parameter` layers.
    pub inputs: Vec<Input>,
    /// `ReadValue` layers.
    pub variables: Vec<Variable>,
    /// Number of `Assign` layers.
    pub assigns: usize,
    /// Elements in weight constants (constants of rank >= 2 with at least 1024 elements).
    pub weight_elements: u64,
    /// The highest `offset + size` any constant reads from the `.bin`.
    pub bin_bytes_needed: u64,
    /// The last dimension of the `logits` output, when static.
    pub logits_width: Option<u64>,
}

/// The IR could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct IrError {
    /// The `.xml` file.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

fn parse_dims(text: &str) -> Vec<Dim> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    text.split(',')
        .map(|d| match d.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Dim::Static(n as u64),
            _ => Dim::Dynamic,
        })
        .collect()
}

impl IrSummary {
    /// Read the summary of an IR `.xml`.
    pub fn read(xml: &Path) -> Result<IrSummary, IrError> {
        let err = |reason: String| IrError { path: xml.display().to_string(), reason };
        let text = crate::io::read_text(xml).map_err(|e| err(e.to_string()))?;
        Self::parse(&text).map_err(|e| err(e.0))
    }

    /// Parse the text of an IR `.xml`.
    pub fn parse(text: &str) -> Result<IrSummary, IrParseError> {
        Self::parse_text(text).map_err(IrParseError)
    }

    fn parse_text(text: &str) -> Result<IrSummary, String> {
        let doc = roxmltree::Document::parse(text).map_err(|e| format!("not valid XML: {e}"))?;
        let mut out = IrSummary::default();
        let mut result_sources = Vec::new();
        for layer in doc.descendants().filter(|n| n.has_tag_name("layer")) {
            let data = layer.children().find(|c| c.has_tag_name("data"));
            let attr = |k: &str| data.and_then(|d| d.attribute(k)).unwrap_or("");
            match layer.attribute("type").unwrap_or("") {
                "Parameter" => out.inputs.push(Input {
                    name: layer.attribute("name").unwrap_or("").to_string(),
                    shape: parse_dims(attr("shape")),
                    element_type: attr("element_type").to_string(),
                }),
                "Const" => out.add_constant(attr("shape"), attr("offset"), attr("size")),
                "ReadValue" => out
                    .variables
                    .push(Variable { id: attr("variable_id").to_string(), shape: parse_dims(attr("variable_shape")) }),
                "Assign" => out.assigns += 1,
                "Result" if is_logits(layer) => result_sources.push(layer),
                _ => {}
            }
        }
        out.logits_width = result_sources.iter().find_map(|r| last_input_dim(r));
        Ok(out)
    }

    fn add_constant(&mut self, shape: &str, offset: &str, size: &str) {
        let dims = parse_dims(shape);
        let (Ok(offset), Ok(size)) = (offset.parse::<u64>(), size.parse::<u64>()) else {
            return;
        };
        self.bin_bytes_needed = self.bin_bytes_needed.max(offset + size);
        let elements: u64 = dims.iter().map(|d| if let Dim::Static(n) = d { *n } else { 0 }).product();
        if dims.len() >= 2 && elements >= 1024 {
            self.weight_elements += elements;
        }
    }

    /// The input called `name`.
    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// Whether the model keeps a KV cache in state variables.
    pub fn is_stateful(&self) -> bool {
        !self.variables.is_empty()
    }
}

fn is_logits(layer: roxmltree::Node) -> bool {
    let names = [layer.attribute("name"), layer.attribute("output_names")];
    names.iter().flatten().any(|n| n.split(',').any(|x| x.trim() == "logits"))
}

/// The last dimension of a Result layer's input port.
fn last_input_dim(result: &roxmltree::Node) -> Option<u64> {
    let port = result.descendants().find(|n| n.has_tag_name("port"))?;
    let dims: Vec<_> = port.children().filter(|n| n.has_tag_name("dim")).collect();
    dims.last()?.text()?.trim().parse().ok()
}

/// Axes of a KV-cache variable: which dimension is the batch and which the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct KvLayout {
    /// The batch axis (`NPUW_LLM_BATCH_DIM`).
    pub batch_dim: usize,
    /// The sequence axis (`NPUW_LLM_SEQ_LEN_DIM`).
    pub seq_len_dim: usize,
}

/// Why an IR's XML could not be summarized (not XML, a DTD, a malformed layer).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct IrParseError(pub String);

/// Why a model's KV layout cannot be derived (its message names the IR where it is known).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct KvLayoutError(pub String);

/// Derive the KV layout from the variables' shapes, the way GenAI does: the batch is the
/// first dynamic axis and the sequence the last dynamic axis of a rank-4 KV tensor
/// (`[batch, heads, seq, dim]` gives 0 and 2). All variables must agree.
pub fn kv_layout(variables: &[Variable]) -> Result<KvLayout, KvLayoutError> {
    let mut layout = None;
    for v in variables {
        let dynamic: Vec<usize> =
            v.shape.iter().enumerate().filter(|(_, d)| **d == Dim::Dynamic).map(|(i, _)| i).collect();
        let this = match dynamic.as_slice() {
            [b, .., s] if v.shape.len() == 4 => KvLayout { batch_dim: *b, seq_len_dim: *s },
            _ => {
                return Err(KvLayoutError(format!(
                    "KV variable {} has shape {}; expected rank 4 with a dynamic batch and sequence axis",
                    v.id,
                    shape_string(&v.shape)
                )))
            }
        };
        match layout {
            None => layout = Some(this),
            Some(l) if l != this => {
                return Err(KvLayoutError(format!(
                    "KV variable {} lays out its axes differently from the others",
                    v.id
                )))
            }
            _ => {}
        }
    }
    layout.ok_or_else(|| KvLayoutError("the model has no KV-cache variables".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(shape: &str) -> Variable {
        Variable { id: "v".into(), shape: parse_dims(shape) }
    }

    #[test]
    fn kv_layout_of_batch_heads_seq_dim_is_0_and_2() {
        assert_eq!(kv_layout(&[var("-1,3,-1,64")]).unwrap(), KvLayout { batch_dim: 0, seq_len_dim: 2 });
    }

    #[test]
    fn kv_layout_of_batch_seq_heads_dim_is_0_and_1() {
        assert_eq!(kv_layout(&[var("-1,-1,8,128")]).unwrap(), KvLayout { batch_dim: 0, seq_len_dim: 1 });
    }

    #[test]
    fn kv_layout_rejects_no_variables_and_odd_ranks() {
        assert!(kv_layout(&[]).is_err());
        assert!(kv_layout(&[var("-1,64")]).is_err());
    }

    #[test]
    fn parses_parameters_constants_and_logits() {
        let xml = r#"<net><layers>
          <layer id="0" name="input_ids" type="Parameter"><data shape="1,128" element_type="i64"/></layer>
          <layer id="1" name="w" type="Const"><data element_type="u8" shape="64,32" offset="100" size="2048"/></layer>
          <layer id="2" name="logits" type="Result"><input><port id="0"><dim>1</dim><dim>128</dim><dim>49152</dim></port></input></layer>
        </layers></net>"#;
        let s = IrSummary::parse(xml).unwrap();
        assert_eq!(s.inputs[0].shape, vec![Dim::Static(1), Dim::Static(128)]);
        assert_eq!(s.bin_bytes_needed, 2148);
        assert_eq!(s.weight_elements, 2048);
        assert_eq!(s.logits_width, Some(49152));
    }
}

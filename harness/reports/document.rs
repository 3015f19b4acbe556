//! The one shape of every document bakeoff writes (a run's summaries, compare, qualify,
//! recommend, an A/B run, a soak, a search, the tracker exports): the decided data, and one
//! [`Exporter`] per format that renders it to bytes in memory. Writing is
//! [`write_document`] (each file atomically); the snapshot tests render the same exporters
//! from in-memory documents. Charts are drawn before and handed to a document as
//! [`super::charts::Figure`]s, so no exporter draws or recomputes anything.

use super::ReportError;
use std::path::Path;

/// One format of a document of type `D`.
pub trait Exporter<D: ?Sized> {
    /// The file's name.
    fn file_name(&self) -> &'static str;
    /// The file's contents.
    fn render(&self, doc: &D) -> Result<Vec<u8>, ReportError>;
}

/// Write each format of `doc` into `dir`, each atomically (a failed write leaves the
/// previous file whole).
pub fn write_document<D: ?Sized>(dir: &Path, doc: &D, exporters: &[&dyn Exporter<D>]) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| crate::io::FileError::Write { path: dir.display().to_string(), source })?;
    for e in exporters {
        crate::io::write_named(dir, e.file_name(), &e.render(doc)?)?;
    }
    Ok(())
}

/// A document's JSON, pretty, with the schema version beside its fields.
pub struct Json(pub &'static str);

impl<D: serde::Serialize> Exporter<D> for Json {
    fn file_name(&self) -> &'static str {
        self.0
    }
    fn render(&self, doc: &D) -> Result<Vec<u8>, ReportError> {
        serde_json::to_vec_pretty(&crate::results::Versioned::new(doc)).map_err(|e| ReportError::Render(e.to_string()))
    }
}

/// A document that reads as markdown (a CI step summary, a PR comment).
pub trait ToMarkdown {
    /// The markdown.
    fn markdown(&self) -> String;
}

/// A document's markdown.
pub struct Markdown(pub &'static str);

impl<D: ToMarkdown + ?Sized> Exporter<D> for Markdown {
    fn file_name(&self) -> &'static str {
        self.0
    }
    fn render(&self, doc: &D) -> Result<Vec<u8>, ReportError> {
        Ok(doc.markdown().into_bytes())
    }
}

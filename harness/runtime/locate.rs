//! Finding `libopenvino_c`: the pinned PyPI wheel in the project's venv ships only the
//! versioned name (`libopenvino_c.so.2641`), which the `openvino-finder` does not look for
//! (it wants the unversioned name), so bakeoff looks for it itself before falling back to the finder.

use std::path::{Path, PathBuf};

/// Environment variable naming the `libopenvino_c` file (or the folder holding it).
pub const LIB_ENV: &str = "BAKEOFF_OPENVINO_LIB";
/// Environment variable naming the Python venv whose `openvino` wheel provides the runtime.
pub const VENV_ENV: &str = "BAKEOFF_VENV";

/// Where the OpenVINO C library was found, and how.
#[derive(Debug, Clone)]
pub struct LocatedLibrary {
    /// The shared library file to load.
    pub path: PathBuf,
    /// How it was found (flag, environment, venv, finder), for the fingerprint and errors.
    pub source: String,
}

/// The library could not be found; lists every place that was tried.
#[derive(Debug, thiserror::Error)]
#[error(
    "libopenvino_c was not found. Tried:\n{}\nRun `make setup` to install the pinned openvino wheel into .venv, \
     or pass --openvino-lib PATH (or set {LIB_ENV}) to a libopenvino_c shared library.",
    tried.iter().map(|t| format!("  - {t}")).collect::<Vec<_>>().join("\n")
)]
pub struct NotFound {
    /// One line per candidate: the place and why it did not do.
    pub tried: Vec<String>,
}

/// Find `libopenvino_c`: explicit path, then `BAKEOFF_OPENVINO_LIB`, then the project's venv
/// (`BAKEOFF_VENV`, `./.venv`, the venv beside the binary's checkout, the venv of the
/// checkout this binary was built from), then the `openvino-finder` search.
pub fn locate(explicit: Option<&Path>) -> Result<LocatedLibrary, NotFound> {
    let mut tried = Vec::new();
    if let Some(path) = explicit {
        match library_in(path) {
            Some(p) => return Ok(found(p, "--openvino-lib")),
            None => tried.push(format!("--openvino-lib {}: no libopenvino_c there", path.display())),
        }
    }
    if let Some(value) = std::env::var_os(LIB_ENV) {
        let path = PathBuf::from(value);
        match library_in(&path) {
            Some(p) => return Ok(found(p, LIB_ENV)),
            None => tried.push(format!("{LIB_ENV}={}: no libopenvino_c there", path.display())),
        }
    }
    for venv in venv_candidates() {
        let libs = venv_libs_dirs(&venv);
        match libs.iter().find_map(|d| library_in(d)) {
            Some(p) => return Ok(found(p, &format!("venv {}", venv.display()))),
            None => tried.push(format!("venv {}: no openvino wheel with libopenvino_c", venv.display())),
        }
    }
    match openvino_sys::library::find() {
        Some(p) => Ok(found(p, "openvino-finder")),
        None => {
            tried.push(
                "openvino-finder (OPENVINO_INSTALL_DIR, INTEL_OPENVINO_DIR, LD_LIBRARY_PATH, system paths): nothing"
                    .into(),
            );
            Err(NotFound { tried })
        }
    }
}

/// The Python of the venv a library lies in (`<venv>/bin/python`, the venv being the
/// nearest folder above it with a `pyvenv.cfg`), if it lies in one.
pub fn venv_python(library: &Path) -> Option<PathBuf> {
    let venv = library.ancestors().find(|a| a.join("pyvenv.cfg").is_file())?;
    Some(venv.join("bin/python")).filter(|p| p.exists())
}

fn found(path: PathBuf, source: &str) -> LocatedLibrary {
    LocatedLibrary { path, source: source.to_string() }
}

/// The candidate venvs, most specific first, without duplicates.
fn venv_candidates() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    if let Some(v) = std::env::var_os(VENV_ENV) {
        out.push(PathBuf::from(v));
    }
    if let Ok(cwd) = std::env::current_dir() {
        out.push(cwd.join(".venv"));
    }
    if let Ok(exe) = std::env::current_exe() {
        // target/{debug,release}/bakeoff (or deps/...) inside a checkout: look up a few levels.
        out.extend(exe.ancestors().skip(1).take(4).map(|a| a.join(".venv")));
    }
    out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())));
    out
}

/// `<venv>/lib/python3.*/site-packages/openvino/libs`, for every Python version present.
fn venv_libs_dirs(venv: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(venv.join("lib")) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> =
        entries.flatten().map(|e| e.path().join("site-packages/openvino/libs")).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs
}

/// The library itself when `path` is a file, or the `libopenvino_c.so*` inside a folder
/// (the unversioned name first, then the highest versioned one).
pub fn library_in(path: &Path) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path.to_path_buf());
    }
    let entries = std::fs::read_dir(path).ok()?;
    let mut names: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(crate::platform::is_openvino_c_library))
        .collect();
    names.sort();
    names.into_iter().next()
}

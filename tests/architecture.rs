//! The layer table of docs/architecture.md against the code: every module of the library
//! is in exactly one layer, and no `crate::` path reaches a layer above its own. The table
//! is the newcomer's map; this test keeps it true.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The library's top-level modules, from `harness/lib.rs`.
fn modules() -> Vec<String> {
    let lib = std::fs::read_to_string(root().join("harness/lib.rs")).unwrap();
    lib.lines().filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';').map(str::to_string)).collect()
}

/// Module -> (layer index, layer name), from the table under `## Layers` (the first row is
/// the bottom of the stack). `main.rs` is the binary, not a module, and is left out.
fn layer_table() -> BTreeMap<String, (usize, String)> {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let section = doc.split("## Layers").nth(1).expect("docs/architecture.md has a `## Layers` section");
    let section = section.split("\n## ").next().unwrap();
    let rows: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| layer |") && !l.starts_with("|---"))
        .collect();
    assert!(rows.len() >= 5, "the layer table has its rows: {rows:?}");
    let mut out = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (name, folders) = (cells[1], cells[2]);
        for entry in folders.split('`').skip(1).step_by(2) {
            let module = entry.trim_end_matches('/').trim_end_matches(".rs").to_string();
            if module == "main" {
                continue;
            }
            let previous = out.insert(module.clone(), (index, name.to_string()));
            assert!(previous.is_none(), "`{entry}` is in two layers of docs/architecture.md");
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules a line names through `crate::` (comments left out: a doc link is not a use).
fn crate_paths<'a>(line: &'a str, modules: &'a [String]) -> impl Iterator<Item = &'a str> + 'a {
    let code = if line.trim_start().starts_with("//") { "" } else { line };
    code.split("crate::").skip(1).filter_map(move |rest| {
        let name: &str = rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next()?;
        modules.iter().any(|m| m == name).then_some(name)
    })
}

#[test]
fn every_module_is_in_exactly_one_layer_of_the_table() {
    let table = layer_table();
    for module in modules() {
        assert!(table.contains_key(&module), "module `{module}` is in no layer of docs/architecture.md");
    }
    for module in table.keys() {
        assert!(
            modules().contains(module),
            "docs/architecture.md names `{module}`, which is no module of harness/lib.rs"
        );
    }
}

#[test]
fn no_use_reaches_a_layer_above_its_own() {
    let (table, modules) = (layer_table(), modules());
    let mut files = Vec::new();
    rust_files(&root().join("harness"), &mut files);
    let mut upward = Vec::new();
    for file in files {
        let rel = file.strip_prefix(root().join("harness")).unwrap().to_string_lossy().into_owned();
        let module = rel.split('/').next().unwrap().trim_end_matches(".rs").to_string();
        let Some((own, own_name)) = table.get(&module) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for target in crate_paths(line, &modules) {
                let Some((layer, name)) = table.get(target) else { continue };
                if layer > own {
                    upward.push(format!("harness/{rel}:{}: {module} ({own_name}) uses {target} ({name})", n + 1));
                }
            }
        }
    }
    assert!(upward.is_empty(), "uses that reach up the layer table:\n{}", upward.join("\n"));
}

#[test]
fn the_path_reader_sees_uses_and_skips_comments() {
    let modules: Vec<String> = ["results", "stats"].map(String::from).to_vec();
    let found: Vec<&str> =
        crate_paths("use crate::results::{CellRecord}; let q = crate::stats::median(&v);", &modules).collect();
    assert_eq!(found, ["results", "stats"]);
    assert_eq!(crate_paths("/// see [`crate::results`]", &modules).count(), 0);
    assert_eq!(crate_paths("use crate::named_identifier;", &modules).count(), 0);
}

/// The subcommands of `harness/commands/`, by file stem (`mod.rs`, the dispatcher, left out).
fn subcommands() -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&root().join("harness/commands"), &mut files);
    files.iter().filter_map(|f| f.file_stem()?.to_str().map(str::to_string)).filter(|s| s != "mod").collect()
}

/// The sibling subcommands a line of a subcommand's code names (`super::x::` or
/// `crate::commands::x::`); comments are left out.
fn sibling_uses<'a>(line: &'a str, commands: &'a [String]) -> impl Iterator<Item = &'a str> + 'a {
    let code = if line.trim_start().starts_with("//") { "" } else { line };
    ["super::", "crate::commands::"].into_iter().flat_map(move |prefix| {
        code.split(prefix).skip(1).filter_map(move |rest| {
            let (name, after) = rest.split_at(rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?);
            (after.starts_with("::") && commands.iter().any(|c| c == name)).then_some(name)
        })
    })
}

#[test]
fn no_subcommand_uses_another() {
    let commands = subcommands();
    assert!(commands.len() >= 10, "the subcommands are found: {commands:?}");
    let mut found = Vec::new();
    for command in &commands {
        let path = root().join(format!("harness/commands/{command}.rs"));
        for (n, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
            for other in sibling_uses(line, &commands).filter(|o| o != command) {
                found.push(format!("harness/commands/{command}.rs:{}: uses commands::{other}", n + 1));
            }
        }
    }
    assert!(found.is_empty(), "what two commands share belongs in a session or commands/mod.rs:\n{}", found.join("\n"));
}

#[test]
fn the_sibling_reader_sees_super_and_crate_paths() {
    let commands: Vec<String> = ["ab", "run"].map(String::from).to_vec();
    let line = "let x = super::ab::run(); crate::commands::run::go(); super::print_json(&v);";
    assert_eq!(sibling_uses(line, &commands).collect::<Vec<_>>(), ["ab", "run"]);
    assert_eq!(sibling_uses("// super::ab::run()", &commands).count(), 0);
    assert_eq!(sibling_uses("use super::abc::x;", &commands).count(), 0);
}

/// The longest a function of the library may be without saying why.
const MAX_FUNCTION_LINES: usize = 70;

/// Functions of `text` (name, first line, lines), found by their `fn` line and the closing
/// brace at its indentation (rustfmt's layout). Declarations without a body are skipped.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let after_vis = trimmed.strip_prefix("pub ").or_else(|| trimmed.strip_prefix("pub(crate) ")).unwrap_or(trimmed);
        let after_const = after_vis.strip_prefix("const ").unwrap_or(after_vis);
        let Some(rest) = after_const.strip_prefix("fn ") else { continue };
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let indent = line.len() - trimmed.len();
        let Some(open) = (i..lines.len()).find(|&j| lines[j].contains('{') || lines[j].trim_end().ends_with(';'))
        else {
            continue;
        };
        if !lines[open].contains('{') {
            continue;
        }
        let close = (open..lines.len()).find(|&j| {
            let l = lines[j];
            l.len() - l.trim_start().len() == indent && l.trim_start().starts_with('}')
        });
        if let Some(close) = close {
            out.push((name, i + 1, close - i + 1));
        }
    }
    out
}

#[test]
fn no_function_is_longer_than_the_limit_without_saying_why() {
    let mut files = Vec::new();
    rust_files(&root().join("harness"), &mut files);
    let mut long = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (name, first, n) in functions(&text) {
            let doc = lines[..first - 1].iter().rev().take_while(|l| l.trim_start().starts_with("///")).count();
            let says_why = lines[first - 1 - doc..first - 1].iter().any(|l| l.contains("must be one function"));
            if n > MAX_FUNCTION_LINES && !says_why {
                long.push(format!("{}:{first}: {name} is {n} lines", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "functions over {MAX_FUNCTION_LINES} lines (split them, or say in the doc comment why it must be one function):\n{}", long.join("\n"));
}

#[test]
fn the_function_reader_measures_bodies() {
    let text = "/// doc\npub fn a() {\n    let x = 1;\n}\n\nfn b(\n    y: u8,\n) -> u8 {\n    y\n}\nfn c();\n";
    assert_eq!(functions(text), [("a".to_string(), 2, 3), ("b".to_string(), 6, 5)]);
}

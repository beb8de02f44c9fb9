//! The crate's top-level modules form no cycle: each `crate::x` a module names (outside its
//! tests and comments) is an edge, and a path to the crate root's re-exports counts as an
//! edge to the module that defines them. A cycle would mean two concepts that cannot be read,
//! tested or split apart one at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Top-level module names: `src/x.rs` and `src/x/`.
fn modules() -> BTreeSet<String> {
    fs::read_dir(SRC)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "lib.rs" && !n.ends_with("_tests.rs"))
        .map(|n| n.trim_end_matches(".rs").to_owned())
        .collect()
}

/// The module's source files, tests left out.
fn sources(module: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let file = Path::new(SRC).join(format!("{module}.rs"));
    if file.exists() {
        found.push(file);
    }
    let mut dirs = vec![Path::new(SRC).join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.map(|e| e.unwrap().path()) {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                found.push(path);
            }
        }
    }
    found.retain(|p| !p.to_string_lossy().ends_with("_tests.rs"));
    found
}

/// Code without `//` comments and without the `#[cfg(test)]` part at the end.
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// Every name right after `crate::`, including each first name inside `crate::{…}`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                names.extend(identifiers(item).next().map(str::to_owned));
            }
        } else {
            names.extend(identifiers(rest).next().map(str::to_owned));
        }
    }
    names
}

/// The crate root's `pub use module::{Item, …};` re-exports: item → module.
fn root_reexports() -> BTreeMap<String, String> {
    let lib = fs::read_to_string(Path::new(SRC).join("lib.rs")).unwrap();
    let mut found = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = path.split_once("::") else {
            continue;
        };
        for item in identifiers(items) {
            found.insert(item.to_owned(), module.to_owned());
        }
    }
    found
}

fn graph() -> Graph {
    let modules = modules();
    let reexports = root_reexports();
    let mut graph = Graph::new();
    for module in &modules {
        let mut deps = BTreeSet::new();
        for file in sources(module) {
            for name in crate_paths(&code(&file)) {
                let target = if modules.contains(&name) {
                    Some(name)
                } else {
                    reexports.get(&name).cloned()
                };
                deps.extend(target.filter(|t| t != module && t != "advanced"));
            }
        }
        graph.insert(module.clone(), deps);
    }
    graph
}

/// The modules reachable from `start`.
fn reachable(graph: &Graph, start: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![start.to_owned()];
    while let Some(m) = todo.pop() {
        for next in graph.get(&m).into_iter().flatten() {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

#[test]
fn top_level_modules_form_no_cycle() {
    let graph = graph();
    assert!(graph.len() > 20, "found only {:?}", graph.keys());
    assert!(graph["broker"].contains("cache"), "the scan finds no edges");
    let cycles: Vec<String> = graph
        .iter()
        .flat_map(|(module, deps)| {
            let graph = &graph;
            deps.iter()
                .filter(move |dep| reachable(graph, dep).contains(module))
                .map(move |dep| format!("{module} -> {dep} -> … -> {module}"))
        })
        .collect();
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_scanner_sees_grouped_and_plain_paths() {
    let code = "use crate::{error::Error, secret::Secret};\nlet x = crate::limits::MAX;";
    let names: Vec<String> = crate_paths(code).into_iter().collect();
    assert_eq!(names, ["error", "limits", "secret"]);
}

//! Every fuzz target's committed corpus (`fuzz/corpus/<target>/`) and regression inputs
//! (`fuzz/regressions/<target>/`, crashes fuzzing found and that were fixed) run through
//! the target's own body, `switchboard::server::fuzzing`, as an ordinary test: no
//! sanitizer, no libFuzzer, so CI catches a regression on any input fuzzing ever kept.
//! Fuzzing itself, which grows the corpus, is `scripts/fuzz.sh`.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use switchboard::server::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `dir`, sorted so failures are listed in a stable order; none when it does
/// not exist (a target need not have regression inputs).
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("reading a corpus directory").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// A new fuzz target without a function here or without a corpus would otherwise be
/// skipped without a word.
#[test]
fn every_fuzz_target_has_a_function_and_a_corpus() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .expect("fuzz/fuzz_targets")
        .map(|entry| entry.expect("fuzz/fuzz_targets entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut known: Vec<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    known.sort();
    assert_eq!(
        on_disk, known,
        "fuzz/fuzz_targets/*.rs and switchboard::server::fuzzing::TARGETS differ"
    );
    for (name, _) in TARGETS {
        let corpus = fuzz_dir().join("corpus").join(name);
        assert!(
            !inputs(&corpus).is_empty(),
            "no committed corpus in {} (run scripts/fuzz.sh {name} and commit it)",
            corpus.display()
        );
    }
}

#[test]
fn every_corpus_input_runs_through_its_target_without_panicking() {
    let mut failures = Vec::new();
    let mut counts = Vec::new();
    for (name, run) in TARGETS {
        let mut files = inputs(&fuzz_dir().join("corpus").join(name));
        files.extend(inputs(&fuzz_dir().join("regressions").join(name)));
        counts.push(format!("{name}: {}", files.len()));
        for file in files {
            let data = std::fs::read(&file).expect("reading a corpus input");
            // Every input is run even after one fails, so one run lists them all.
            if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| run(&data))) {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(not a string)");
                failures.push(format!("{name} {}: {message}", file.display()));
            }
        }
    }
    eprintln!("fuzz corpus inputs run: {}", counts.join(", "));
    assert!(
        failures.is_empty(),
        "{} input(s) panicked (scripts/fuzz.sh's header says how to run one under the \
         fuzzer):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

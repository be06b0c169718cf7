//! Every checked-in seed of `fuzz/corpus/<target>`, and a fixed set of mutations of each,
//! through the target's `run`: the fuzz targets' invariants checked on the stable toolchain on
//! every `make test`, without a sanitizer build. Coverage-guided runs that search for new
//! inputs are `scripts/fuzz.sh`'s (libFuzzer, nightly).
//!
//! The mutations are those a fuzzer starts with (bit flips, bytes with a meaning in XML, JSON,
//! URLs and headers, insertions, deletions, repeats, truncations, splices with another seed of
//! the target), drawn from a fixed seed, so a run is the same every time. An input that breaks
//! an invariant is written to `fuzz/artifacts/<target>/` (as `scripts/fuzz.sh` does) and the
//! test names it: `cargo +nightly fuzz run --fuzz-dir fuzz -a <target> <file>` replays it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rosetta_fuzz::targets::ALL;

/// Mutations tried per seed.
const MUTANTS_PER_SEED: u64 = 500;

/// Bytes that mean something to the parsers under test.
const INTERESTING: &[u8] = b"<>/=\"'&;:?#%.,-_ \n\r\t\0\x7f\xff{}[]01Aa+";

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The seeds of `target`, by file name.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fuzz_dir().join("corpus").join(target);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// xorshift64*: a small, fixed pseudo-random sequence (no dependency, same on every machine).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

/// One mutation of `input`; `other` is another seed of the same target, for splices.
fn mutate(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    let len = out.len().max(1);
    let at = rng.below(len).min(out.len());
    match rng.below(8) {
        0 if !out.is_empty() => {
            let i = at.min(out.len() - 1);
            out[i] ^= 1 << rng.below(8);
        }
        1 if !out.is_empty() => {
            let i = at.min(out.len() - 1);
            out[i] = INTERESTING[rng.below(INTERESTING.len())];
        }
        2 => out.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
        3 => {
            let end = (at + 1 + rng.below(64)).min(out.len());
            out.drain(at..end);
        }
        4 => {
            let end = (at + 1 + rng.below(64)).min(out.len());
            let piece = out[at..end].to_vec();
            let times = 1 + rng.below(16);
            for _ in 0..times {
                out.splice(at..at, piece.iter().copied());
            }
        }
        5 => out.truncate(at),
        6 if !other.is_empty() => {
            let from = rng.below(other.len());
            let end = (from + 1 + rng.below(256)).min(other.len());
            out.splice(at..at, other[from..end].iter().copied());
        }
        _ => {
            // Several small changes at once.
            for _ in 0..1 + rng.below(4) {
                if out.is_empty() {
                    break;
                }
                let i = rng.below(out.len());
                out[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
        }
    }
    out
}

/// Runs `input` through `run`; on a panic writes it to `fuzz/artifacts/<target>/` and fails
/// with the path.
fn replay(target: &str, run: fn(&[u8]), what: &str, input: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| run(input))).is_ok() {
        return;
    }
    let dir = fuzz_dir().join("artifacts").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("replay-{what}"));
    std::fs::write(&file, input).unwrap();
    panic!(
        "fuzz target {target} failed on {what}, written to {}; replay with \
         `cargo +nightly fuzz run --fuzz-dir fuzz -a {target} {}`",
        file.display(),
        file.display()
    );
}

fn replay_target(target: &str) {
    let (_, run) = ALL.iter().find(|(name, _)| *name == target).unwrap();
    let seeds = seeds(target);
    for (i, (name, seed)) in seeds.iter().enumerate() {
        replay(target, *run, name, seed);
        let other = &seeds[(i + 1) % seeds.len()].1;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1));
        let mut mutant = seed.clone();
        for n in 0..MUTANTS_PER_SEED {
            // Every fourth mutant builds on the previous one, the rest start from the seed.
            let base = if n % 4 == 0 { seed.as_slice() } else { mutant.as_slice() };
            mutant = mutate(base, other, &mut rng);
            replay(target, *run, &format!("{name}-mutant-{n}"), &mutant);
        }
    }
}

#[test]
fn every_target_has_seeds_and_every_seed_directory_a_target() {
    let mut dirs: Vec<String> = std::fs::read_dir(fuzz_dir().join("corpus"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut targets: Vec<String> = ALL.iter().map(|(name, _)| (*name).to_owned()).collect();
    targets.sort();
    assert_eq!(dirs, targets);
    let cargo_fuzz = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for target in &targets {
        assert!(
            cargo_fuzz.contains(&format!("name = \"{target}\"")),
            "fuzz/Cargo.toml has no binary for {target}"
        );
    }
}

#[test]
fn saml_redirect_request() {
    replay_target("saml_redirect_request");
}

#[test]
fn saml_post_request() {
    replay_target("saml_post_request");
}

#[test]
fn sp_metadata() {
    replay_target("sp_metadata");
}

#[test]
fn id_token() {
    replay_target("id_token");
}

#[test]
fn tenant_host() {
    replay_target("tenant_host");
}

#!/usr/bin/env bash
# Usage: fuzz/run.sh SECONDS [TARGET...]
#
# Runs each fuzz target (all of them by default) for SECONDS with cargo-fuzz
# (`cargo install cargo-fuzz`). libFuzzer needs nightly compiler flags; on a stable toolchain
# the script sets RUSTC_BOOTSTRAP=1. New inputs go to fuzz/corpus/TARGET (kept out of git);
# the seeds in fuzz/seeds/TARGET are read too. A crash stops the run, leaves the input in
# fuzz/artifacts/TARGET and makes the script exit non-zero: turn it into a regression test in
# the normal test suite. Not part of .ci/run: it takes SECONDS per target.
set -euo pipefail

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 SECONDS [TARGET...]" >&2
    exit 2
fi
seconds=$1
shift
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

failed=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "seeds/$target"
    echo "== $target: ${seconds}s"
    if ! cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "no crash in ${#targets[@]} targets, ${seconds}s each"

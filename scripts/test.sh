#!/usr/bin/env bash
# THE test command: runs every test of the project on a fresh machine, then the benchmarks
# briefly so that they print their figures. `.ci/run` runs exactly this.
#
#   bash scripts/test.sh
#
# Steps:
#   0. quality gates, failing fast: no tracked file refers outside the repository,
#      `cargo fmt --check`, `cargo clippy --all-targets --all-features --locked -- -D warnings`;
#   1. a real Terraform 1.0.3 (scripts/install-terraform.sh), exported as TFWS_TERRAFORM_1_0_3;
#      the tests also use any other `terraform`/`tofu` on PATH and the CLIs named by
#      TF_ACC_CLI / TFWS_TEST_CLIS (see README, "Which CLIs the tests use");
#   2. `cargo test --all-targets --all-features` (the simulator is the cargo feature `simulator`;
#      unit, property, integration and end-to-end tests; bench
#      targets run once in test mode) and `cargo test --doc`;
#   3. scripts/demo.sh, with Terraform 1.0.3 (the README's first command must keep working);
#   4. each bench target with `cargo bench --bench NAME` (TFWS_BENCH_QUICK=1 asks for a short
#      run), so their figures are printed.
#
# Environment:
#   TFWS_SKIP_DEMO=1      skip step 3
#   TFWS_SKIP_BENCH=1     skip step 4
#   TFWS_BENCH_TIMEOUT    seconds allowed per bench target (default 900)
#   TFWS_TEST_PATH_CLIS=0 test only against Terraform 1.0.3 (plus TF_ACC_CLI / TFWS_TEST_CLIS)
#
# Exits non-zero on any failure and ends with one summary line.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

started_at=$SECONDS
log_dir="$(mktemp -d "${TMPDIR:-/tmp}/tfws-test.XXXXXX")"
trap 'rm -rf "${log_dir}"' EXIT

export CARGO_TERM_COLOR=never
export CHECKPOINT_DISABLE=1

failures=()
phase_results=()

section() {
    printf '\n==== %s ====\n' "$*"
}

record() { # record NAME STATUS
    phase_results+=("$1: $2")
    if [[ "$2" != ok ]]; then
        failures+=("$1")
    fi
}

# ---------------------------------------------------------------------------------------------
section "toolchain"
if ! command -v cargo >/dev/null 2>&1; then
    echo "test.sh: ERROR: cargo is not on PATH; install a Rust toolchain (rustup) first" >&2
    exit 1
fi
cargo --version
rustc --version

# The process tests and the start-up bench make Terraform-like P-521 client certificates with
# the openssl command (ring cannot sign with P-521).
if ! command -v openssl >/dev/null 2>&1; then
    echo "openssl not found; installing it"
    if command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq openssl
    fi
    command -v openssl >/dev/null 2>&1 || {
        echo "test.sh: ERROR: the openssl command is needed and could not be installed" >&2
        exit 1
    }
fi
openssl version

# ---------------------------------------------------------------------------------------------
# Quality gates first: they take a minute and fail fast, before the long tests.
section "quality gates"
gate_failed() {
    echo "test.sh: ERROR: $1" >&2
    echo "summary: 0 passed, 1 failed"
    exit 1
}
# The repository is cloned alone: no tracked file may read or cite a folder beside it. The
# searched-for text is built from pieces so that this check does not find itself.
outside_ref="\.\./""shared"
if git ls-files -z | xargs -0 grep -nE "${outside_ref}" -- 2>/dev/null; then
    gate_failed "tracked files above refer to a folder outside the repository"
fi
echo "no tracked file refers outside the repository"
cargo fmt --check || gate_failed "cargo fmt --check found unformatted code (run: cargo fmt)"
echo "cargo fmt --check: ok"
cargo clippy --all-targets --all-features --locked -- -D warnings ||
    gate_failed "cargo clippy found problems (see above)"
echo "cargo clippy: ok"

# ---------------------------------------------------------------------------------------------
section "Terraform 1.0.3"
# Fails the whole run loudly when the real CLI cannot be fetched or run.
if ! TFWS_TERRAFORM_1_0_3="$(bash scripts/install-terraform.sh)"; then
    echo "test.sh: ERROR: could not install or run Terraform 1.0.3 (see above)" >&2
    echo "summary: 0 passed, 1 failed"
    exit 1
fi
export TFWS_TERRAFORM_1_0_3
echo "Terraform 1.0.3: ${TFWS_TERRAFORM_1_0_3}"
for cli in terraform tofu; do
    if [[ "${TFWS_TEST_PATH_CLIS:-1}" != 0 ]] && path="$(command -v "${cli}")"; then
        version="$(TF_CLI_CONFIG_FILE=/dev/null "${path}" version 2>/dev/null)" || version="does not run"
        echo "${cli} on PATH:   ${path} (${version%%$'\n'*})"
    fi
done
for var in TF_ACC_CLI TFWS_TEST_CLIS; do
    if [[ -n "${!var:-}" ]]; then
        echo "${var}=${!var}"
    fi
done

# ---------------------------------------------------------------------------------------------
section "cargo test --all-targets"
test_log="${log_dir}/test.log"
set +e
cargo test --all-targets --all-features --no-fail-fast 2>&1 | tee "${test_log}"
status=${PIPESTATUS[0]}
all_targets_status=${status}
set -e
record "cargo test --all-targets" "$([[ ${status} -eq 0 ]] && echo ok || echo "failed (exit ${status})")"

section "cargo test --doc"
doc_log="${log_dir}/doc.log"
set +e
cargo test --doc --all-features --no-fail-fast 2>&1 | tee "${doc_log}"
status=${PIPESTATUS[0]}
set -e
record "cargo test --doc" "$([[ ${status} -eq 0 ]] && echo ok || echo "failed (exit ${status})")"

# ---------------------------------------------------------------------------------------------
# The README's first command must keep working: run it for real against Terraform 1.0.3 (it
# checks what the simulator saw and fails on any surprise).
section "demo (scripts/demo.sh)"
if [[ "${TFWS_SKIP_DEMO:-0}" == 1 ]]; then
    echo "skipped (TFWS_SKIP_DEMO=1)"
else
    set +e
    # When cargo test passed, the binaries it built are current: the demo need not rebuild them
    # (a plain `cargo build` would, without the dev-dependency features).
    prebuilt=$([[ ${all_targets_status} -eq 0 ]] && echo 1 || echo 0)
    TFWS_DEMO_PREBUILT="${prebuilt}" TFWS_DEMO_CLI="${TFWS_TERRAFORM_1_0_3}" timeout 900 bash scripts/demo.sh
    status=$?
    set -e
    record "demo" "$([[ ${status} -eq 0 ]] && echo ok || echo "failed (exit ${status})")"
fi

# ---------------------------------------------------------------------------------------------
section "benchmarks"
if [[ "${TFWS_SKIP_BENCH:-0}" == 1 ]]; then
    echo "skipped (TFWS_SKIP_BENCH=1)"
    record "benchmarks" "ok"
else
    bench_names="$(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
for package in json.load(sys.stdin)["packages"]:
    for target in package["targets"]:
        if "bench" in target["kind"]:
            print(target["name"])
')"
    if [[ -z "${bench_names}" ]]; then
        echo "no bench targets yet"
    fi
    for bench in ${bench_names}; do
        section "cargo bench --bench ${bench}"
        set +e
        TFWS_BENCH_QUICK=1 timeout "${TFWS_BENCH_TIMEOUT:-900}" cargo bench --all-features --bench "${bench}"
        status=$?
        set -e
        if [[ ${status} -eq 124 ]]; then
            record "bench ${bench}" "timed out after ${TFWS_BENCH_TIMEOUT:-900}s"
        else
            record "bench ${bench}" "$([[ ${status} -eq 0 ]] && echo ok || echo "failed (exit ${status})")"
        fi
    done
fi

# ---------------------------------------------------------------------------------------------
# Totals over every libtest "test result:" line of both test runs.
read -r passed failed ignored < <(
    cat "${test_log}" "${doc_log}" | python3 -c '
import re, sys
totals = [0, 0, 0]
for line in sys.stdin:
    match = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored", line)
    if match:
        for index in range(3):
            totals[index] += int(match.group(index + 1))
print(*totals)
'
)

section "results"
for result in "${phase_results[@]}"; do
    echo "  ${result}"
done
echo "  elapsed: $((SECONDS - started_at)) s"
if [[ ${#failures[@]} -gt 0 ]]; then
    echo "FAILED: ${failures[*]}"
    # A phase can fail without any failed test (a build error, a bench): count it as a failure.
    if [[ ${failed} -eq 0 ]]; then
        failed=${#failures[@]}
    fi
    echo "summary: ${passed} passed, ${failed} failed, ${ignored} skipped"
    exit 1
fi
if [[ ${passed} -eq 0 ]]; then
    echo "FAILED: no test ran"
    echo "summary: 0 passed, 1 failed, ${ignored} skipped"
    exit 1
fi
echo "summary: ${passed} passed, ${failed} failed, ${ignored} skipped"

#!/usr/bin/env bash
# The one-command demo:
#
#   bash scripts/demo.sh
#
# 1. builds the provider and the Workspace APP simulator (cargo build --features simulator);
# 2. picks a CLI: $TFWS_DEMO_CLI, else `terraform` or `tofu` on PATH, else installs a real
#    Terraform 1.0.3 (scripts/install-terraform.sh);
# 3. starts the simulator on 127.0.0.1 with six servers and AK/SK authentication;
# 4. installs the built provider into a filesystem mirror, writes a CLI config that uses it, and
#    runs `init` + `apply` of examples/quickstart (servers srv-0001 … srv-0005) with HW_*
#    variables pointing at the simulator;
# 5. runs `plan` (which must report no changes), then `apply -var generation=2` (a trigger
#    change: every listed server is rebooted again);
# 6. prints what the simulator saw: per server how often and when it was rebooted, and which
#    API requests each step made. It exits non-zero if any server was rebooted a different
#    number of times than the configuration asked for.
#
# TFWS_DEMO_CLI=PATH picks the CLI; TFWS_DEMO_PREBUILT=1 uses target/debug's binaries as they are.
# Everything lives in a temp dir that is removed at the end, and the simulator is stopped,
# also on failure or Ctrl-C. Set TFWS_DEMO_KEEP=1 to keep the temp dir for a look.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

readonly SERVER_COUNT=6
readonly LISTED_SERVERS=(srv-0001 srv-0002 srv-0003 srv-0004 srv-0005)
readonly UNLISTED_SERVERS=(srv-0006)
readonly PROJECT_ID="0123456789abcdef0123456789abcdef"
readonly ACCESS_KEY="DEMOACCESSKEY0000001"

work="$(mktemp -d "${TMPDIR:-/tmp}/tfws-demo.XXXXXX")"
simulator_pid=""

cleanup() {
    local status=$?
    if [[ -n "${simulator_pid}" ]] && kill -0 "${simulator_pid}" 2>/dev/null; then
        kill "${simulator_pid}" 2>/dev/null || true
        wait "${simulator_pid}" 2>/dev/null || true
    fi
    if [[ "${TFWS_DEMO_KEEP:-0}" == 1 ]]; then
        echo "demo: kept ${work}" >&2
    else
        rm -rf "${work}"
    fi
    exit "${status}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() {
    printf '\n\033[1m==> %s\033[0m\n' "$*"
}

fail() {
    echo "demo: ERROR: $*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------------
step "Building the provider and the simulator"
if [[ "${TFWS_DEMO_PREBUILT:-0}" == 1 ]]; then
    # scripts/test.sh sets this: `cargo test --all-targets --all-features` has just built both
    # binaries (with the dev-dependency features, which a plain `cargo build` would rebuild
    # without).
    echo "using the binaries cargo test built (TFWS_DEMO_PREBUILT=1)"
else
    # The simulator sits behind the non-default cargo feature `simulator`.
    cargo build --features simulator --bin terraform-provider-workspace --bin workspace-simulator
fi
target_dir="$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
provider_binary="${target_dir}/debug/terraform-provider-workspace"
simulator_binary="${target_dir}/debug/workspace-simulator"
[[ -x "${provider_binary}" ]] || fail "no provider binary at ${provider_binary}"
[[ -x "${simulator_binary}" ]] || fail "no simulator binary at ${simulator_binary}"
provider_version="$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "terraform-provider-workspace"))')"

# ---------------------------------------------------------------------------------------------
step "Choosing the CLI"
if [[ -n "${TFWS_DEMO_CLI:-}" ]]; then
    cli="$(command -v "${TFWS_DEMO_CLI}")" || fail "TFWS_DEMO_CLI=${TFWS_DEMO_CLI} is not executable"
elif cli="$(command -v terraform)"; then
    :
elif cli="$(command -v tofu)"; then
    :
else
    echo "no terraform or tofu on PATH: installing Terraform 1.0.3"
    cli="$(bash scripts/install-terraform.sh)"
fi
cli_version="$(TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 "${cli}" version)" ||
    fail "${cli} does not run"
cli_version="${cli_version%%$'\n'*}"
echo "using ${cli} (${cli_version})"

# ---------------------------------------------------------------------------------------------
step "Starting the Workspace APP simulator with ${SERVER_COUNT} servers"
# A fresh secret key for each run, handed over in the environment (never on a command line).
secret_key="$(python3 -c 'import secrets; print(secrets.token_hex(20))')"
SIMULATOR_SECRET_KEY="${secret_key}" "${simulator_binary}" \
    --port 0 \
    --servers "${SERVER_COUNT}" \
    --project-id "${PROJECT_ID}" \
    --access-key "${ACCESS_KEY}" \
    --request-log "${work}/requests.jsonl" \
    >"${work}/simulator.out" 2>"${work}/simulator.err" &
simulator_pid=$!

base_url=""
for _ in $(seq 1 300); do
    if line="$(head -n 1 "${work}/simulator.out" 2>/dev/null)" && [[ "${line}" == "listening on "* ]]; then
        base_url="${line#listening on }"
        break
    fi
    kill -0 "${simulator_pid}" 2>/dev/null ||
        fail "the simulator exited at start-up: $(cat "${work}/simulator.err")"
    sleep 0.1
done
[[ -n "${base_url}" ]] || fail "the simulator printed no 'listening on' line within 30 s"
echo "simulator at ${base_url} (servers srv-0001 … srv-$(printf '%04d' "${SERVER_COUNT}"), project ${PROJECT_ID})"

# ---------------------------------------------------------------------------------------------
step "Installing the provider into a filesystem mirror"
mirror="${work}/mirror"
for host in registry.terraform.io registry.opentofu.org; do
    dir="${mirror}/${host}/tfws/workspace/${provider_version}/linux_amd64"
    mkdir -p "${dir}"
    cp "${provider_binary}" "${dir}/terraform-provider-workspace_v${provider_version}"
done
cat >"${work}/cli.tfrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "${mirror}"
    include = ["registry.terraform.io/tfws/workspace", "registry.opentofu.org/tfws/workspace"]
  }
}
EOF
echo "mirror: ${mirror}"
sed 's/^/  /' "${work}/cli.tfrc"

config_dir="${work}/quickstart"
cp -R examples/quickstart "${config_dir}"
rm -rf "${config_dir}/.terraform" "${config_dir}/.terraform.lock.hcl" "${config_dir}"/terraform.tfstate*

# The provider reads these; the CLI never sees a secret on its command line.
export TF_CLI_CONFIG_FILE="${work}/cli.tfrc"
export CHECKPOINT_DISABLE=1
export HW_WORKSPACE_ENDPOINT="${base_url}"
export HW_PROJECT_ID="${PROJECT_ID}"
export HW_ACCESS_KEY="${ACCESS_KEY}"
export HW_SECRET_KEY="${secret_key}"
# The simulator reboots a server in about 4 s: poll it every second instead of the default.
export HW_WORKSPACE_POLL_INTERVAL="1s"
unset HW_AUTH_TOKEN HW_SECURITY_TOKEN HW_REGION_NAME TF_REATTACH_PROVIDERS

tf() {
    (cd "${config_dir}" && "${cli}" "$@")
}

report() {
    python3 scripts/lib/simulator_report.py "$@"
}

# ---------------------------------------------------------------------------------------------
step "${cli##*/} init"
tf init -input=false
report snapshot "${base_url}" "${work}/phase-init"

step "${cli##*/} apply  (creates the resource: reboots ${LISTED_SERVERS[*]})"
tf apply -auto-approve -input=false
report snapshot "${base_url}" "${work}/phase-apply-1"

step "${cli##*/} plan  (nothing changed: no reboot planned, no API call)"
set +e
tf plan -input=false -detailed-exitcode
plan_status=$?
set -e
report snapshot "${base_url}" "${work}/phase-plan"
case "${plan_status}" in
    0) ;;
    2) fail "the plan after a successful apply is not empty" ;;
    *) fail "terraform plan failed (exit ${plan_status})" ;;
esac

step "${cli##*/} apply -var generation=2  (a trigger changed: reboots them again)"
tf apply -auto-approve -input=false -var generation=2
report snapshot "${base_url}" "${work}/phase-apply-2"

# ---------------------------------------------------------------------------------------------
step "What happened"
expectations=()
for id in "${LISTED_SERVERS[@]}"; do expectations+=("${id}=2"); done
for id in "${UNLISTED_SERVERS[@]}"; do expectations+=("${id}=0"); done
report report "${base_url}" \
    "init=${work}/phase-init" \
    "apply #1 (create)=${work}/phase-apply-1" \
    "plan (no changes)=${work}/phase-plan" \
    "apply #2 (generation=2)=${work}/phase-apply-2" \
    --expect-reboots "${expectations[@]}"

echo
echo "demo: OK. Next: README.md (using it against Huawei Cloud), docs/, and 'bash scripts/test.sh'."

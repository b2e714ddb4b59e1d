#!/usr/bin/env bash
# The one-command demo: a rolling, drained reboot of a server group.
#
#   bash scripts/demo.sh
#
# 1. builds the provider and the Workspace APP simulator (cargo build --features simulator);
# 2. picks a CLI: $TFWS_DEMO_CLI, else `terraform` or `tofu` on PATH, else installs a real
#    Terraform 1.0.3 (scripts/install-terraform.sh);
# 3. starts the simulator on 127.0.0.1 with AK/SK authentication and two named server groups,
#    "web" (srv-0001 … srv-0012) and "batch" (srv-0013 … srv-0016), whose users keep
#    connecting: two sessions per server at start, a new one every 2 s (at most three per
#    server), each lasting 20 s;
# 4. installs the built provider into a filesystem mirror, writes a CLI config that uses it, and
#    runs `init` + `apply` of examples/quickstart with HW_* variables pointing at the simulator:
#    the data source picks the group "web" by name, and the reboot rolls through it 25% (three
#    servers) at a time, draining each wave first — maintenance mode, 2 s for the sessions to
#    end, then a logoff message to the users still connected, who are logged off after the
#    logoff delay — and taking the servers out of maintenance once they are back;
# 5. runs `plan` (which must report no changes);
# 6. prints what the simulator saw: the waves on a timeline with maintenance on/off, logoff
#    messages and reboots per server, the sessions killed (0), and which API requests each step
#    made. It exits non-zero unless every "web" server was rebooted exactly once, in
#    maintenance mode, no "batch" server was touched, no session was killed, at most three
#    servers were unavailable at once, and no server is left in maintenance mode.
#
# Simulated time is short: reboots take 1.5 s, and one second of a logoff delay lasts 0.25 s.
# TFWS_DEMO_CLI=PATH picks the CLI; TFWS_DEMO_PREBUILT=1 uses target/debug's binaries as they are.
# Everything lives in a temp dir that is removed at the end, and the simulator is stopped,
# also on failure or Ctrl-C. Set TFWS_DEMO_KEEP=1 to keep the temp dir for a look.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

readonly GROUP_NAME="web"
readonly GROUP_SERVERS=(srv-0001 srv-0002 srv-0003 srv-0004 srv-0005 srv-0006
    srv-0007 srv-0008 srv-0009 srv-0010 srv-0011 srv-0012)
readonly OTHER_SERVERS=(srv-0013 srv-0014 srv-0015 srv-0016)
readonly MAX_UNAVAILABLE=3
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
step "Starting the Workspace APP simulator: groups \"${GROUP_NAME}\" (${#GROUP_SERVERS[@]} servers) and \"batch\" (${#OTHER_SERVERS[@]}), users connected"
# A fresh secret key for each run, handed over in the environment (never on a command line).
secret_key="$(python3 -c 'import secrets; print(secrets.token_hex(20))')"
SIMULATOR_SECRET_KEY="${secret_key}" "${simulator_binary}" \
    --port 0 \
    --group "sg-web=${#GROUP_SERVERS[@]}" --group-name "sg-web=${GROUP_NAME}" \
    --group "sg-batch=${#OTHER_SERVERS[@]}" --group-name "sg-batch=batch" \
    --sessions-per-server 2 \
    --session-arrival-ms 2000 \
    --max-sessions-per-server 3 \
    --session-lifetime-ms 20000 \
    --logoff-second-ms 250 \
    --pending-ms 300 --rebooting-ms 800 --registering-ms 400 \
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
echo "simulator at ${base_url} (project ${PROJECT_ID})"
echo "  group \"${GROUP_NAME}\" (sg-web): ${GROUP_SERVERS[0]} … ${GROUP_SERVERS[-1]}; group \"batch\" (sg-batch): ${OTHER_SERVERS[0]} … ${OTHER_SERVERS[-1]}"

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
# The simulator reboots a server in 1.5 s: poll it four times a second instead of every 5 s.
export HW_WORKSPACE_POLL_INTERVAL="250ms"
# The simulator has no quota; against the real cloud keep the default of 1.5 requests a second.
export HW_WORKSPACE_MAX_REQUESTS_PER_SECOND="20"
# The provider's progress lines (one per wave and drain step) go to this log.
export TF_LOG_PROVIDER="INFO"
export TF_LOG_PATH="${work}/provider.log"
unset HW_AUTH_TOKEN HW_SECURITY_TOKEN HW_REGION_NAME TF_REATTACH_PROVIDERS TF_LOG

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

step "${cli##*/} apply  (reboots the group \"${GROUP_NAME}\": ${MAX_UNAVAILABLE} servers at a time, each wave drained first)"
# The real-cloud defaults of the quickstart are a 10-minute drain and a 5-minute logoff delay.
tf apply -auto-approve -input=false \
    -var "server_group_name=${GROUP_NAME}" \
    -var "max_unavailable=25%" \
    -var "drain_timeout=2s" \
    -var "logoff_delay=2s"
report snapshot "${base_url}" "${work}/phase-apply"
if [[ -s "${TF_LOG_PATH}" ]]; then
    echo
    echo "The provider's progress (TF_LOG_PROVIDER=INFO):"
    # "<time> [INFO]  provider.<name>: workspace_app_server_reboot: <line>: @module=… key=value…"
    sed -n -E 's/^[0-9-]+T([0-9:.]+)Z \[INFO\] +provider[^ ]*: workspace_app_server_reboot: (.*): @module=.*$/  \1  \2/p' \
        "${TF_LOG_PATH}" | head -n 80
fi
unset TF_LOG_PROVIDER TF_LOG_PATH

step "${cli##*/} plan  (nothing changed: no reboot planned)"
set +e
tf plan -input=false -detailed-exitcode \
    -var "server_group_name=${GROUP_NAME}" \
    -var "max_unavailable=25%" \
    -var "drain_timeout=2s" \
    -var "logoff_delay=2s"
plan_status=$?
set -e
report snapshot "${base_url}" "${work}/phase-plan"
case "${plan_status}" in
    0) ;;
    2) fail "the plan after a successful apply is not empty" ;;
    *) fail "terraform plan failed (exit ${plan_status})" ;;
esac

# ---------------------------------------------------------------------------------------------
step "What happened"
expectations=()
for id in "${GROUP_SERVERS[@]}"; do expectations+=("${id}=1"); done
for id in "${OTHER_SERVERS[@]}"; do expectations+=("${id}=0"); done
report report "${base_url}" \
    "init=${work}/phase-init" \
    "apply (rolling, drained reboot)=${work}/phase-apply" \
    "plan (no changes)=${work}/phase-plan" \
    --timeline \
    --expect-drained \
    --expect-max-unavailable "${MAX_UNAVAILABLE}" \
    --expect-reboots "${expectations[@]}"

echo
echo "demo: OK (${SECONDS} s in all). Next: README.md (using it against Huawei Cloud), docs/, and 'bash scripts/test.sh'."

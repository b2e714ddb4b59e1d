#!/usr/bin/env python3
"""Writes the release files of terraform-provider-workspace from already built binaries.

    release_files.py --dist DIR --version VERSION --registry-manifest FILE --mtime EPOCH
                     --binary OS_ARCH=PATH [--binary OS_ARCH=PATH ...]

Called by scripts/release.sh, which builds the binaries. Into DIR it writes (registry and
goreleaser naming, see the README's "Installing" section):

- terraform-provider-workspace_<VERSION>_<os>_<arch>.zip per binary, holding the one file
  terraform-provider-workspace_v<VERSION> with mode 0755;
- terraform-provider-workspace_<VERSION>_manifest.json: the repository's
  terraform-registry-manifest.json (its protocol_versions), compact;
- terraform-provider-workspace_<VERSION>_SHA256SUMS: `sha256sum` lines for the zips and the
  manifest, sorted by name;
- mirror/<host>/tfws/workspace/{index.json, <VERSION>.json, the zips} for registry.terraform.io
  and registry.opentofu.org: the Provider Network Mirror Protocol as static files, the same
  layout `terraform providers mirror` writes (each archive's URL is relative: the zip beside
  the document). Serve mirror/ over HTTPS as the network mirror's base URL.

Rules:
- Reproducible: the zips get a fixed timestamp (--mtime, clamped to what zip can store),
  fixed permissions, a fixed entry order and fixed compression, so the same binaries give
  byte-identical zips, hence the same SHA256SUMS and mirror documents.
- Only this script's own files in DIR are replaced (terraform-provider-workspace_* and
  mirror/); anything else there is left alone.
- The `h1:` hash in the mirror documents is Go's dirhash "Hash1" of the files inside the zip,
  the hash Terraform and OpenTofu write into .terraform.lock.hcl: for each file, sorted by
  name, the line "<hex sha256 of its content>  <name>\\n"; then "h1:" + base64 of the sha256
  of those lines. It is computed from the zip just written, not from the input binary.

Only the standard library: releases are made on machines with nothing but python3 installed.
"""

import argparse
import base64
import hashlib
import json
import os
import shutil
import sys
import time
import zipfile

PROVIDER_TYPE = "workspace"
NAMESPACE = "tfws"
PREFIX = "terraform-provider-" + PROVIDER_TYPE
REGISTRY_HOSTS = ("registry.terraform.io", "registry.opentofu.org")
MIRROR_DIR = "mirror"

# Zip stores local date and time from 1980 to 2107 with two-second resolution.
ZIP_EPOCH_MIN = 315532800  # 1980-01-01T00:00:00Z
ZIP_EPOCH_MAX = 4354819198  # 2107-12-31T23:59:58Z


def fail(message):
    print("release_files.py: ERROR: " + message, file=sys.stderr)
    sys.exit(1)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def zip_date_time(epoch):
    clamped = min(max(epoch, ZIP_EPOCH_MIN), ZIP_EPOCH_MAX)
    return time.gmtime(clamped)[:6]


def write_zip(zip_path, entry_name, binary_path, date_time):
    info = zipfile.ZipInfo(entry_name, date_time=date_time)
    info.create_system = 3  # Unix, so that external_attr carries the mode
    info.external_attr = 0o100755 << 16  # regular file, rwxr-xr-x
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(binary_path, "rb") as handle:
        content = handle.read()
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr(info, content, compresslevel=6)


def hash1_of_zip(zip_path):
    """Go's golang.org/x/mod/sumdb/dirhash.HashZip(zip, Hash1)."""
    lines = []
    with zipfile.ZipFile(zip_path) as archive:
        names = sorted(info.filename for info in archive.infolist() if not info.is_dir())
        for name in names:
            if "\n" in name:
                fail("zip entry name with a newline: %r" % name)
            lines.append("%s  %s\n" % (hashlib.sha256(archive.read(name)).hexdigest(), name))
    summary = hashlib.sha256("".join(lines).encode("utf-8")).digest()
    return "h1:" + base64.b64encode(summary).decode("ascii")


def write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def write_json(path, document):
    write_text(path, json.dumps(document, indent=2, sort_keys=True) + "\n")


def link_or_copy(source, target):
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def remove_previous(dist):
    for name in os.listdir(dist):
        path = os.path.join(dist, name)
        if name == MIRROR_DIR and os.path.isdir(path):
            shutil.rmtree(path)
        elif name.startswith(PREFIX + "_") and os.path.isfile(path):
            os.remove(path)


def protocol_versions(manifest_path):
    try:
        with open(manifest_path, encoding="utf-8") as handle:
            manifest = json.load(handle)
        versions = manifest["metadata"]["protocol_versions"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        fail("cannot read protocol_versions from %s: %s" % (manifest_path, error))
    if manifest.get("version") != 1 or not versions or not all(
        isinstance(v, str) for v in versions
    ):
        fail("%s: expected version 1 and a list of protocol version strings" % manifest_path)
    return versions


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--registry-manifest", required=True)
    parser.add_argument("--mtime", required=True, type=int)
    parser.add_argument("--binary", action="append", required=True, metavar="OS_ARCH=PATH")
    args = parser.parse_args()

    version = args.version
    binaries = {}
    for item in args.binary:
        platform, sep, path = item.partition("=")
        if not sep or not platform or not os.path.isfile(path):
            fail("--binary %r: expected OS_ARCH=PATH of an existing file" % item)
        binaries[platform] = path

    os.makedirs(args.dist, exist_ok=True)
    remove_previous(args.dist)
    date_time = zip_date_time(args.mtime)
    entry_name = "%s_v%s" % (PREFIX, version)

    zips = {}  # platform -> (file name, h1)
    for platform in sorted(binaries):
        zip_name = "%s_%s_%s.zip" % (PREFIX, version, platform)
        zip_path = os.path.join(args.dist, zip_name)
        write_zip(zip_path, entry_name, binaries[platform], date_time)
        zips[platform] = (zip_name, hash1_of_zip(zip_path))

    manifest_name = "%s_%s_manifest.json" % (PREFIX, version)
    manifest = {"version": 1, "metadata": {"protocol_versions": protocol_versions(args.registry_manifest)}}
    write_text(os.path.join(args.dist, manifest_name), json.dumps(manifest, separators=(",", ":")) + "\n")

    sums_name = "%s_%s_SHA256SUMS" % (PREFIX, version)
    summed = sorted([name for name, _ in zips.values()] + [manifest_name])
    write_text(
        os.path.join(args.dist, sums_name),
        "".join("%s  %s\n" % (sha256_file(os.path.join(args.dist, name)), name) for name in summed),
    )

    for host in REGISTRY_HOSTS:
        provider_dir = os.path.join(args.dist, MIRROR_DIR, host, NAMESPACE, PROVIDER_TYPE)
        os.makedirs(provider_dir)
        write_json(os.path.join(provider_dir, "index.json"), {"versions": {version: {}}})
        archives = {}
        for platform, (zip_name, h1) in sorted(zips.items()):
            link_or_copy(os.path.join(args.dist, zip_name), os.path.join(provider_dir, zip_name))
            archives[platform] = {"url": zip_name, "hashes": [h1]}
        write_json(os.path.join(provider_dir, version + ".json"), {"archives": archives})

    for platform, (zip_name, h1) in sorted(zips.items()):
        size = os.path.getsize(os.path.join(args.dist, zip_name))
        print("%s  %d bytes  %s" % (zip_name, size, h1))
    print(manifest_name)
    print(sums_name)
    for host in REGISTRY_HOSTS:
        print("%s/%s/%s/%s/{index.json,%s.json}" % (MIRROR_DIR, host, NAMESPACE, PROVIDER_TYPE, version))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Reads a workspace-simulator's control endpoints and prints what it saw.

    simulator_report.py snapshot BASE_URL FILE
        Saves the number of API requests seen so far (to split the request log by phase).
    simulator_report.py report BASE_URL PHASE_FILE... [--timeline] [--expect-drained]
                        [--expect-max-unavailable N] [--expect-reboots ID=N ...]
        Prints, per server, how often and when it was rebooted, and per demo phase, which API
        requests were made. --timeline also prints the simulator's own timeline of the fleet
        (GET /_simulator/timeline: waves, maintenance on/off, logoff messages, reboots,
        sessions killed). Exits 1 when an expectation fails:
          --expect-reboots ID=N      every named server was rebooted exactly N times;
          --expect-drained           every reboot happened in maintenance mode, no session was
                                     killed, and no server is in maintenance mode now unless
                                     it was before any change;
          --expect-max-unavailable N never more than N servers unavailable at once.

Only the standard library: the demo runs on a fresh machine.
"""

import json
import sys
import urllib.request


def fetch(base_url, path):
    with urllib.request.urlopen(base_url.rstrip("/") + path, timeout=30) as response:
        return json.load(response)


def fetch_text(base_url, path):
    with urllib.request.urlopen(base_url.rstrip("/") + path, timeout=30) as response:
        return response.read().decode("utf-8")


def short_time(rfc3339):
    # "2026-11-27T14:52:22.173Z" -> "14:52:22.173"
    return rfc3339.split("T", 1)[-1].rstrip("Z") if rfc3339 else "-"


def snapshot(base_url, target):
    requests = fetch(base_url, "/_simulator/requests")
    with open(target, "w", encoding="utf-8") as out:
        out.write(str(len(requests)))


def describe_requests(requests):
    """One line per kind of request: how many, with which answers."""
    if not requests:
        return ["no API request"]
    kinds = {}
    for entry in requests:
        key = (entry.get("method"), entry.get("operation"))
        kinds.setdefault(key, []).append(entry)
    lines = []
    for (method, operation), entries in sorted(kinds.items(), key=lambda item: item[1][0]["seq"]):
        statuses = {}
        for entry in entries:
            status = entry.get("status")
            label = str(status) if status is not None else "no answer"
            if entry.get("error_code"):
                label += " " + entry["error_code"]
            statuses[label] = statuses.get(label, 0) + 1
        answers = ", ".join(f"{count}x {label}" for label, count in statuses.items())
        line = f"{len(entries):3d} {method} {operation:<13} ({answers})"
        if operation == "batch_reboot":
            batches = [
                f"[{', '.join(entry.get('items') or [])}] {entry.get('type') or ''}".strip()
                for entry in entries
                if entry.get("status") == 200
            ]
            if batches:
                line += ": " + "; ".join(batches)
        lines.append(line)
    return lines


def drained_problems(fleet):
    """What breaks the promises of a drained rollout, one line each."""
    problems = []
    if fleet.get("sessions_killed", 0) != 0:
        problems.append(f"{fleet['sessions_killed']} session(s) killed by reboots")
    for server in fleet.get("servers", []):
        for reboot in server.get("reboots", []):
            if not reboot.get("maintain_status"):
                problems.append(f"{server['id']} was rebooted out of maintenance mode")
        changes = server.get("maintenance", [])
        was_in_before = bool(changes) and not changes[0]["maintain_status"]
        untouched_in = not changes and server.get("maintain_status")
        if server.get("maintain_status") and not (was_in_before or untouched_in):
            problems.append(f"{server['id']} was left in maintenance mode")
    return problems


def report(base_url, phase_files, expectations, timeline=False, drained=False, max_unavailable=None):
    state = fetch(base_url, "/_simulator/state")
    requests = fetch(base_url, "/_simulator/requests")
    fleet = fetch(base_url, "/_simulator/fleet")

    accepted_at = {}
    for entry in requests:
        if entry.get("operation") == "batch_reboot" and entry.get("status") == 200:
            for server_id in entry.get("items") or []:
                accepted_at.setdefault(server_id, []).append(short_time(entry.get("time")))

    print("What the simulator saw")
    print("----------------------")
    print(f"project {state.get('project_id')}")
    print()
    if timeline:
        print(fetch_text(base_url, "/_simulator/timeline?width=64"))
    header = f"  {'server':<10} {'group':<9} {'reboots':>7}  {'now':<22}  reboot accepted at (UTC)"
    print(header)
    print("  " + "-" * (len(header) - 2))
    for server in state.get("servers", []):
        now = f"{server.get('status')}/{server.get('vm_status')}"
        group = server.get("server_group_name") or server.get("server_group_id") or "-"
        times = ", ".join(accepted_at.get(server["id"], [])) or "never"
        print(
            f"  {server['id']:<10} {group:<9} {server.get('reboot_count', 0):>7}  "
            f"{now:<22}  {times}"
        )
    print()

    boundaries = []
    for label_and_file in phase_files:
        label, _, path = label_and_file.rpartition("=")
        with open(path, encoding="utf-8") as source:
            boundaries.append((label, int(source.read().strip() or 0)))
    start = 0
    print("API requests, by demo step")
    for label, end in boundaries:
        print(f"  {label}:")
        for line in describe_requests(requests[start:end]):
            print(f"    {line}")
        start = end
    if start < len(requests):
        print("  afterwards:")
        for line in describe_requests(requests[start:]):
            print(f"    {line}")
    print()

    counts = {server["id"]: server.get("reboot_count", 0) for server in state.get("servers", [])}
    wrong = [
        f"{server_id}: expected {expected} reboot(s), saw {counts.get(server_id, 'no such server')}"
        for server_id, expected in expectations.items()
        if counts.get(server_id) != expected
    ]
    if drained:
        wrong.extend(drained_problems(fleet))
    if max_unavailable is not None and fleet.get("max_unavailable", 0) > max_unavailable:
        wrong.append(
            f"{fleet['max_unavailable']} servers were unavailable at once, more than {max_unavailable}"
        )
    if wrong:
        print("UNEXPECTED:", "; ".join(wrong))
        return 1
    if expectations:
        print(f"Every server was rebooted exactly as often as expected ({len(expectations)} checked).")
    if drained:
        print(
            "Every reboot happened in maintenance mode, no session was killed "
            f"({fleet.get('sessions_logged_off', 0)} logged off after a message), "
            "and no server was left in maintenance mode."
        )
    if max_unavailable is not None:
        print(
            f"At most {fleet.get('max_unavailable', 0)} servers were unavailable at once "
            f"(max_unavailable {max_unavailable})."
        )
    return 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "snapshot":
        snapshot(argv[1], argv[2])
        return 0
    if len(argv) >= 2 and argv[0] == "report":
        base_url = argv[1]
        phase_files, expectations = [], {}
        timeline = drained = False
        max_unavailable = None
        rest = argv[2:]
        if "--expect-reboots" in rest:
            index = rest.index("--expect-reboots")
            for item in rest[index + 1 :]:
                server_id, _, count = item.partition("=")
                expectations[server_id] = int(count)
            rest = rest[:index]
        while rest:
            item = rest.pop(0)
            if item == "--timeline":
                timeline = True
            elif item == "--expect-drained":
                drained = True
            elif item == "--expect-max-unavailable" and rest:
                max_unavailable = int(rest.pop(0))
            else:
                phase_files.append(item)
        return report(base_url, phase_files, expectations, timeline, drained, max_unavailable)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Renders the JSON lines of swift-etcd-bench runs (one file per server and
benchmark: RESULTS/<server>.<name>.json) as a Markdown table comparing etcd
and swift-etcd, prints it, and with --doc replaces the block between
<!-- BEGIN NAME --> and <!-- END NAME --> in that file (appending the block
if the markers are missing). Used by scripts/bench.sh and bench-watch.sh."""

import argparse
import json
import pathlib
import sys

SERVERS = ("etcd", "swift-etcd")


def load(results, server, name):
    path = results / f"{server}.{name}.json"
    try:
        lines = [line for line in path.read_text().splitlines() if line.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def ratio(swift, etcd):
    if swift is None or etcd in (None, 0):
        return "n/a"
    return f"{swift / etcd:.2f}×"


def num(value, fmt="{:,.0f}"):
    return "n/a" if value is None else fmt.format(value)


def errors(report):
    if report is None:
        return "did not run"
    failed = report.get("failed", report.get("puts_failed", 0))
    return str(failed)


def kv_table(results, names):
    rows = [
        "| benchmark | etcd req/s | swift-etcd req/s | swift-etcd / etcd | etcd p50 / p99 ms | swift-etcd p50 / p99 ms "
        "| server CPU ms/req etcd | swift-etcd | failed etcd / swift-etcd |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in names:
        e, s = (load(results, server, name) for server in SERVERS)
        def rps(r): return r and r.get("requests_per_second")
        def lat(r): return "n/a" if r is None else f"{r['latency']['p50_ms']:.2f} / {r['latency']['p99_ms']:.2f}"
        def cpu(r): return num(r and r.get("server_cpu_ms_per_request"), "{:.3f}")
        rows.append(f"| {name} | {num(rps(e))} | {num(rps(s))} | {ratio(rps(s), rps(e))} | {lat(e)} | {lat(s)} "
                    f"| {cpu(e)} | {cpu(s)} | {errors(e)} / {errors(s)} |")
    return "\n".join(rows)


def watch_table(results, name):
    e, s = (load(results, server, name) for server in SERVERS)

    def get(r, key):
        return None if r is None else r.get(key)

    def per_event_cpu(r):
        if r is None or not r.get("server_cpu_seconds") or not r.get("events_received"):
            return None
        return r["server_cpu_seconds"] * 1e6 / r["events_received"]

    def latency(r, key):
        return None if r is None else r["delivery_latency"][key]

    rows = [
        ("watchers created", lambda r: get(r, "watchers_created"), "{:,.0f}"),
        ("time to create them (s)", lambda r: get(r, "create_seconds"), "{:.3f}"),
        ("server RSS before (MiB)", lambda r: get(r, "rss_before_kb") and r["rss_before_kb"] / 1024, "{:.1f}"),
        ("server RSS with watchers (MiB)", lambda r: get(r, "rss_after_kb") and r["rss_after_kb"] / 1024, "{:.1f}"),
        ("server memory per watcher (bytes)", lambda r: get(r, "bytes_per_watcher"), "{:,.0f}"),
        ("puts/s during fan-out", lambda r: get(r, "puts_per_second"), "{:,.1f}"),
        ("events delivered", lambda r: get(r, "events_received"), "{:,.0f}"),
        ("events/s delivered", lambda r: get(r, "events_per_second"), "{:,.0f}"),
        ("delivery latency p50 (ms)", lambda r: latency(r, "p50_ms"), "{:.1f}"),
        ("delivery latency p99 (ms)", lambda r: latency(r, "p99_ms"), "{:.1f}"),
        ("server CPU per event (µs)", per_event_cpu, "{:.2f}"),
        ("client CPU (s)", lambda r: get(r, "client_cpu_seconds"), "{:.1f}"),
    ]
    lines = ["| metric | etcd | swift-etcd | swift-etcd / etcd |", "| --- | ---: | ---: | ---: |"]
    for label, pick, fmt in rows:
        ev, sv = pick(e), pick(s)
        lines.append(f"| {label} | {num(ev, fmt)} | {num(sv, fmt)} | {ratio(sv, ev)} |")
    return "\n".join(lines)


def replace_block(doc, marker, block):
    text = doc.read_text() if doc.exists() else ""
    begin, end = f"<!-- BEGIN {marker} -->", f"<!-- END {marker} -->"
    wrapped = f"{begin}\n{block}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + wrapped + tail
    else:
        text = text.rstrip("\n") + "\n\n" + wrapped + "\n"
    doc.write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["kv", "watch"])
    parser.add_argument("results", type=pathlib.Path)
    parser.add_argument("--names", default="", help="comma-separated benchmark names, in table order")
    parser.add_argument("--marker", required=True)
    parser.add_argument("--header", default="", help="Markdown placed before the table")
    parser.add_argument("--footer", default="", help="Markdown placed after the table")
    parser.add_argument("--doc", type=pathlib.Path)
    args = parser.parse_args()
    names = [n for n in args.names.split(",") if n]
    table = kv_table(args.results, names) if args.kind == "kv" else watch_table(args.results, names[0] if names else "watch")
    block = "\n\n".join(part for part in (args.header.strip(), table, args.footer.strip()) if part)
    print(block)
    if args.doc:
        replace_block(args.doc, args.marker, block)
        print(f"\nrecorded in {args.doc}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Summarise RTL verification: reports written by the cocotb tests, plus pytest's junit XML.

    python sim/summary.py REPORT_DIR... [--junit FILE.xml]
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree


def collect(roots: list[Path]) -> list[dict]:
    reports = []
    for root in roots:
        for path in sorted(root.rglob("report-*.json")):
            rep = json.loads(path.read_text())
            rep["path"] = str(path)
            reports.append(rep)
    return reports


def junit_counts(path: Path) -> tuple[int, int, int]:
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total, failed, skipped


def summarise(reports: list[dict]) -> tuple[list[str], bool]:
    by = defaultdict(lambda: {"runs": 0, "weights": 0, "images": set(), "failed": 0})
    for r in reports:
        key = f"{r.get('scheme', '?')}/{r.get('format', '?')}"
        row = by[key]
        row["runs"] += 1
        row["weights"] += int(r.get("checked", 0)) if r.get("passed") else 0
        row["images"].update(r.get("images", []))
        row["failed"] += 0 if r.get("passed") else 1
    lines = [f"{'scheme/format':16} {'runs':>5} {'weights checked bit-exact':>26} {'images':>7}  result"]
    for key in sorted(by):
        row = by[key]
        result = "PASS" if not row["failed"] else "FAIL ({} runs)".format(row["failed"])
        lines.append(f"{key:16} {row['runs']:5d} {row['weights']:26,d} {len(row['images']):7d}  {result}")
    ok = bool(reports) and all(r.get("passed") for r in reports)
    total_w = sum(int(r.get("checked", 0)) for r in reports if r.get("passed"))
    images = set().union(*(set(r.get("images", [])) for r in reports)) if reports else set()
    lines.append(f"{'total':16} {len(reports):5d} {total_w:26,d} {len(images):7d}  {'PASS' if ok else 'FAIL'}")
    return lines, ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roots", nargs="+", type=Path)
    ap.add_argument("--junit", type=Path, action="append", default=[])
    args = ap.parse_args(argv)
    lines, ok = summarise(collect(args.roots))
    print("RTL simulation (Verilator + cocotb), every output compared bit for bit with the Python codec")
    print("(a run streams every weight of one layer; weights are counted once per run):")
    print("\n".join("  " + line for line in lines))
    for junit in args.junit:
        if junit.exists():
            total, failed, skipped = junit_counts(junit)
            ok = ok and failed == 0
            print(f"  pytest {junit.name}: {total - failed - skipped} passed, {failed} failed, {skipped} skipped")
        else:
            ok = False
            print(f"  pytest {junit}: no results")
    print(f"make sim: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

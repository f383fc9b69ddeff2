"""The test suite's cost, from the JUnit reports `tools/test.sh` keeps.

    python tools/suite_durations.py REPORTS_DIR torch jax tensorflow

reads `REPORTS_DIR/BACKEND.xml` (and `BACKEND.wall`, the pass's wall
seconds, when present) and writes `tools/results/suite_durations.{json,md}`:
per backend the wall time, the tests run, the time per test file, and the
costliest tests, so a cut can follow the evidence. It prints the per-backend
table and the closing line `N passed, N failed, N skipped`.
"""

import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = 15


def read(folder, backend):
    """One pass's counts, wall time, test times and file times; None when
    its report is missing or unreadable."""
    try:
        root = ET.parse(os.path.join(folder, f"{backend}.xml")).getroot()
    except (OSError, ET.ParseError):
        return None
    suite = root.find("testsuite") if root.tag == "testsuites" else root
    n, f, e, s = (int(suite.get(k)) for k in
                  ("tests", "failures", "errors", "skipped"))
    tests, files = [], defaultdict(float)
    for case in suite.iter("testcase"):
        seconds = float(case.get("time") or 0)
        name = f"{case.get('classname')}::{case.get('name')}"
        tests.append((seconds, name))
        files[case.get("classname")] += seconds
    wall = None
    try:
        with open(os.path.join(folder, f"{backend}.wall")) as w:
            wall = float(w.read())
    except (OSError, ValueError):
        pass
    tests.sort(reverse=True)
    return {"backend": backend, "passed": n - f - e - s, "failed": f + e,
            "skipped": s, "wall_s": wall,
            "tests_s": round(sum(t for t, _ in tests), 1),
            "costliest": [{"test": name, "seconds": round(t, 2)}
                          for t, name in tests[:TOP]],
            "files": {k: round(v, 1) for k, v in
                      sorted(files.items(), key=lambda kv: -kv[1])}}


def markdown(rows, command):
    lines = ["# Test suite durations", "", f"Command: `{command}`", "",
             "| backend | wall s | tests s | passed | failed | skipped |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        wall = "?" if r["wall_s"] is None else f"{r['wall_s']:.0f}"
        lines.append(f"| {r['backend']} | {wall} | {r['tests_s']:.0f} | "
                     f"{r['passed']} | {r['failed']} | {r['skipped']} |")
    for r in rows:
        lines += ["", f"## {r['backend']}: the {TOP} costliest tests", "",
                  "| s | test |", "|---|---|"]
        lines += [f"| {t['seconds']:.1f} | `{t['test']}` |"
                  for t in r["costliest"]]
        lines += ["", f"## {r['backend']}: seconds per test module", "",
                  "| s | module |", "|---|---|"]
        lines += [f"| {s:.1f} | `{m}` |" for m, s in r["files"].items()]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", help="the folder of BACKEND.xml files")
    parser.add_argument("backends", nargs="+")
    parser.add_argument("--out", default=os.path.join(HERE, "results",
                                                      "suite_durations"),
                        help="the results files' path without suffix")
    parser.add_argument("--command", default="bash tools/test.sh")
    args = parser.parse_args(argv)
    rows, missing = [], []
    for backend in args.backends:
        row = read(args.reports, backend)
        if row is None:
            print(f"{backend}: no report")
            missing.append(backend)
            continue
        rows.append(row)
        wall = "?" if row["wall_s"] is None else f"{row['wall_s']:.0f} s"
        print(f"{backend}: {row['passed']} passed, {row['failed']} failed, "
              f"{row['skipped']} skipped ({wall})")
    if rows:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out + ".json", "w") as f:
            json.dump({"command": args.command, "passes": rows}, f,
                      indent=1)
        with open(args.out + ".md", "w") as f:
            f.write(markdown(rows, args.command))
    total = {k: sum(r[k] for r in rows) for k in
             ("passed", "failed", "skipped")}
    total["failed"] += len(missing)
    print(f"all backends: {total['passed']} passed, {total['failed']} "
          f"failed, {total['skipped']} skipped")
    return 1 if total["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())

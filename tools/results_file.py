"""A benchmark's results file pair: RESULTS.json (the record) and
RESULTS.md (a title, the command with its start, end and commit, then the
table), each written atomically.

    from results_file import Record
    record = Record()                 # the command line and start time
    ...
    record.save("tools/results/speed_x.json", "Title", table, rows=rows)
"""

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kft.rundir import atomic  # noqa: E402


class Record:
    """The command that made a result, when it ran and on which commit.

    Args:
        argv: list of str or None. The script's arguments (None: the
            process's own).
    """

    def __init__(self, argv=None):
        script = Path(sys.argv[0]).name
        self.command = shlex.join(
            ["python", f"tools/{script}",
             *(sys.argv[1:] if argv is None else argv)])
        self.started = time.strftime("%Y-%m-%d %H:%M")
        found = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                               cwd=ROOT, capture_output=True, text=True)
        self.commit = found.stdout.strip() or None

    def save(self, out, title, text, **fields):
        """Writes `out` (.json: the command, times, commit and `fields`)
        and `out` with `.md` (the title, the command and `text`)."""
        finished = time.strftime("%Y-%m-%d %H:%M")
        record = {"command": self.command, "commit": self.commit,
                  "started": self.started, "finished": finished, **fields}
        out = Path(out)
        with atomic.writing(out, "w", encoding="utf-8") as f:
            f.write(json.dumps(record, indent=2) + "\n")
        with atomic.writing(out.with_suffix(".md"), "w",
                            encoding="utf-8") as f:
            f.write(f"# {title}\n\n`{self.command}` ({self.started} to "
                    f"{finished}, commit {self.commit})\n\n{text}\n")


def number(value, spec):
    """`value` formatted by `spec`, or "-" for None (a table cell)."""
    return "-" if value is None else format(value, spec)

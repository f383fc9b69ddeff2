"""The run directory: what a run leaves on disk, and how it is written.

- `layout`: the files of a run directory, reading and checking them;
- `atomic`: files and folders written whole or not at all;
- `disk`: enough free space for a run's files, checked before training;
- `plots`: `curves.png` and `confusion.png` (matplotlib, Agg);
- `tables`: plain-text and Markdown tables for reports.

A leaf that any layer may use: it imports only `kft.errors` and
`kft.version`, and imports no keras (matplotlib only inside the
functions of `plots`).
"""

from kft.rundir.layout import (
    BACKUP,
    CONFIG,
    CONFUSION,
    CURVES,
    ENV,
    HISTORY,
    METRICS,
    MODEL,
    RUN_FORMAT,
    TENSORBOARD,
    check_writable,
    default_path,
    inputs_record,
    prepare,
    read_json,
    read_run,
    unfinished,
    write_json,
    write_text,
)

__all__ = [
    "BACKUP", "CONFIG", "CONFUSION", "CURVES", "ENV", "HISTORY", "METRICS",
    "MODEL", "RUN_FORMAT", "TENSORBOARD", "check_writable", "default_path",
    "inputs_record", "prepare", "read_json", "read_run", "unfinished",
    "write_json", "write_text",
]

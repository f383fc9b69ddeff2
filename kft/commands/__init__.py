"""What a user runs: the `kft` command line, and the commands that work
on finished run directories.

- `cli`: `kft run`, `resume`, `show` and the rest (click);
- `report`: `kft report`;

The top layer: it may use every other. Its modules stay light at import,
so the CLI chooses the backend before keras loads.
"""

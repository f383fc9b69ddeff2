"""What a user runs: the `kft` command line.

- `cli`: `kft run`, `resume`, `show` and the rest (click); it hands the
  work to `kft.training`, `kft.evaluation`, `kft.sweep` and the launcher
  (`kft.runtime.distribute.launch`);
- `report`: `kft report`, a table of runs side by side from their small
  JSON files (through `kft.rundir` and `kft.sweep`'s folder), formatting
  only; nothing else in kft uses it.

The top layer: it may use every other. Its modules stay light at import,
so the CLI chooses the backend before keras loads.
"""

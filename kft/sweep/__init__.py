"""`kft sweep`: a hyperparameter search on KerasTuner, every trial an
ordinary `kft run` in a process of its own.

- `search`: the sweep itself (`sweep`, `Search`);
- `space`: its arguments, the search space, checked against the recipe;
- `tuner`: KerasTuner's oracles (random, Bayesian, grid);
- `trials`: a trial's `kft run` command and process;
- `record`: `sweep.json`, its only reader and writer;
- `results`: a trial's results, `sweep.md`, `sweep.png` and `best`;
- `folder`: the sweep folder's trial run directories and `best` link;
- `plot`: the figure of `sweep.png` (matplotlib inside functions).

Above `kft.training` (a sweep goes on with `kft.training.resume`'s
rules); keras_tuner is imported inside functions.
"""

"""`sweep.png`: a sweep's objective against each swept value.

One panel per swept key: a point per finished trial (its value, its
objective), the best trial drawn as a star. Numbers go on a numeric axis
(logarithmic for a `:log` range), anything else (text, true/false) on
evenly spaced categories. Drawn on an Agg `Figure` (`plots.new_figure`).
"""

import math

from kft.rundir import plots


def sweep_figure(keys, points, objective, best=None, log_keys=(),
                 ranges=None):
    """The objective against each swept key.

    Args:
        keys: list of str. The swept keys, one panel each.
        points: list of `(values, score)`: a finished trial's values (a
            dict with every key) and its objective.
        objective: str. The objective's name, for the y axis.
        best: int or None. The position in `points` of the best trial.
        log_keys: collection of str. Keys drawn on a logarithmic axis.
        ranges: dict or None. `key: (low, high)` of swept ranges: the
            axis spans the whole range searched.

    Returns:
        matplotlib.figure.Figure with one axes per key.
    """
    columns = max(min(len(keys), plots.COLUMNS), 1)
    rows = max(math.ceil(len(keys) / columns), 1)
    figure = plots.new_figure(plots.PANEL[0] * columns,
                              plots.PANEL[1] * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    scores = [score for _, score in points]
    for ax, key in zip(axes, keys, strict=False):
        xs = [values[key] for values, _ in points]
        positions = _positions(ax, xs)
        ax.scatter(positions, scores, color="C0", label="trial")
        if best is not None:
            ax.scatter([positions[best]], [scores[best]], marker="*", s=200,
                       color="C3", label="best", zorder=3)
        _axis(ax, xs, key in log_keys, (ranges or {}).get(key))
        ax.set_xlabel(key)
        ax.set_ylabel(objective)
        ax.set_title(f"{objective} by {key}")
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in axes[len(keys):]:
        figure.delaxes(ax)
    return figure


def _axis(ax, xs, log, bounds):
    """A log or linear x axis over `bounds` (low, high) when given, with
    whole-number ticks for whole numbers."""
    from matplotlib.ticker import MaxNLocator, NullFormatter

    if log:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    if bounds is not None:
        low, high = bounds
        pad = (high / low) ** 0.05 if log else (high - low) * 0.05
        ax.set_xlim(*((low / pad, high * pad) if log
                      else (low - pad, high + pad)))
    if not log and all(isinstance(x, int) and not isinstance(x, bool)
                       for x in xs):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _positions(ax, xs):
    """`xs` as numbers; text or true/false become category positions."""
    if all(isinstance(x, int | float) and not isinstance(x, bool)
           for x in xs):
        return xs
    labels = list(dict.fromkeys(str(x) for x in xs))
    ax.set_xticks(range(len(labels)), labels=labels)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    return [labels.index(str(x)) for x in xs]

"""`Result`: what `kft.train` returns."""

import dataclasses


@dataclasses.dataclass
class Result:
    """What `train` returns.

    Args:
        run_dir: str. The run directory (None in a process that does not
            write it, under distribution).
        metrics: dict. Validation metrics of the best model (`loss`,
            `accuracy`, `f1`, `auc`).
        history: dict. Per-epoch values logged by `fit`.
        model: keras.Model. The best model, in memory.
    """

    run_dir: str
    metrics: dict
    history: dict
    model: object

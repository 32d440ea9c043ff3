"""Training throughput: rankwise's trainer against allRank's on LETOR MQ2008 Fold 1.

Run in the environment of ``../shared/anchors/setup.sh`` (allRank beside torch)::

    PYTHONPATH=src /work/anchors-venv/bin/python benchmarks/bench_throughput.py

Both trainers train the same architecture with the same batch size (64 lists), loss
and optimizer on the same data (MQ2008 Fold 1, written as the SVMlight files allRank
reads), on the CPU:

- ``mlp``: a per-item network, 46 -> 64 -> 32 -> 1 (allRank: FCModel sizes [64, 32],
  no transformer);
- ``context``: a linear projection to 64, 2 encoder layers, 4 heads, feed-forward 128,
  dropout 0.1, per-item output (allRank: FCModel [64] + transformer N=2, h=4,
  d_ff=128).

Two measures, each the median over ``--epochs`` epochs after one warm-up epoch:

1. training pass: documents/s of the forward + backward + optimizer steps over the
   training split (allRank: its ``loss_batch`` loop over its loader; rankwise: one
   ``Trainer`` epoch);
2. whole epoch: training pass plus each trainer's own per-epoch evaluation (allRank's
   ``fit`` also recomputes its metrics on the training split; rankwise validates only).

Documents are the real (unpadded) documents of the training split.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch


def _allrank_setup(folder: Path, model_kind: str, loss: str, batch: int) -> tuple[Any, ...]:
    import allrank.models.losses as A
    from allrank.config import TransformerConfig
    from allrank.data.dataset_loading import create_data_loaders, load_libsvm_dataset
    from allrank.models.model import make_model

    logging.getLogger("allrank").setLevel(logging.WARNING)
    train_ds, valid_ds = load_libsvm_dataset(str(folder), 128, "vali")
    train_dl, valid_dl = create_data_loaders(train_ds, valid_ds, num_workers=0, batch_size=batch)
    fc = {
        "sizes": [64] if model_kind == "context" else [64, 32],
        "input_norm": False,
        "activation": None if model_kind == "context" else "ReLU",
        "dropout": 0.1,
    }
    transformer = (
        TransformerConfig(N=2, d_ff=128, h=4, positional_encoding=None, dropout=0.1)
        if model_kind == "context"
        else None
    )
    model = make_model(fc, transformer, {"output_activation": None, "d_output": 1}, 46)
    loss_fn = {"listnet": A.listNet, "neuralndcg": A.neuralNDCG}[loss]
    return model, loss_fn, train_dl, valid_dl


def _rankwise_setup(train: Any, valid: Any, model_kind: str, loss: str, batch: int) -> Any:
    from rankwise.data import make_loader
    from rankwise.models import ContextAwareRanker, MLPScorer
    from rankwise.registry import build
    from rankwise.train import ListRankingTask, Trainer

    if model_kind == "context":
        model: Any = ContextAwareRanker(
            46,
            d_model=64,
            input_activation=None,
            num_layers=2,
            num_heads=4,
            ff_dim=128,
            dropout=0.1,
            activation="relu",
            norm_first=False,
        )
    else:
        model = MLPScorer(46, hidden=[64, 32], dropout=0.1, norm=None)
    gen = torch.Generator().manual_seed(0)
    spec = {
        "listnet": {"name": "softmax", "params": {"target": "softmax"}},
        "neuralndcg": {"name": "neural_ndcg"},
    }[loss]
    return Trainer(
        model,
        ListRankingTask(build("loss", spec), ["ndcg@10"]),
        torch.optim.Adam(model.parameters(), lr=1e-3),
        make_loader(train, batch, shuffle=True, generator=gen),
        valid=make_loader(valid, 2 * batch),
        epochs=1000,
        generator=gen,
    )


def measure(
    kind: str, loss: str, epochs: int, batch: int, folder: Path, train: Any, valid: Any
) -> dict[str, float]:
    from allrank.training.train_utils import compute_metrics, loss_batch

    docs = train.num_documents
    model, loss_fn, train_dl, valid_dl = _allrank_setup(folder, kind, loss, batch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    config = SimpleNamespace(metrics={"ndcg": [10]}, val_metric="ndcg_10")
    a_train, a_epoch = [], []
    for e in range(epochs + 1):
        t0 = time.perf_counter()
        model.train()
        for xb, yb, idx in train_dl:
            loss_batch(model, loss_fn, xb, yb, idx, None, opt)
        t1 = time.perf_counter()
        compute_metrics(config.metrics, model, train_dl, "cpu")  # as allRank's fit does
        model.eval()
        with torch.no_grad():
            for xb, yb, idx in valid_dl:
                loss_batch(model, loss_fn, xb, yb, idx, None)
            compute_metrics(config.metrics, model, valid_dl, "cpu")
        t2 = time.perf_counter()
        if e:
            a_train.append(docs / (t1 - t0))
            a_epoch.append(docs / (t2 - t0))
    trainer = _rankwise_setup(train, valid, kind, loss, batch)
    r_train, r_epoch = [], []
    for e in range(epochs + 1):
        t0 = time.perf_counter()
        trainer._train_epoch(e)
        t1 = time.perf_counter()
        trainer.evaluate(trainer.valid)
        t2 = time.perf_counter()
        if e:
            r_train.append(docs / (t1 - t0))
            r_epoch.append(docs / (t2 - t0))
    med = statistics.median
    return {
        "allrank_train": med(a_train),
        "rankwise_train": med(r_train),
        "allrank_epoch": med(a_epoch),
        "rankwise_epoch": med(r_epoch),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--loss", action="append", choices=["listnet", "neuralndcg"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    from rankwise.data import load_letor_fold, write_svmlight

    data_dir = Path(
        os.environ.get("RANKWISE_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    fold = load_letor_fold(data_dir / "letor4-mq2008", 1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_svmlight(fold.train, folder / "train.txt")
        write_svmlight(fold.vali, folder / "vali.txt")
        for loss in args.loss or ["listnet", "neuralndcg"]:
            for kind in ("mlp", "context"):
                r = measure(kind, loss, args.epochs, args.batch_size, folder, fold.train, fold.vali)
                rows.append((kind, loss, r))
                print(f"measured {kind}/{loss}", file=sys.stderr, flush=True)
    print(
        f"MQ2008 Fold 1 train: {fold.train.num_queries} lists, "
        f"{fold.train.num_documents} documents; "
        f"batch {args.batch_size}, {args.threads} threads, torch {torch.__version__}\n"
    )
    print(
        "| model | loss | rankwise train docs/s | allRank train docs/s | ratio "
        "| rankwise epoch docs/s | allRank epoch docs/s | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for kind, loss, r in rows:
        print(
            f"| {kind} | {loss} | {r['rankwise_train']:,.0f} | {r['allrank_train']:,.0f} | "
            f"{r['rankwise_train'] / r['allrank_train']:.2f}x | {r['rankwise_epoch']:,.0f} | "
            f"{r['allrank_epoch']:,.0f} | {r['rankwise_epoch'] / r['allrank_epoch']:.2f}x |"
        )


if __name__ == "__main__":
    main()

"""Metric learning on scikit-learn's bundled digits: train on digits 0-4, retrieve 5-9.

    .venv/bin/python examples/digits_metric_learning.py [--epochs 5] [--seeds 0,1,2]

An MLP embedder (64 -> 128 -> 32) is trained with Multi-Similarity, Circle and triplet
(batch-hard mining) losses on the images of digits 0-4 and evaluated by retrieval
(Recall@1, MAP@R) among the images of the *unseen* digits 5-9, against the same
embedder untrained. Prints a markdown table (mean over seeds, and per seed).

Set-up chosen without looking at digits 5-9: on a validation protocol (train on 0-2,
retrieve among 3-4) the gain over the untrained embedder was largest for this MLP, 5
epochs, with random one-pixel shifts of the training images. Without the shifts, training
on five classes over-fits them and *hurts* retrieval of unseen digits (Recall@1 0.95 vs
0.96 untrained, measured), because k-NN on raw digits is already strong; shift invariance
is what carries over to new classes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from rankwise import losses
from rankwise.data import LabelledItems, class_balanced_loader
from rankwise.metrics import retrieval_metrics
from rankwise.train import EmbeddingTask, Trainer

LOSSES: dict[str, Callable[[], nn.Module]] = {
    "multi-similarity": lambda: losses.MultiSimilarityLoss(mining_epsilon=0.1),
    "circle": lambda: losses.CircleLoss(margin=0.4, gamma=80.0),
    "triplet (batch-hard)": lambda: losses.TripletMarginLoss(margin=0.2, mining="batch_hard"),
}


def load_split() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Digits 0-4 (train) and 5-9 (unseen), pixel values scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float32)
    y = torch.tensor(data.target)
    seen = y < 5
    return x[seen], y[seen], x[~seen], y[~seen]


def shift(batch: Tensor, generator: torch.Generator) -> Tensor:
    """Roll a batch of 8x8 images by one random (dx, dy) in {-1, 0, 1}^2."""
    dx, dy = torch.randint(-1, 2, (2,), generator=generator).tolist()
    return torch.roll(batch.view(-1, 8, 8), (dy, dx), dims=(1, 2)).reshape(-1, 64)


def embedder(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 32))


def evaluate(model: nn.Module, x: Tensor, y: Tensor) -> dict[str, float]:
    with torch.no_grad():
        return retrieval_metrics(model(x), y, ks=(1,))


def train(model: nn.Module, loss: nn.Module, x: Tensor, y: Tensor, epochs: int, seed: int) -> None:
    """Adam (lr 1e-3) on batches of 5 classes x 16 images, shifted at random, by the
    library's Trainer with an EmbeddingTask."""
    generator = torch.Generator().manual_seed(seed)
    loader = class_balanced_loader(
        LabelledItems(x, y), classes_per_batch=5, per_class=16, generator=generator, augment=shift
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    Trainer(model, EmbeddingTask(loss), optimizer, loader, epochs=epochs).fit()
    model.eval()


def run(epochs: int, seeds: list[int]) -> dict[str, list[dict[str, float]]]:
    x_tr, y_tr, x_te, y_te = load_split()
    rows: dict[str, list[dict[str, float]]] = {"untrained": []}
    for seed in seeds:
        rows["untrained"].append(evaluate(embedder(seed), x_te, y_te))
        for name, make_loss in LOSSES.items():
            model = embedder(seed)
            train(model, make_loss(), x_tr, y_tr, epochs, seed)
            rows.setdefault(name, []).append(evaluate(model, x_te, y_te))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    table = run(args.epochs, seeds)
    print(f"Command: {' '.join(sys.argv)}\n")
    print("| embedder (unseen digits 5-9) | Recall@1 (hits@1) | MAP@R | Recall@1 per seed |")
    print("|---|---|---|---|")
    for name, runs in table.items():
        mean = {key: float(np.mean([r[key] for r in runs])) for key in ("hits@1", "map@r")}
        per_seed = ", ".join(f"{r['hits@1']:.4f}" for r in runs)
        print(f"| {name} | {mean['hits@1']:.4f} | {mean['map@r']:.4f} | {per_seed} |")


if __name__ == "__main__":
    main()

"""Recommendation on MovieLens 100K (u1 split): matrix factorisation trained with BPR,
sampled softmax, CCL, PSL and SoftmaxLoss@K, against item popularity.

    .venv/bin/python examples/movielens_recommendation.py ../shared/data/movielens-100k

The data's licence forbids redistribution: the script reads it from the folder given and
nothing of it is copied. Full-ranking evaluation (every item the user did not rate in
training is a candidate): mean Recall@20 and NDCG@20 over users with a test item
(protocol in :mod:`rankwise.metrics.recommendation`). Prints a markdown table.

The recipe: :class:`~rankwise.models.MatrixFactorization` trained by rankwise's one
:class:`~rankwise.train.Trainer` with a :class:`~rankwise.train.RecommendationTask`, 64
uniform negatives per observed pair (:func:`~rankwise.data.interaction_loader`), Adam at
learning rate 5e-3, batches of 1,024 pairs. The losses and their settings are in
:data:`LOSSES`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import torch
from rich.console import Console

from rankwise import losses
from rankwise.data import Interactions, interaction_loader, load_movielens
from rankwise.metrics import full_ranking_metrics
from rankwise.models import MatrixFactorization, popularity_scores
from rankwise.train import ConsoleProgress, RecommendationTask, Trainer

# name: (loss module factory, cosine scores?)
LOSSES: dict[str, tuple[Callable[[], torch.nn.Module], bool]] = {
    "bpr": (losses.BPRLoss, False),
    "sampled_softmax": (losses.SampledSoftmaxLoss, False),
    "ccl": (lambda: losses.CCLLoss(margin=0.5, negative_weight=10.0), True),
    "psl": (lambda: losses.PSLRecommendationLoss(temperature=0.2), True),
    # weight_temperature 1.0 (the paper's default): at 0.2 the top-K weight's own gradient
    # outweighs the softmax term and pushes positives down (MovieLens u1 Recall@20 0.03).
    "sl_at_k": (
        lambda: losses.SLAtKRecommendationLoss(k=20, temperature=0.2, weight_temperature=1.0),
        True,
    ),
}


def train(
    data: Interactions,
    loss: str,
    *,
    epochs: int = 30,
    dim: int = 64,
    negatives: int = 64,
    batch_size: int = 1024,
    lr: float = 5e-3,
    seed: int = 0,
    progress: bool = False,
) -> MatrixFactorization:
    """Matrix factorisation trained with one of :data:`LOSSES` on ``data.train``."""
    if loss not in LOSSES:
        raise ValueError(f"unknown recommendation loss {loss!r}; known: {sorted(LOSSES)}")
    make_loss, cosine = LOSSES[loss]
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = MatrixFactorization(data.num_users, data.num_items, dim, cosine=cosine)
    trainer = Trainer(
        model,
        RecommendationTask(make_loss()),
        torch.optim.Adam(model.parameters(), lr=lr),
        interaction_loader(data, batch_size=batch_size, negatives=negatives, generator=generator),
        epochs=epochs,
        callbacks=[ConsoleProgress(Console(stderr=True), bars=True)] if progress else [],
    )
    trainer.fit()
    model.eval()
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", help="folder holding u1.base / u1.test (MovieLens 100K)")
    parser.add_argument("--split", default="u1")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--losses",
        nargs="+",
        default=list(LOSSES),
        choices=list(LOSSES),
        help="train only these losses (default: all)",
    )
    args = parser.parse_args()
    data = load_movielens(args.root, args.split)
    rows = {"popularity": (full_ranking_metrics(data, popularity_scores(data)), 0.0)}
    for loss in args.losses:
        start = time.perf_counter()
        model = train(data, loss, epochs=args.epochs, seed=args.seed, progress=True)
        rows[f"MF + {loss}"] = (
            full_ranking_metrics(data, model.all_scores()),
            time.perf_counter() - start,
        )
        print(f"{loss}: {rows[f'MF + {loss}'][0]}", file=sys.stderr, flush=True)
    print(f"Command: {' '.join(sys.argv)}\n")
    print(
        f"MovieLens 100K {args.split}: {data.num_users} users, {data.num_items} items, "
        f"{len(data.train)} train / {len(data.test)} test interactions\n"
    )
    print("| model | Recall@20 | NDCG@20 | train s |\n|---|---|---|---|")
    for name, (m, seconds) in rows.items():
        print(f"| {name} | {m['recall@20']:.4f} | {m['ndcg@20']:.4f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()

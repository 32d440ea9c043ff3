"""Recommendation on MovieLens 100K (u1 split): matrix factorisation trained with BPR,
sampled softmax, CCL, PSL and SoftmaxLoss@K, against item popularity.

    .venv/bin/python examples/movielens_recommendation.py ../shared/data/movielens-100k

The data's licence forbids redistribution: the script reads it from the folder given and
nothing of it is copied. Full-ranking evaluation (every item the user did not rate in
training is a candidate): mean Recall@20 and NDCG@20 over users with a test item
(protocol in :mod:`rankwise.embedding.recsys`). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time

from rankwise.embedding.recsys import (
    RECOMMENDATION_LOSSES,
    evaluate_full_ranking,
    load_movielens,
    popularity_scores,
    train_recommender,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", help="folder holding u1.base / u1.test (MovieLens 100K)")
    parser.add_argument("--split", default="u1")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--losses",
        nargs="+",
        default=list(RECOMMENDATION_LOSSES),
        choices=list(RECOMMENDATION_LOSSES),
        help="train only these losses (default: all)",
    )
    args = parser.parse_args()
    data = load_movielens(args.root, args.split)
    rows = {"popularity": (evaluate_full_ranking(data, popularity_scores(data)), 0.0)}
    for loss in args.losses:
        start = time.perf_counter()
        model = train_recommender(data, loss, epochs=args.epochs, seed=args.seed)
        rows[f"MF + {loss}"] = (
            evaluate_full_ranking(data, model.all_scores()),
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

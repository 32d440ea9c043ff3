"""What the demo's data allow: NDCG@10 of the synthetic teacher's own scores.

    .venv/bin/python benchmarks/bench_demo_data.py [--queries 1500] [--seeds 0 1 2]

For ``make_synthetic(queries, seed=s)`` (the data of ``rankwise demo --seed s``) it
prints the mean NDCG@10 over all queries [exp2 gain, empty=zero, ties=average] of the
noiseless teacher score, of the teacher without its list-context term, and of the
teacher whose context term uses the list's own estimate of its latent shift (what a
model seeing the whole list could know); see ``rankwise.data.synthetic``. The models'
figures on the demo's test split come from ``rankwise demo`` itself.
"""

from __future__ import annotations

import argparse

from rankwise.data import make_synthetic, synthetic_teacher
from rankwise.metrics import evaluate_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    print("| seed | teacher | without its context term | context term from the list |")
    print("|---|---|---|---|")
    for seed in args.seeds:
        data = make_synthetic(args.queries, seed=seed)
        teacher = synthetic_teacher(args.queries, seed=seed)
        full, without, from_list = (
            evaluate_scores(data, scores, ["ndcg@10"]).means()["ndcg@10"]
            for scores in (
                teacher.score(),
                teacher.score(context=False),
                teacher.score(from_list=True),
            )
        )
        print(f"| {seed} | {full:.4f} | {without:.4f} | {from_list:.4f} |")


if __name__ == "__main__":
    main()

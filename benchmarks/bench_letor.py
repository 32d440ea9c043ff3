"""5-fold cross-validation on LETOR data: GBDT baselines against rankwise's neural rankers.

    .venv/bin/python benchmarks/bench_letor.py --data mq2008 --data ohsumed

For each data set and fold, every system is trained on the fold's train split, tuned
(early stopping, model selection) on its validation split only, and evaluated on its
test split by rankwise's metrics with the same conventions for every row: exp2 gain,
ties broken by input order (``ties=stable``, as LightGBM and XGBoost do), and both
conventions for lists without a relevant document (``empty=zero`` and ``empty=one``).

Systems (``--system`` to choose): LightGBM lambdarank and rank_xendcg, XGBoost
rank:pairwise and CatBoost YetiRank (library defaults except up to 1,000 trees at
learning rate 0.05 with early stopping on the validation fold), and the MLP and the
context-aware ranker trained with NeuralNDCG, LambdaLoss (NDCG-Loss2++) and ListNet, and
the context ranker with ListNet distilled from LightGBM (``-pld``, ``training.distill``).
Every run goes through
``rankwise.train.run_experiment``, the code path of ``rankwise train``. The
hyper-parameters below were chosen on mean validation NDCG@10 over the five folds
(``--report-valid`` prints it); test folds were never used for a decision.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

DATA = {
    "mq2008": "letor4-mq2008",
    "ohsumed": "letor3-ohsumed/QueryLevelNorm",
}


def _metric_keys() -> list[str]:
    from rankwise.metrics.spec import parse_metric

    return [
        parse_metric(f"ndcg@{k}[ties=stable{',empty=one' if one else ''}]").key
        for one in (False, True)
        for k in (1, 3, 5, 10)
    ]


METRICS = _metric_keys()

NEURAL_COMMON: dict[str, Any] = {
    "optimizer": {"name": "adamw", "params": {"lr": 1e-3, "weight_decay": 1e-4}},
    "training": {
        "epochs": 60,
        "early_stopping": {"metric": "ndcg@10[ties=stable]", "patience": 10},
        "grad_clip": 1.0,
        "progress": False,
        "tensorboard": False,
    },
}
MODELS = {
    "mlp": {"name": "mlp", "params": {"hidden": [128, 64], "dropout": 0.2}},
    "context": {
        "name": "context_aware",
        "params": {"d_model": 64, "num_layers": 2, "num_heads": 4, "ff_dim": 128, "dropout": 0.2},
    },
}
LOSSES = {
    "neuralndcg": {"name": "neural_ndcg", "params": {"temperature": 1.0}},
    "lambdaloss": {"name": "lambda", "params": {"lambda_weights": "ndcg_loss2pp"}},
    "listnet": {"name": "softmax", "params": {"target": "softmax"}},
}
# The neural systems' data settings, chosen on mean validation NDCG@10 (README):
# standardized features and batches of 8 lists.
NEURAL_DATA = {"transform": [{"name": "standardize"}], "batch_size": 8}
GBDT = {
    "lightgbm-lambdarank": {"name": "lightgbm", "params": {"objective": "lambdarank"}},
    "lightgbm-xendcg": {"name": "lightgbm", "params": {"objective": "rank_xendcg"}},
    "xgboost-pairwise": {"name": "xgboost", "params": {"objective": "rank:pairwise"}},
    "catboost-yetirank": {"name": "catboost", "params": {"objective": "YetiRank"}},
}
# "-pld": distilled from out-of-fold LightGBM lambdarank scores (training.distill, PLD
# weight 0.5, temperature 1, 5 parts, 3 partitions: chosen on mean validation NDCG@10, README)
DISTILL = {
    "teacher": GBDT["lightgbm-lambdarank"],
    "weight": 0.5,
    "temperature": 1.0,
    "folds": 5,
    "repeats": 3,
}
# "-x5": a seed ensemble of five members (rankwise.models.ensemble)
SYSTEMS = [
    *GBDT,
    *(f"{m}-{loss}" for m in MODELS for loss in LOSSES),
    "context-listnet-pld",
    "context-listnet-x5",
    "context-neuralndcg-x5",
]


def config_for(
    system: str, data_root: Path, fold: int, out: Path, seed: int, overrides: list[str]
) -> Any:
    from rankwise.train.config import apply_overrides, validate_config

    raw: dict[str, Any] = {
        "name": f"{system}-fold{fold}",
        "seed": seed,
        "output_dir": str(out),
        "data": {"letor": {"root": str(data_root), "fold": fold}, "batch_size": 32},
        "metrics": METRICS,
    }
    if system in GBDT:
        raw["model"] = GBDT[system]
        raw["training"] = {"early_stopping": NEURAL_COMMON["training"]["early_stopping"]}
    else:
        model, loss, *suffixes = system.split("-")
        raw.update(json.loads(json.dumps(NEURAL_COMMON)))
        raw["data"].update(NEURAL_DATA)
        raw["model"] = MODELS[model]
        raw["loss"] = LOSSES[loss]
        for suffix in suffixes:
            if suffix == "pld":
                raw["training"]["distill"] = json.loads(json.dumps(DISTILL))
            else:
                raw["training"]["ensemble"] = int(suffix.lstrip("x"))
    return validate_config(apply_overrides(raw, overrides))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", action="append", choices=sorted(DATA), help="data sets (default all)"
    )
    parser.add_argument("--system", action="append", choices=SYSTEMS, help="systems (default all)")
    parser.add_argument("--folds", default="1,2,3,4,5")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], help="override for neural configs")
    parser.add_argument("--out", default="bench-runs/letor")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--tables", help="print the tables of an earlier --json file and stop")
    args = parser.parse_args()
    if args.tables:
        saved = json.loads(Path(args.tables).read_text())
        print_tables(saved["results"], saved["command"])
        return

    from rich.console import Console

    from rankwise.train.experiment import run_experiment

    data_dir = Path(
        os.environ.get("RANKWISE_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    folds = [int(f) for f in args.folds.split(",")]
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115 - lives for the process
    results: dict[str, dict[str, Any]] = {}
    for data in args.data or sorted(DATA):
        root = data_dir / DATA[data]
        for system in args.system or SYSTEMS:
            tests, valids, seconds = [], [], 0.0
            for fold in folds:
                overrides = [] if system in GBDT else args.set
                config = config_for(system, root, fold, Path(args.out) / data, args.seed, overrides)
                summary = run_experiment(config, overwrite=True, console=quiet)
                tests.append([summary.test[m] for m in METRICS])
                valids.append(summary.best_valid)
                seconds += summary.seconds
            mean = np.mean(tests, axis=0)
            results[f"{data}/{system}"] = {
                "test": dict(zip(METRICS, mean.tolist(), strict=True)),
                "valid_ndcg@10": float(np.mean([v for v in valids if v is not None]))
                if any(v is not None for v in valids)
                else None,
                "seconds": seconds,
            }
            row = results[f"{data}/{system}"]
            valid_mean = row["valid_ndcg@10"]
            shown = f"{valid_mean:.4f}" if valid_mean is not None else "-"
            print(
                f"{data:8s} {system:24s} test NDCG@10 {mean[3]:.4f} (empty=zero) "
                f"{mean[7]:.4f} (empty=one)  valid {shown}  {seconds:.0f}s",
                file=sys.stderr,
                flush=True,
            )
    print_tables(results, " ".join(sys.argv))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"command": " ".join(sys.argv), "results": results}, indent=2)
        )


def print_tables(results: dict[str, dict[str, Any]], command: str) -> None:
    """Print one markdown table per data set (the form benchmarks/README.md records)."""
    print(f"\nCommand: {command}\n")
    for data in dict.fromkeys(key.split("/", 1)[0] for key in results):
        print(f"### {data} (5-fold mean test NDCG, exp2 gain, ties=stable)\n")
        print(
            "| system | @1 | @3 | @5 | @10 | @1 (empty=one) | @3 | @5 | @10 | mean valid NDCG@10 |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for key, row in results.items():
            if not key.startswith(data + "/"):
                continue
            values = " | ".join(f"{v:.4f}" for v in row["test"].values())
            valid = row["valid_ndcg@10"]
            shown = f"{valid:.4f}" if valid is not None else "-"
            print(f"| {key.split('/', 1)[1]} | {values} | {shown} |")
        print()


if __name__ == "__main__":
    main()

"""Data-parallel training throughput: ``rankwise train`` under ``torchrun`` with 1 and 2
processes (gloo on the CPU, NCCL on CUDA), on an MSLR-shaped synthetic data set.

    .venv/bin/python benchmarks/bench_distributed.py [--queries 4000] [--epochs 4]

Each run trains the same config (context-aware ranker, ListNet, AdamW, 32 lists per
process) and reports the median training documents/s over its epochs after the first
(the sum over processes, as the trainer logs it). With P processes the global batch is
P x 32 lists, so the runs compare equal work per process, as data-parallel training
scales it. Each process gets ``threads / P`` intra-op threads, so on a machine with few
cores the ratio shows the cost of the gradient all-reduce and of the gathered loss, not
a speed-up a larger machine would show: there the per-process thread count stays fixed
and the ratio approaches P when the model dominates.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import yaml

from _machine import cpu_model


def run(nproc: int, config: Path, threads: int, device: str) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, threads // nproc))}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "--no-python",
        str(Path(sys.executable).parent / "rankwise"),
        "train",
        str(config),
        "--set",
        f"name=p{nproc}",
        "--set",
        f"device={device}",
    ]
    subprocess.run(command, check=True, env=env, capture_output=True, text=True)
    rows = [
        json.loads(x)
        for x in (config.parent / "runs" / f"p{nproc}" / "metrics.jsonl").read_text().splitlines()
    ]
    return statistics.median(r["docs_per_s"] for r in rows[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    threads = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "name": "bench",
                    "output_dir": str(Path(tmp) / "runs"),
                    "data": {
                        "synthetic": {"num_queries": args.queries, "num_features": 136},
                        "batch_size": 32,
                        "transform": [{"name": "standardize"}],
                    },
                    "model": {
                        "name": "context_aware",
                        "params": {"d_model": 64, "num_layers": 2, "num_heads": 4},
                    },
                    "loss": {"name": "softmax"},
                    "optimizer": {"name": "adamw", "params": {"lr": 1e-3}},
                    "training": {"epochs": args.epochs, "progress": False, "early_stopping": None},
                    "metrics": ["ndcg@10"],
                }
            )
        )
        results = {p: run(p, config, threads, args.device) for p in args.processes}
    print(
        f"CPU: {cpu_model()}, {threads} cores; torch {torch.__version__}; device "
        f"{args.device}; {args.queries} queries x 136 features; OMP threads = "
        f"{threads} / processes"
    )
    print("| processes | training docs/s | ratio to 1 process |")
    print("|---|---|---|")
    base = results[args.processes[0]]
    for p, value in results.items():
        print(f"| {p} | {value:,.0f} | {value / base:.2f}x |")


if __name__ == "__main__":
    main()

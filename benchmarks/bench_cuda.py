"""The speed issue's GPU check: losses, metrics and a training epoch on CUDA, rankwise
against allRank on the same device, in one process.

Run inside the environment of ``../shared/anchors/setup.sh`` (allRank beside torch) on
a machine with a CUDA device::

    PYTHONPATH=src <anchors-venv>/bin/python benchmarks/bench_cuda.py [--json cuda.json]

``--device cpu`` runs the same code on the CPU (a dry run of the script: its figures are
not the GPU's). What it measures, each after a warm-up call, best of ``--repeats``
rounds with the device synchronised around each:

1. **losses** at [64, 240] (``bench_losses.pairs``: NeuralNDCG, LambdaLoss, ApproxNDCG,
   ListNet, ListMLE, RankNet): forward + backward time and peak device memory of one
   call, with float32 scores and with bfloat16 scores (what a model under bf16 autocast
   hands the loss; rankwise computes in float32, allRank in what it is given), values
   compared between the libraries;
2. **metrics**: NDCG@10 of [10,000, 100] scores, rankwise's ``ndcg`` against allRank's
   ``ndcg`` (its padded labels -1);
3. **a training epoch** on LETOR MQ2008 Fold 1 (``bench_throughput``'s MLP with ListNet,
   64 lists a batch): rankwise's ``Trainer`` in float32 and with ``amp="bf16"``, and
   allRank's ``loss_batch`` loop, documents/s of the training pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from _machine import cpu_model
from bench_losses import inputs, pairs


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: torch.device, repeats: int) -> tuple[float, float]:
    """(best seconds of one call, peak device memory in bytes of one call; NaN on the
    CPU)."""
    fn()  # warm-up: kernels, allocator
    synchronize(device)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        synchronize(device)
        best = min(best, time.perf_counter() - t)
    peak = float("nan")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn()
        synchronize(device)
        peak = float(torch.cuda.max_memory_allocated(device) - base)
    return best, peak


def losses(device: torch.device, repeats: int) -> list[dict[str, Any]]:
    scores, labels, mask, allrank_labels = inputs(64, 240)
    labels, mask, allrank_labels = labels.to(device), mask.to(device), allrank_labels.to(device)
    rows = []
    for name, (ours, theirs) in pairs().items():
        for dtype in (torch.float32, torch.bfloat16):
            s = scores.to(device=device, dtype=dtype)
            row: dict[str, Any] = {"loss": name, "dtype": str(dtype).removeprefix("torch.")}
            for lib, fn in (
                ("rankwise", lambda x, f=ours: f(x, labels, mask)),
                ("allRank", lambda x, f=theirs: f(x, allrank_labels)),
            ):

                def call(
                    fn: Callable[[torch.Tensor], torch.Tensor] = fn, s: torch.Tensor = s
                ) -> float:
                    x = s.clone().requires_grad_(True)
                    value = fn(x)
                    value.float().backward()
                    return float(value.detach().float())

                try:
                    torch.manual_seed(0)
                    row[f"{lib}_value"] = call()
                    row[f"{lib}_s"], row[f"{lib}_bytes"] = timed(call, device, repeats)
                except (RuntimeError, TypeError) as exc:  # e.g. a bf16 kernel missing
                    row[f"{lib}_error"] = f"{type(exc).__name__}: {str(exc)[:80]}"
            rows.append(row)
            print(f"measured {name} {row['dtype']}", file=sys.stderr)
    return rows


def metrics(device: torch.device, repeats: int) -> dict[str, float]:
    from allrank.models.metrics import ndcg as allrank_ndcg

    from rankwise.functional import ndcg

    g = torch.Generator().manual_seed(0)
    scores = torch.randn(10_000, 100, generator=g).to(device)
    labels = torch.randint(0, 5, (10_000, 100), generator=g).float().to(device)
    # allRank ranks by a plain sort (tied scores in the sort's order): rankwise's
    # ties="stable" is that convention on untied scores, "average" its default
    out = {"allRank": float(allrank_ndcg(scores, labels, ats=[10]).mean())}
    out["allRank_s"], _ = timed(lambda: allrank_ndcg(scores, labels, ats=[10]), device, repeats)
    for ties in ("stable", "average"):
        out[f"rankwise_{ties}"] = float(ndcg(scores, labels, k=10, ties=ties))
        out[f"rankwise_{ties}_s"], _ = timed(
            lambda t=ties: ndcg(scores, labels, k=10, ties=t), device, repeats
        )
    return out


def training(device: torch.device, data: Path, epochs: int) -> dict[str, float]:
    """Documents/s of the training pass, the median of ``epochs`` epochs after one."""
    import statistics
    import tempfile

    from allrank.training.train_utils import loss_batch

    from bench_throughput import _allrank_setup
    from rankwise.data import load_letor_fold, write_svmlight

    fold = load_letor_fold(data / "letor4-mq2008", 1)
    train, valid = fold.train, fold.vali
    docs = train.num_documents
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_svmlight(train, folder / "train.txt")
        write_svmlight(valid, folder / "vali.txt")
        model, loss_fn, train_dl, _ = _allrank_setup(folder, "mlp", "listnet", 64)
        model = model.to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        rates = []
        for e in range(epochs + 1):
            synchronize(device)
            t0 = time.perf_counter()
            model.train()
            for xb, yb, idx in train_dl:
                loss_batch(model, loss_fn, xb.to(device), yb.to(device), idx.to(device), None, opt)
            synchronize(device)
            if e:
                rates.append(docs / (time.perf_counter() - t0))
        out["allRank_docs_per_s"] = statistics.median(rates)
    for amp in ("none", "bf16"):
        trainer = _rankwise_trainer(train, valid, device, amp)
        rates = []
        for e in range(epochs + 1):
            synchronize(device)
            t0 = time.perf_counter()
            trainer._train_epoch(e)
            synchronize(device)
            if e:
                rates.append(docs / (time.perf_counter() - t0))
        out[f"rankwise_{amp}_docs_per_s"] = statistics.median(rates)
    return out


def _rankwise_trainer(train: Any, valid: Any, device: torch.device, amp: str) -> Any:
    from rankwise.data import make_loader
    from rankwise.models import MLPScorer
    from rankwise.registry import build
    from rankwise.train import ListRankingTask, Trainer

    model = MLPScorer(46, hidden=[64, 32], dropout=0.1, norm=None)
    gen = torch.Generator().manual_seed(0)
    spec = {"name": "softmax", "params": {"target": "softmax"}}
    return Trainer(
        model,
        ListRankingTask(build("loss", spec), ["ndcg@10"]),
        torch.optim.Adam(model.parameters(), lr=1e-3),
        make_loader(train, 64, shuffle=True, generator=gen),
        valid=make_loader(valid, 128),
        epochs=1000,
        generator=gen,
        device=device,
        amp=amp,  # type: ignore[arg-type]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_cuda: no CUDA device here (--device cpu runs the script on the CPU)")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    results: dict[str, Any] = {"device": name, "torch": torch.__version__}
    print(f"device {name}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    results["losses"] = losses(device, args.repeats)
    print("\n| loss | scores | rankwise | allRank | speed-up | rankwise peak | allRank peak |")
    print("|---|---|---|---|---|---|---|")
    for r in results["losses"]:

        def cell(lib: str, r: dict[str, Any] = r) -> tuple[str, str]:
            if f"{lib}_error" in r:
                return r[f"{lib}_error"], ""
            return f"{r[f'{lib}_s'] * 1e3:.2f} ms", f"{r[f'{lib}_bytes'] / 2**20:.0f} MiB"

        (ours, ours_peak), (theirs, theirs_peak) = cell("rankwise"), cell("allRank")
        ratio = (
            f"{r['allRank_s'] / r['rankwise_s']:.2f}x"
            if "rankwise_s" in r and "allRank_s" in r
            else ""
        )
        print(
            f"| {r['loss']} | {r['dtype']} | {ours} | {theirs} | {ratio} "
            f"| {ours_peak} | {theirs_peak} |"
        )
    results["metrics"] = metrics(device, args.repeats)
    m = results["metrics"]
    print(
        f"\nNDCG@10 of [10000, 100]: allRank {m['allRank_s'] * 1e3:.2f} ms "
        f"(mean {m['allRank']:.6f})"
    )
    for ties in ("stable", "average"):
        t = m[f"rankwise_{ties}_s"]
        print(
            f"  rankwise ties={ties}: {t * 1e3:.2f} ms ({m['allRank_s'] / t:.2f}x), "
            f"mean {m[f'rankwise_{ties}']:.6f}"
        )
    if not args.skip_training:
        results["training"] = training(device, Path(args.data), args.epochs)
        print("\ntraining pass, MQ2008 Fold 1, MLP + ListNet, documents/s:")
        for key, value in results["training"].items():
            print(f"  {key}: {value:,.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

"""Loss speed and memory: rankwise vs allRank on the same inputs, in one run.

Run inside the environment built by ``../shared/anchors/setup.sh`` (allRank beside
torch 2.13), with rankwise importable::

    ../shared/anchors/setup.sh /work/anchors-venv
    PYTHONPATH=src /work/anchors-venv/bin/python benchmarks/bench_losses.py

1. Forward + backward time at [64, 240] float32, ~10% padding, labels 0-4, on the CPU
   with 1 and 2 threads, for NeuralNDCG, NeuralNDCG-transposed, LambdaLoss
   (NDCG-Loss2++), ApproxNDCG, ListNet, ListMLE and RankNet: best of ``--repeats``
   rounds of ~50 ms of calls (see fwd_bwd), after checking that both libraries compute
   the same value.
2. Peak memory (resident set added by one forward+backward, each in a fresh process)
   of the pairwise (RankNet), LambdaLoss and NeuralNDCG losses at [16, 1000] and
   [4, 4000], for rankwise and, where it fits in the machine, allRank; the values of
   rankwise's chunked pair computation are compared with allRank's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable

import torch

PAD = -1


def inputs(b: int, n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(b, n, generator=g)
    labels = torch.randint(0, 5, (b, n), generator=g).float()
    lengths = n - torch.randint(0, max(1, n // 5), (b,), generator=g)  # ~10% padding
    mask = torch.arange(n).unsqueeze(0) < lengths.unsqueeze(1)
    allrank_labels = labels.masked_fill(~mask, PAD)
    return scores, labels, mask, allrank_labels


def pairs() -> dict[str, tuple[Callable, Callable]]:
    import allrank.models.losses as A

    from rankwise import functional as R

    def rw_ranknet(s, y, m):
        return R.ranknet_loss(s, y, mask=m)

    def ar_ranknet(s, y):
        return A.rankNet(s, y)

    return {
        "NeuralNDCG": (
            lambda s, y, m: R.neural_ndcg_loss(s, y, mask=m),
            lambda s, y: A.neuralNDCG(s, y),
        ),
        "NeuralNDCG-transposed": (
            lambda s, y, m: R.neural_ndcg_loss(s, y, mask=m, transposed=True),
            lambda s, y: A.neuralNDCG_transposed(s, y),
        ),
        "LambdaLoss (NDCG-Loss2++)": (
            lambda s, y, m: R.lambda_loss(
                s, y, mask=m, lambda_weights="ndcg_loss2pp", reduction="sum", eps=1e-10
            ),
            lambda s, y: A.lambdaLoss(s, y, weighing_scheme="ndcgLoss2PP_scheme"),
        ),
        "ApproxNDCG": (
            lambda s, y, m: R.approx_ndcg_loss(s, y, mask=m, reduction="sum") / s.shape[0],
            lambda s, y: A.approxNDCGLoss(s, y),
        ),
        "ListNet": (
            lambda s, y, m: R.softmax_loss(s, y, mask=m, target="softmax"),
            lambda s, y: A.listNet(s, y),
        ),
        "ListMLE": (
            lambda s, y, m: R.listmle_loss(s, y, mask=m, reduction="sum") / s.shape[0],
            lambda s, y: A.listMLE(s, y),
        ),
        "RankNet": (rw_ranknet, ar_ranknet),
    }


def duration(seconds: float) -> str:
    """``12.3 ms``, or ``123 us`` below a millisecond."""
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} us"


def fwd_bwd(
    fn: Callable[[torch.Tensor], torch.Tensor], scores: torch.Tensor, repeats: int
) -> float:
    """Seconds per forward + backward call: the best, over ``repeats`` rounds, of the
    mean over a round of calls lasting about 50 ms (one call for the slow losses, a few
    hundred for the short ones, whose single calls of ~0.1 ms are too noisy to time)."""
    x = scores.clone().requires_grad_(True)

    def call() -> None:
        x.grad = None
        fn(x).backward()

    t = time.perf_counter()
    call()  # warm-up, and the size of a round
    calls = max(1, int(0.05 / max(time.perf_counter() - t, 1e-6)))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - t) / calls)
    return best


MEMORY_SNIPPET = r"""
import sys, json, torch, time
sys.path.insert(0, "src")
lib, loss, b, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(2)
g = torch.Generator().manual_seed(0)
s = torch.randn(b, n, generator=g); y = torch.randint(0, 5, (b, n), generator=g).float()
m = torch.ones(b, n, dtype=torch.bool); m[:, int(n * 0.9):] = False
if lib == "rankwise":
    from rankwise import functional as R
    f = {"ranknet": lambda t: R.ranknet_loss(t, y, mask=m, per_list="sum", reduction="sum"),
         "lambda": lambda t: R.lambda_loss(t, y, mask=m, reduction="sum", eps=1e-10),
         "neural_ndcg": lambda t: R.neural_ndcg_loss(t, y, mask=m)}[loss]
else:
    import allrank.models.losses as A
    ya = y.masked_fill(~m, -1)
    # allRank's rankNet is a mean over pairs; times the pair count it is the sum
    n_pairs = ((ya[:, :, None] > ya[:, None, :]) & (ya[:, None, :] >= 0)).sum()
    f = {"ranknet": lambda t: A.rankNet(t, ya) * n_pairs,
         "lambda": lambda t: A.lambdaLoss(t, ya, weighing_scheme="ndcgLoss2PP_scheme"),
         "neural_ndcg": lambda t: A.neuralNDCG(t, ya)}[loss]
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS")
t0 = time.perf_counter()
x = s.clone().requires_grad_(True)
v = f(x); v.backward()
took = time.perf_counter() - t0
print(json.dumps({"value": float(v), "peak": status("VmHWM") - before, "seconds": took}))
"""


def memory(lib: str, loss: str, b: int, n: int, timeout: int) -> dict[str, float] | None:
    try:
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_SNIPPET, lib, loss, str(b), str(n)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        return None
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--only", action="append", help="time only these losses (repeatable)")
    parser.add_argument("--allrank-memory-limit", type=float, default=12.0, help="GB; skip larger")
    args = parser.parse_args()

    scores, labels, mask, allrank_labels = inputs(64, 240)
    table = []
    for name, (ours, theirs) in pairs().items():
        if args.only and name not in args.only:
            continue
        torch.manual_seed(0)
        v_ours = float(ours(scores, labels, mask))
        torch.manual_seed(0)
        v_theirs = float(theirs(scores, allrank_labels))
        tol = 1e-3 if "ListMLE" in name else 1e-4  # ListMLE: allRank's random tie order
        agree = abs(v_ours - v_theirs) <= tol * max(1.0, abs(v_theirs))
        row = {"loss": name, "rankwise": v_ours, "allRank": v_theirs, "agree": agree}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            row[f"rankwise_{threads}t"] = fwd_bwd(
                lambda s, f=ours: f(s, labels, mask), scores, args.repeats
            )
            row[f"allRank_{threads}t"] = fwd_bwd(
                lambda s, f=theirs: f(s, allrank_labels), scores, args.repeats
            )
        table.append(row)
        print(f"measured {name}", file=sys.stderr)

    print("## forward + backward at [64, 240] float32, ~10% padding\n")
    print(
        "| loss | values agree | rankwise 1 thread | allRank 1 thread | speed-up "
        "| rankwise 2 threads | allRank 2 threads | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in table:
        cells = [
            r["loss"],
            "yes" if r["agree"] else f"NO ({r['rankwise']:.6g} vs {r['allRank']:.6g})",
        ]
        for t in (1, 2):
            ours_t, theirs_t = r[f"rankwise_{t}t"], r[f"allRank_{t}t"]
            cells += [
                duration(ours_t),
                duration(theirs_t),
                f"{theirs_t / ours_t:.2f}x",
            ]
        print("| " + " | ".join(cells) + " |")

    if args.skip_memory:
        return
    print("\n## peak memory of one forward + backward (2 threads)\n")
    print("| loss | shape | rankwise | allRank | values (rankwise / allRank) |")
    print("|---|---|---|---|---|")
    for loss in ("ranknet", "lambda", "neural_ndcg"):
        for b, n in ((16, 1000), (4, 4000)):
            ours = memory("rankwise", loss, b, n, timeout=900)
            # allRank keeps every [B, L, L] intermediate: predict its size and skip what cannot fit
            per_matrix_gb = b * n * n * 4 / 1e9
            factor = {"ranknet": 12, "lambda": 25, "neural_ndcg": 250}[loss]
            theirs = None
            if per_matrix_gb * factor <= args.allrank_memory_limit:
                theirs = memory("allrank", loss, b, n, timeout=900)
            cell_ours = (
                f"{ours['peak'] / 1e9:.2f} GB ({ours['seconds']:.1f} s)" if ours else "failed"
            )
            cell_theirs = (
                f"{theirs['peak'] / 1e9:.2f} GB ({theirs['seconds']:.1f} s)"
                if theirs
                else f"not run (~{per_matrix_gb * factor:.0f} GB predicted)"
            )
            values = (
                f"{ours['value']:.6g} / {theirs['value']:.6g}"
                if ours and theirs
                else (f"{ours['value']:.6g} / -" if ours else "-")
            )
            print(f"| {loss} | [{b}, {n}] | {cell_ours} | {cell_theirs} | {values} |")
    print(f"\n(torch {torch.__version__})")


if __name__ == "__main__":
    main()

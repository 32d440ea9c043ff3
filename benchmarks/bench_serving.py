"""Serving: CPU latency per list of an exported ranker (PyTorch vs ONNX Runtime), and a
bounded load test of ``rankwise serve`` on loopback.

    .venv/bin/python benchmarks/bench_serving.py [--requests 300] [--seconds 60]

A context-aware ranker (d_model 64, 2 layers, 4 heads; signed log1p + standardize
inside) and an MLP are trained for one epoch on synthetic MSLR-shaped data (136
features); lists have 100 documents.

1. Latency per list: the median over 200 calls of one list [1, 100, 136], PyTorch
   (``RawFeatureRanker`` under ``torch.no_grad``) against ONNX Runtime on the exported
   file, in this process.
2. Load test: ``rankwise serve`` in a subprocess; at concurrency 1, 8 and 32, clients
   (threads with their own HTTP connections) send ``--requests`` requests of one list
   each (stopping after ``--seconds``); requests/s, p50/p99 latency, the 5xx count, and
   whether every response equals offline ``rankwise predict`` (scores to 1e-6, the same
   order).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import yaml
from rich.console import Console

from _machine import cpu_model
from rankwise.data.ranking_data import RankingData
from rankwise.serving.export import export_model, raw_feature_ranker
from rankwise.train.config import load_config
from rankwise.train.experiment import run_experiment
from rankwise.train.predict import load_predictor

WIDTH, LENGTH = 136, 100


def train(root: Path, name: str, model: dict) -> Path:
    config = {
        "name": name,
        "output_dir": str(root),
        "data": {
            "synthetic": {"num_queries": 300, "num_features": WIDTH},
            "transform": [{"name": "signed_log1p"}, {"name": "standardize"}],
        },
        "model": model,
        "loss": {"name": "softmax"},
        "training": {"epochs": 1, "progress": False},
        "metrics": ["ndcg@10"],
    }
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    run_experiment(load_config(path), console=Console(quiet=True))
    return root / name / "checkpoints" / "best.pt"


def latency(checkpoint: Path, root: Path) -> tuple[float, float]:
    import onnxruntime

    ranker = raw_feature_ranker(checkpoint)
    onnx_path = export_model(checkpoint, root / "model.onnx")
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    features = (np.random.default_rng(0).standard_normal((1, LENGTH, WIDTH)) * 5).astype(np.float32)
    mask = np.ones((1, LENGTH), dtype=bool)
    tf, tm = torch.from_numpy(features), torch.from_numpy(mask)

    def median(call) -> float:
        for _ in range(20):
            call()
        times = []
        for _ in range(200):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000

    with torch.no_grad():
        torch_ms = median(lambda: ranker(tf, tm))
    onnx_ms = median(lambda: session.run(None, {"features": features, "mask": mask}))
    return torch_ms, onnx_ms


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_test(checkpoint: Path, requests: int, seconds: float) -> list[dict]:
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "rankwise"),
            "serve",
            str(checkpoint),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
    )
    rng = np.random.default_rng(1)
    pool_lists = [(rng.standard_normal((LENGTH, WIDTH)) * 5).astype(np.float32) for _ in range(64)]
    predictor = load_predictor(checkpoint)
    data = RankingData.from_documents(
        np.concatenate(pool_lists),
        np.zeros(LENGTH * len(pool_lists), dtype=np.float32),
        np.repeat(np.arange(len(pool_lists)), LENGTH),
    )
    offline = predictor.predict(data).reshape(len(pool_lists), LENGTH)
    bodies = [json.dumps({"features": x.tolist()}).encode() for x in pool_lists]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/health")
                c.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("rankwise serve did not start") from None
                time.sleep(0.1)
        rows = []
        for concurrency in (1, 8, 32):
            stop = time.monotonic() + seconds
            latencies: list[float] = []
            errors = mismatches = 0

            def client(
                k: int,
                concurrency: int = concurrency,
                stop: float = stop,
                latencies: list[float] = latencies,
            ) -> None:
                nonlocal errors, mismatches
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                for i in range(k, requests, concurrency):
                    if time.monotonic() > stop:
                        break
                    j = i % len(bodies)
                    start = time.perf_counter()
                    connection.request(
                        "POST", "/rank", bodies[j], {"content-type": "application/json"}
                    )
                    response = connection.getresponse()
                    content = response.read()
                    latencies.append(time.perf_counter() - start)
                    if response.status >= 500:
                        errors += 1
                        continue
                    result = json.loads(content)["results"][0]
                    got = np.asarray(result["scores"])
                    same = np.allclose(got, offline[j], rtol=1e-6, atol=1e-6) and result[
                        "order"
                    ] == [int(x) for x in np.argsort(-offline[j], kind="stable")]
                    mismatches += not same
                connection.close()

            started = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(client, range(concurrency)))
            wall = time.perf_counter() - started
            ms = np.asarray(latencies) * 1000
            rows.append(
                {
                    "concurrency": concurrency,
                    "requests": len(latencies),
                    "rps": len(latencies) / wall,
                    "p50": float(np.percentile(ms, 50)),
                    "p99": float(np.percentile(ms, 99)),
                    "5xx": errors,
                    "differ": mismatches,
                }
            )
        return rows
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        context = train(
            root, "context", {"name": "context_aware", "params": {"d_model": 64, "num_layers": 2}}
        )
        mlp = train(root, "mlp", {"name": "mlp", "params": {"hidden": [128, 64]}})
        latencies = {
            name: latency(ck, root) for name, ck in (("context_aware", context), ("mlp", mlp))
        }
        rows = load_test(context, args.requests, args.seconds)
    print(
        f"CPU: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}; "
        f"threads {torch.get_num_threads()}"
    )
    print("\n| model | PyTorch ms/list | ONNX Runtime ms/list | ratio |\n|---|---|---|---|")
    for name, (t, o) in latencies.items():
        print(f"| {name} | {t:.3f} | {o:.3f} | {t / o:.2f}x |")
    print("\n| concurrency | requests | requests/s | p50 ms | p99 ms | 5xx | differ from predict |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['concurrency']} | {r['requests']} | {r['rps']:.1f} | {r['p50']:.1f} | "
            f"{r['p99']:.1f} | {r['5xx']} | {r['differ']} |"
        )


if __name__ == "__main__":
    main()

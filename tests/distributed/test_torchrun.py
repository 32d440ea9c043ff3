"""``rankwise train`` under a real ``torchrun`` with 2 CPU processes over gloo.

- N steps on 2 processes with b lists each give the weights of 1 process with 2b lists
  (the global batches are the same, the loss is the global batch's and DDP's average is
  undone), also when the last batch of an epoch is shared unevenly;
- validation metrics of the 2-process run equal a single-process evaluation of the same
  weights, every query counted once (to float32 rounding of sums over padded lists);
- only rank 0 writes (one row per epoch in the logs);
- a 2-process run killed mid-training resumes on 1 process and finishes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from rankwise.metrics.accumulator import MetricAccumulator
from rankwise.train.build import build_data, build_model
from rankwise.train.checkpoint import Checkpoint
from rankwise.train.config import load_config
from rankwise.train.predict import load_predictor

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs torchrun (gloo)")

RANKWISE = str(Path(sys.executable).parent / "rankwise")


def _config(tmp_path: Path, **training) -> Path:
    config = {
        "name": "ddp",
        "seed": 0,
        "output_dir": str(tmp_path / "runs"),
        # 95 queries: 57 train (the last global batch of 6 or 10 lists holds 3 or 7,
        # shared unevenly: 2 + 1, 4 + 3), 19 valid, 19 test
        "data": {"synthetic": {"num_queries": 95, "num_features": 8, "seed": 5}},
        "model": {"name": "mlp", "params": {"hidden": [12], "dropout": 0.0}},
        "loss": {"name": "softmax"},
        "optimizer": {"name": "sgd", "params": {"lr": 0.2}},
        "training": {"epochs": 3, "progress": False, **training},
        "metrics": ["ndcg@10", "map"],
    }
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _torchrun(nproc: int, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "--no-python",
        RANKWISE,
        *args,
    ]


def _train(nproc: int, config: Path, *sets: str) -> subprocess.CompletedProcess[str]:
    sets_args = [a for s in sets for a in ("--set", s)]
    done = subprocess.run(
        _torchrun(nproc, "train", str(config), *sets_args),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux ``/proc``), deepest first."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    found: list[int] = []
    for child in map(int, children):
        found += [*_descendants(child), child]
    return found


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("per_rank", [3, 5])
def test_two_processes_train_the_weights_of_one_with_twice_the_batch(tmp_path, per_rank):
    config = _config(tmp_path)
    two = _train(2, config, f"data.batch_size={per_rank}", "name=two")
    _train(1, config, f"data.batch_size={2 * per_rank}", "name=one")
    runs = tmp_path / "runs"
    w2 = Checkpoint.load(runs / "two" / "checkpoints" / "last.pt").model_state
    w1 = Checkpoint.load(runs / "one" / "checkpoints" / "last.pt").model_state
    assert w1 is not None and w2 is not None and w1.keys() == w2.keys()
    for key in w1:
        torch.testing.assert_close(w2[key], w1[key], rtol=1e-5, atol=1e-5)
    torch.manual_seed(0)  # the run's seed: its initial weights
    start = build_model(load_config(config), 8).state_dict()
    moved = max(float((w1[k] - start[k]).abs().max()) for k in w1)
    assert moved > 1e-2  # training changed the weights: the equality is not of nothing
    rows2, rows1 = _rows(runs / "two"), _rows(runs / "one")
    assert [r["epoch"] for r in rows2] == [1, 2, 3]  # rank 0 alone writes the logs
    assert all(r["processes"] == 2 and r["dropped_queries"] == 0 for r in rows2)
    for r2, r1 in zip(rows2, rows1, strict=True):
        assert r2["train_loss"] == pytest.approx(r1["train_loss"], rel=1e-5)
    assert "2 processes" in two.stdout
    assert two.stdout.count("run directory:") == 1  # rank 1 stays quiet


def test_validation_metrics_equal_a_single_process_evaluation(tmp_path):
    config = _config(tmp_path)
    _train(2, config, "data.batch_size=4", "data.eval_batch_size=5")
    run = tmp_path / "runs" / "ddp"
    last = _rows(run)[-1]
    # the same weights, evaluated in this one process over every validation query
    predictor = load_predictor(run / "checkpoints" / "last.pt")
    valid = build_data(load_config(config)).splits.valid
    assert valid is not None
    scores = predictor.predict(valid)
    accumulator = MetricAccumulator(["ndcg@10", "map"])
    for q in range(valid.num_queries):
        lo, hi = int(valid.query_offsets[q]), int(valid.query_offsets[q + 1])
        accumulator.update(
            # float32, as the model scores and the loader's labels are
            torch.tensor(scores[lo:hi], dtype=torch.float32)[None],
            torch.tensor(valid.labels[lo:hi], dtype=torch.float32)[None],
            qids=[str(valid.qids[q])],
        )
    expected = accumulator.compute()
    assert accumulator.num_queries == 19
    # Every query counted once (a duplicated or lost query of 19 moves a mean by about
    # 1e-2); what remains is float32 rounding of sums over differently padded lists.
    assert last["valid_ndcg@10"] == pytest.approx(expected["ndcg@10"], rel=1e-6, abs=0)
    assert last["valid_map"] == pytest.approx(expected["map"], rel=1e-6, abs=0)


def test_a_killed_two_process_run_resumes_on_one_process(tmp_path):
    config = _config(tmp_path, epochs=300, early_stopping=None)
    run = tmp_path / "runs" / "ddp"
    process = subprocess.Popen(
        _torchrun(2, "train", str(config)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (run / "checkpoints" / "last.pt").exists() and len(_rows(run)) >= 2:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the 2-process run wrote no checkpoint within 120 s")
    finally:
        # the workers run in process groups of their own: kill each, then the launcher
        for pid in [*_descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=60)
    before = _rows(run)
    assert before and before[-1]["epoch"] < 300 and not (run / "summary.json").exists()
    resumed = subprocess.run(
        [RANKWISE, "train", str(config), "--resume"], capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    after = _rows(run)
    epochs = [r["epoch"] for r in after]
    assert epochs == list(range(1, 301))  # every epoch once
    # the rows written after the resume were written by one process
    assert "processes" in after[0] and "processes" not in after[-1]
    assert json.loads((run / "summary.json").read_text())["test"]["ndcg@10"] > 0

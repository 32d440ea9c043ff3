"""Reading a finished run directory back: config, per-epoch history, test metrics."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rankwise.errors import RankwiseError
from rankwise.metrics.runs import Evaluation
from rankwise.metrics.spec import parse_metrics


class RunNotFoundError(RankwiseError):
    """A directory that is not a (finished) rankwise run."""


@dataclass
class RunRecord:
    path: Path
    name: str
    config: dict[str, Any]
    history: list[dict[str, Any]]
    test: Evaluation
    test_summary: dict[str, Any]
    versions: dict[str, Any] = field(default_factory=dict)


def read_per_query(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        raise RunNotFoundError(f"{path} is empty")
    header = lines[0].split("\t")
    if header[0] != "qid":
        raise RunNotFoundError(f"{path}: expected a 'qid' column first")
    keys = header[1:]
    qids: list[str] = []
    columns: list[list[float]] = [[] for _ in keys]
    for number, line in enumerate(lines[1:], start=2):
        parts = line.split("\t")
        if len(parts) != len(header):
            raise RunNotFoundError(f"{path}:{number}: expected {len(header)} columns")
        qids.append(parts[0])
        for col, text in zip(columns, parts[1:], strict=True):
            col.append(float(text))
    return qids, {k: np.asarray(c, dtype=np.float64) for k, c in zip(keys, columns, strict=True)}


def load_run(path: str | Path) -> RunRecord:
    """A run directory written by ``rankwise train`` (it must have test results)."""
    p = Path(path)
    per_query = p / "test-per-query.tsv"
    if not per_query.is_file():
        raise RunNotFoundError(
            f"{p} is not a finished rankwise run (no test-per-query.tsv; was a test split given?)"
        )
    qids, values = read_per_query(per_query)
    summary_path = p / "test-metrics.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    config_path = p / "config.yaml"
    config = yaml.safe_load(config_path.read_text()) if config_path.is_file() else {}
    history = []
    log = p / "metrics.jsonl"
    if not log.is_file() and (p / "members" / "0" / "metrics.jsonl").is_file():
        log = p / "members" / "0" / "metrics.jsonl"  # an ensemble: its first member's curves
    if log.is_file():
        history = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    versions_path = p / "versions.json"
    versions = json.loads(versions_path.read_text()) if versions_path.is_file() else {}
    evaluation = Evaluation(
        specs=parse_metrics(list(values)),
        qids=qids,
        per_query=values,
        lists_without_relevant=int(summary.get("lists_without_relevant", 0)),
    )
    name = str(config.get("name") or p.name) if isinstance(config, dict) else p.name
    return RunRecord(p, name, config or {}, history, evaluation, summary, versions)


def unique_names(runs: list[RunRecord]) -> list[str]:
    """Display names: the run names, made unique with the directory when they clash."""
    names = [r.name for r in runs]
    out = []
    for r, n in zip(runs, names, strict=True):
        out.append(n if names.count(n) == 1 else f"{n} ({r.path})")
    return out

"""The run directory, written and read here only.

``rankwise train`` writes, in ``output_dir/name``:

- ``config.yaml`` (resolved: defaults filled in), ``versions.json``;
- ``metrics.csv``, ``metrics.jsonl``, ``tensorboard/`` (per epoch, neural models; written
  by the trainer's logging callbacks);
- ``checkpoints/last.pt``, ``checkpoints/best.pt`` (:class:`~rankwise.train.checkpoint.Checkpoint`);
  an ensemble's members train in ``members/<i>/``;
- ``test-metrics.json`` (means, conventions, counts), ``test-per-query.tsv`` and
  ``summary.json``;
- ``resumes.jsonl``: one line per ``--resume``, with the keys it changed
  (:data:`RESUMABLE_KEYS`; any other change is refused).

:class:`RunDirectory` prepares and writes it; :func:`load_run` reads a finished one back
(for ``compare`` and ``report``).
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from rankwise._version import __version__
from rankwise.errors import ConfigError, RunDirectoryError, RunNotFoundError
from rankwise.metrics.evaluation import Evaluation
from rankwise.metrics.spec import parse_metrics
from rankwise.train.config import config_changes
from rankwise.train.logs import write_json


def versions() -> dict[str, Any]:
    """Versions of everything that can change a result."""
    out: dict[str, Any] = {
        "rankwise": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device_count": torch.cuda.device_count(),
    }
    for pkg in ("numpy", "pyarrow", "pydantic", "lightgbm", "xgboost", "xgboost-cpu"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


#: The config keys a resumed run may change (how long it trains, how it is watched and
#: where it runs; none of them changes what an epoch computes). Each change is recorded
#: in ``resumes.jsonl``.
RESUMABLE_KEYS = (
    "training.epochs",
    "training.progress",
    "training.tensorboard",
    "device",
    "data.num_workers",
    "data.eval_batch_size",
)


class RunDirectory:
    """The directory of one run (module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def checkpoints(self) -> Path:
        """``checkpoints/``."""
        return self.path / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        """``checkpoints/last.pt``."""
        return self.checkpoints / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        """``checkpoints/best.pt``."""
        return self.checkpoints / "best.pt"

    def member(self, index: int) -> RunDirectory:
        """Where ensemble member ``index`` trains."""
        return RunDirectory(self.path / "members" / str(index))

    def prepare(self, *, resume: bool, overwrite: bool) -> bool:
        """Create the directory: an existing non-empty one needs ``resume`` (then it must
        hold ``checkpoints/last.pt``) or ``overwrite`` (then it is emptied first).

        Returns whether the directory is new (created or emptied here): a new one that
        fails before its first checkpoint is removed again by :meth:`discard_if_unused`.

        Raises:
            RunDirectoryError: the directory exists (without ``resume``/``overwrite``),
                there is nothing to resume, or it cannot be created or written.
        """
        if self.path.exists() and not self.path.is_dir():
            raise RunDirectoryError(f"run directory {self.path} exists and is not a directory")
        existing = self.path.exists() and any(self.path.iterdir())
        if existing and not resume:
            if not overwrite:
                raise RunDirectoryError(
                    f"run directory {self.path} already exists: resume it with --resume, "
                    "replace it with --overwrite, or choose another name (--set name=...)"
                )
            shutil.rmtree(self.path)
        if resume and not self.last_checkpoint.exists():
            raise RunDirectoryError(f"cannot resume: {self.last_checkpoint} does not exist")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".rankwise-write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise RunDirectoryError(
                f"cannot write the run directory {self.path}: {exc.strerror or exc}; choose "
                "a writable output_dir (--set output_dir=...)"
            ) from None
        return not (existing and resume)

    def has_checkpoint(self) -> bool:
        """Whether any checkpoint was written (an ensemble's members' too)."""
        return any(self.path.rglob("*.pt"))

    def discard_if_unused(self) -> None:
        """Remove a new run directory that holds no checkpoint: a run that failed before
        its first epoch ended (missing data, a bad parameter) leaves nothing that would
        block the same command or could be resumed."""
        if self.path.is_dir() and not self.has_checkpoint():
            shutil.rmtree(self.path, ignore_errors=True)

    def check_resume(self, config: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """The config keys a resume changes (:data:`RESUMABLE_KEYS` only), against the
        ``config.yaml`` the run was started with.

        Raises:
            ConfigError: any other key changed; the message names each with its old and
                new value (a changed loss, seed or learning rate would describe training
                that never happened).
        """
        path = self.path / "config.yaml"
        if not path.is_file():
            raise RunDirectoryError(f"cannot resume {self.path}: it has no config.yaml")
        old = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        changes = config_changes(old, config)
        refused = {k: v for k, v in changes.items() if k not in RESUMABLE_KEYS}
        if refused:
            listed = ", ".join(f"{k} ({a!r} -> {b!r})" for k, (a, b) in refused.items())
            raise ConfigError(
                f"cannot resume {self.path}: the config differs from the one the run was "
                f"started with ({path}) in {listed}. A resumed run continues the same "
                f"training; only {', '.join(RESUMABLE_KEYS)} may change. Start a new run "
                "under another name (--set name=...) or replace this one (--overwrite)."
            )
        return changes

    def record_resume(self, changes: dict[str, tuple[Any, Any]]) -> None:
        """Append the resume and the keys it changed to ``resumes.jsonl``."""
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "changed": {k: {"old": a, "new": b} for k, (a, b) in changes.items()},
        }
        with open(self.path / "resumes.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def write_config(self, config_yaml: str) -> None:
        """``config.yaml`` (the resolved config) and ``versions.json``."""
        (self.path / "config.yaml").write_text(config_yaml, encoding="utf-8")
        write_json(self.path / "versions.json", versions())

    def write_test_results(self, evaluation: Evaluation, extra: dict[str, Any]) -> None:
        """``test-metrics.json`` (means, conventions, counts, ``extra``) and
        ``test-per-query.tsv``."""
        write_json(self.path / "test-metrics.json", {**evaluation.to_dict(), **extra})
        keys = list(evaluation.per_query)
        lines = ["qid\t" + "\t".join(keys)]
        for i, q in enumerate(evaluation.qids):
            values = "\t".join(f"{evaluation.per_query[k][i]:.10g}" for k in keys)
            lines.append(f"{q}\t{values}")
        (self.path / "test-per-query.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def write_summary(self, summary: dict[str, Any]) -> None:
        """``summary.json``."""
        write_json(self.path / "summary.json", summary)


@dataclass
class RunRecord:
    """A finished run read back: config, history, test values, versions."""

    path: Path
    name: str
    config: dict[str, Any]
    history: list[dict[str, Any]]
    test: Evaluation
    test_summary: dict[str, Any]
    versions: dict[str, Any] = field(default_factory=dict)


def read_per_query(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """``(qids, {metric: values})`` of a ``test-per-query.tsv`` file."""
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


def unique_names(runs: Sequence[RunRecord]) -> list[str]:
    """Display names: the run names, made unique with the directory when they clash."""
    names = [r.name for r in runs]
    out = []
    for r, n in zip(runs, names, strict=True):
        out.append(n if names.count(n) == 1 else f"{n} ({r.path})")
    return out


def task_of(run: RunRecord) -> str:
    """The data a run was tested on, as a short task name: ``mq2008/fold1`` for a LETOR
    fold, the test file's name, or ``synthetic``; the directory's parent otherwise."""
    data = run.config.get("data") if isinstance(run.config, dict) else None
    if isinstance(data, dict):
        letor = data.get("letor")
        if isinstance(letor, dict) and letor.get("root"):
            root = Path(str(letor["root"])).name.removeprefix("letor4-").removeprefix("letor3-")
            return f"{root}/fold{letor.get('fold', '?')}"
        if data.get("test"):
            return Path(str(data["test"])).name
        if data.get("synthetic"):
            return "synthetic"
    return run.path.resolve().parent.name


def system_of(run: RunRecord) -> str:
    """The system a run belongs to: its name without a trailing ``-foldN``/``_foldN``."""
    return re.sub(r"[-_]fold\d+$", "", run.name)


def systems_by_tasks(
    runs: list[RunRecord], metrics: list[str]
) -> tuple[list[str], list[str], np.ndarray]:
    """Mean test value of each metric for every (system, task): a [systems, tasks] table
    (tasks are ``task:metric`` when several metrics are given), NaN where a system has
    no run on a task. Two runs of one system on one task are an error."""
    from rankwise.metrics.spec import parse_metric

    keys = [parse_metric(m).key for m in metrics]
    cells: dict[tuple[str, str], tuple[float, Path]] = {}
    for r in runs:
        means = r.test.means()
        for key in keys:
            if key not in means:
                raise ValueError(f"run {r.path} has no test values for {key}")
            task = task_of(r) if len(keys) == 1 else f"{task_of(r)}:{key}"
            cell = (system_of(r), task)
            if cell in cells:
                raise ValueError(
                    f"two runs of system {cell[0]!r} on task {cell[1]!r}: "
                    f"{cells[cell][1]} and {r.path}"
                )
            cells[cell] = (means[key], r.path)
    systems = list(dict.fromkeys(s for s, _ in cells))
    tasks = list(dict.fromkeys(t for _, t in cells))
    table = np.full((len(systems), len(tasks)), np.nan)
    for (s, t), (value, _) in cells.items():
        table[systems.index(s), tasks.index(t)] = value
    return systems, tasks, table

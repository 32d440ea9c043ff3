"""Comparing several systems' per-query values: a table with intervals and significance marks.

:func:`compare` pairs every system with the baseline (the first one) on the queries they
share, runs the chosen paired test per metric, corrects the p-values of all comparisons
together (Holm by default), and reports bootstrap confidence intervals of each mean.
:func:`render_comparison` prints it with the conventions of every metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rankwise.metrics.evaluation import Evaluation
from rankwise.metrics.significance import (
    Correction,
    Test,
    adjust_p_values,
    bootstrap_ci,
    significance_test,
)
from rankwise.metrics.spec import parse_metric
from rankwise.train.rundir import RunRecord, unique_names


@dataclass
class Cell:
    """One system's value of one metric: mean, interval, test against the baseline."""

    mean: float
    ci: tuple[float, float]
    p_value: float | None = None  # vs the baseline, after correction
    significant: bool = False
    delta: float | None = None  # mean difference to the baseline on shared queries


@dataclass
class Comparison:
    """The result of :func:`compare`: every cell, the test and correction used."""

    systems: list[str]
    metrics: list[str]
    conventions: dict[str, str]
    cells: dict[tuple[str, str], Cell]
    test: str
    correction: str
    alpha: float
    shared_queries: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (``--format json``)."""
        return {
            "baseline": self.systems[0],
            "test": self.test,
            "correction": self.correction,
            "alpha": self.alpha,
            "shared_queries": self.shared_queries,
            "conventions": self.conventions,
            "notes": self.notes,
            "systems": {
                system: {
                    metric: {
                        "mean": c.mean,
                        "ci": list(c.ci),
                        "delta": c.delta,
                        "p_value": c.p_value,
                        "significant": c.significant,
                    }
                    for metric in self.metrics
                    for c in [self.cells[(system, metric)]]
                }
                for system in self.systems
            },
        }


def compare(
    evaluations: Mapping[str, Evaluation],
    *,
    test: Test = "t",
    correction: Correction = "holm",
    alpha: float = 0.05,
    confidence: float = 0.95,
    seed: int = 0,
) -> Comparison:
    """Compare systems (the first is the baseline) on the metrics they all report."""
    if not evaluations:
        raise ValueError("compare needs at least one evaluation")
    names = list(evaluations)
    first = evaluations[names[0]]
    metrics = [k for k in first.per_query if all(k in e.per_query for e in evaluations.values())]
    missing = {k for e in evaluations.values() for k in e.per_query} - set(metrics)
    notes = (
        [f"metrics not reported by every system were left out: {sorted(missing)}"]
        if missing
        else []
    )
    shared = set(first.qids)
    for e in evaluations.values():
        shared &= set(e.qids)
    shared_ids = [q for q in first.qids if q in shared]
    if any(len(e.qids) != len(shared_ids) for e in evaluations.values()):
        notes.append(f"significance tests use the {len(shared_ids)} queries every system has")

    def aligned(e: Evaluation, metric: str) -> np.ndarray:
        index = {q: i for i, q in enumerate(e.qids)}
        return e.per_query[metric][[index[q] for q in shared_ids]]

    cells: dict[tuple[str, str], Cell] = {}
    tests: list[tuple[str, str, float]] = []
    for name in names:
        e = evaluations[name]
        for metric in metrics:
            values = e.per_query[metric]
            finite = values[~np.isnan(values)]
            mean = float(finite.mean()) if finite.size else 0.0
            ci = (
                bootstrap_ci(finite, confidence=confidence, seed=seed)
                if finite.size
                else (mean, mean)
            )
            cells[(name, metric)] = Cell(mean=mean, ci=ci)
            if name != names[0]:
                a, b = aligned(e, metric), aligned(first, metric)
                keep = ~(np.isnan(a) | np.isnan(b))
                result = significance_test(a[keep], b[keep], test, seed=seed)
                cells[(name, metric)].delta = (
                    float((a[keep] - b[keep]).mean()) if keep.any() else 0.0
                )
                tests.append((name, metric, result.p_value))
    adjusted = adjust_p_values([p for _, _, p in tests], correction)
    for (name, metric, _), p in zip(tests, adjusted, strict=True):
        cells[(name, metric)].p_value = p
        cells[(name, metric)].significant = p < alpha
    conventions = {s.key: s.describe() for s in first.specs if s.key in metrics}
    return Comparison(
        names, metrics, conventions, cells, test, correction, alpha, len(shared_ids), notes
    )


def render_comparison(comparison: Comparison, console: Console, *, show_ci: bool = True) -> None:
    """A table: one row per system, one column per metric, marks for significant changes.

    Lines under the table state every metric's conventions; cells show the mean, its bootstrap
    interval, and ▲/▼ when the difference to the baseline is significant.
    """
    legend = [comparison.conventions.get(m, m) for m in comparison.metrics]
    if len(comparison.systems) > 1:
        legend.append(
            f"▲/▼ significantly better/worse than {comparison.systems[0]} "
            f"({comparison.test} test, {comparison.correction} correction, "
            f"alpha={comparison.alpha}, {comparison.shared_queries} queries)"
        )
    if show_ci:
        legend.append("(lo–hi): 95% bootstrap interval of the mean")
    table = Table(title="evaluation", title_justify="left")
    table.add_column("system")
    for metric in comparison.metrics:
        table.add_column(escape(metric), justify="right")
    for system in comparison.systems:
        row = [escape(system)]
        for metric in comparison.metrics:
            c = comparison.cells[(system, metric)]
            text = f"{c.mean:.4f}"
            if show_ci:
                text += f" ({c.ci[0]:.3f}–{c.ci[1]:.3f})"
            if c.significant and c.delta is not None:
                text += " ▲" if c.delta > 0 else " ▼"
            row.append(text)
        table.add_row(*row)
    console.print(table)
    for line in legend:  # under the table, not a caption: a caption wraps to its width
        console.print(escape(line), soft_wrap=True)
    for note in comparison.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")


def comparison_of(
    runs: Sequence[RunRecord], metrics: Sequence[str] | None, **options: Any
) -> Comparison:
    """:func:`compare` of finished runs' test values (``metrics``: a subset, by metric
    string; the first run is the baseline)."""
    evaluations: dict[str, Evaluation] = {}
    keys = [parse_metric(m).key for m in metrics] if metrics else None
    for name, r in zip(unique_names(runs), runs, strict=True):
        e = r.test
        if keys is not None:
            missing = [k for k in keys if k not in e.per_query]
            if missing:
                raise ValueError(f"run {r.path} has no test values for {missing}")
            e = Evaluation(
                specs=[s for s in e.specs if s.key in keys],
                qids=e.qids,
                per_query={k: e.per_query[k] for k in keys},
                lists_without_relevant=e.lists_without_relevant,
            )
        evaluations[name] = e
    return compare(evaluations, **options)

"""Reporting: comparison tables, the vote table and the data statistics tables."""

from __future__ import annotations

import numpy as np
from rich.console import Console

from rankwise.aggregate import vote
from rankwise.data import data_statistics, make_synthetic
from rankwise.metrics import Evaluation, parse_metrics
from rankwise.report import compare, render_comparison, render_statistics, render_vote


def _evaluation(values: list[float]) -> Evaluation:
    return Evaluation(
        specs=parse_metrics(["ndcg@10"]),
        qids=[f"q{i}" for i in range(len(values))],
        per_query={"ndcg@10": np.asarray(values)},
    )


def test_comparison_marks_a_clear_improvement_and_prints_its_conventions():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.6, 60)
    comparison = compare({"base": _evaluation(base), "better": _evaluation(base + 0.2)})
    cell = comparison.cells[("better", "ndcg@10")]
    assert cell.significant and cell.delta is not None and abs(cell.delta - 0.2) < 1e-12
    console = Console(record=True, width=140)
    render_comparison(comparison, console)
    text = console.export_text()
    assert "ndcg@10 [gain=exp2, empty=zero, ties=average]" in text and "better" in text


def test_vote_table_names_the_condorcet_winner():
    report = vote(np.array([[0.9, 0.8], [0.1, 0.2]]), systems=["a", "b"], tasks=["t1", "t2"])
    console = Console(record=True, width=140)
    render_vote(report, ["ndcg@10"], console)
    assert "Condorcet winner: a" in console.export_text()


def test_statistics_tables_show_the_counts():
    stats = data_statistics(make_synthetic(12, 8, seed=0))
    console = Console(record=True, width=140)
    render_statistics(stats, "synthetic", console)
    text = console.export_text()
    assert "queries" in text and f"{stats['documents']:,}" in text

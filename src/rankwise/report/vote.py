"""The Vote'n'Rank table of ``rankwise compare --vote``."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rankwise.aggregate.voting import VoteReport


def render_vote(report: VoteReport, metrics: list[str], console: Console) -> None:
    """Systems in rows, one column per rule (score and place), disagreements below."""
    table = Table(title=escape(f"vote over {len(report.tasks)} tasks ({', '.join(metrics)})"))
    table.add_column("system")
    for rule in report.scores:
        table.add_column(rule, justify="right")
    for i, system in enumerate(report.systems):
        cells = []
        for rule, values in report.scores.items():
            place = report.rankings[rule].index(system) + 1
            cells.append(f"{values[i]:.4g} (#{place})")
        table.add_row(escape(system), *cells)
    console.print(table)
    winner = report.condorcet_winner
    console.print(
        f"Condorcet winner: {escape(winner)}" if winner else "Condorcet winner: none",
        highlight=False,
    )
    console.print(f"tasks: {escape(', '.join(report.tasks))}", soft_wrap=True, highlight=False)
    if report.missing:
        console.print(
            f"{report.missing} missing (system, task) scores: see rankwise.aggregate.voting"
        )
    for note in report.disagreements:
        console.print(f"[yellow]note:[/] {escape(note)}")

"""Reporting: comparison tables with significance marks and intervals, the Vote'n'Rank
table, and the self-contained HTML report of one or more runs.

- :mod:`~rankwise.report.comparison`: :func:`compare` (systems' per-query values against a
  baseline), :func:`comparison_of` (finished runs), :func:`render_comparison`;
- :mod:`~rankwise.report.vote`: :func:`render_vote`;
- :mod:`~rankwise.report.statistics`: :func:`render_statistics` (``rankwise data stats``);
- :mod:`~rankwise.report.demo`: :func:`run_demo` (``rankwise demo``);
- :mod:`~rankwise.report.html`: :func:`build_report`, :func:`write_report`.
"""

from rankwise.report.comparison import Comparison, compare, comparison_of, render_comparison
from rankwise.report.html import build_report, write_report
from rankwise.report.statistics import render_statistics
from rankwise.report.vote import render_vote

__all__ = [
    "Comparison",
    "build_report",
    "compare",
    "comparison_of",
    "render_comparison",
    "render_statistics",
    "render_vote",
    "write_report",
]

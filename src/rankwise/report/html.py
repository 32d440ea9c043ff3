# SVG markup reads best one element per line, whatever its length.
# ruff: noqa: E501
"""``rankwise report``: one self-contained HTML file about one or more runs.

Learning curves (training loss, validation metrics per epoch), the comparison table
(means with 95% bootstrap intervals, significance marks against the first run), the
distribution of per-query test values, and the conventions of every metric. Charts
are inline SVG drawn here (no plotting library, no script, no network): the file
opens anywhere, offline.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rankwise._version import __version__
from rankwise.report.comparison import Comparison
from rankwise.train.rundir import RunRecord, unique_names

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
W, H = 560, 300
MARGIN = {"left": 56, "right": 16, "top": 30, "bottom": 42}


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    out, v = [], start
    while v <= hi + 1e-12:
        out.append(round(v, 12))
        v += step
    return out


def _legend(names: Sequence[str], x: float, y: float) -> str:
    parts = []
    for i, name in enumerate(names):
        color = PALETTE[i % len(PALETTE)]
        yy = y + 14 * i
        parts.append(
            f'<rect x="{x}" y="{yy - 8}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{yy + 1}" font-size="11">{_esc(name)}</text>'
        )
    return "".join(parts)


def line_chart(
    series: Mapping[str, tuple[Sequence[float], Sequence[float | None]]],
    title: str,
    xlabel: str,
    ylabel: str,
) -> str:
    """An SVG line chart of ``name -> (xs, ys)``."""
    points = [
        (float(x), float(y))
        for xs, ys in series.values()
        for x, y in zip(xs, ys, strict=True)
        if y is not None and math.isfinite(float(y))
    ]
    if not points:
        return f"<p>{_esc(title)}: no data.</p>"
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    if x1 == x0:
        x1 = x0 + 1
    pad = (y1 - y0) * 0.05 or abs(y0) * 0.05 or 1.0
    y0, y1 = y0 - pad, y1 + pad
    pw = W - MARGIN["left"] - MARGIN["right"]
    ph = H - MARGIN["top"] - MARGIN["bottom"]

    def sx(x: float) -> float:
        return MARGIN["left"] + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return MARGIN["top"] + (1 - (y - y0) / (y1 - y0)) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img">']
    out.append(
        f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">{_esc(title)}</text>'
    )
    for t in _ticks(y0, y1):
        out.append(
            f'<line x1="{MARGIN["left"]}" x2="{W - MARGIN["right"]}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#e5e5e5"/>'
            f'<text x="{MARGIN["left"] - 6}" y="{sy(t) + 4:.1f}" text-anchor="end" font-size="10">{t:g}</text>'
        )
    for t in _ticks(x0, x1, 6):
        out.append(
            f'<text x="{sx(t):.1f}" y="{H - MARGIN["bottom"] + 14}" text-anchor="middle" font-size="10">{t:g}</text>'
        )
    out.append(
        f'<rect x="{MARGIN["left"]}" y="{MARGIN["top"]}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>'
        f'<text x="{MARGIN["left"] + pw / 2}" y="{H - 8}" text-anchor="middle" font-size="11">{_esc(xlabel)}</text>'
        f'<text x="14" y="{MARGIN["top"] + ph / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 14 {MARGIN["top"] + ph / 2})">{_esc(ylabel)}</text>'
    )
    for i, (name, (xs, ys)) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        pts = [
            f"{sx(float(x)):.1f},{sy(float(y)):.1f}"
            for x, y in zip(xs, ys, strict=True)
            if y is not None and math.isfinite(float(y))
        ]
        if pts:
            out.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(pts)}"><title>{_esc(name)}</title></polyline>'
            )
            for p in pts:
                cx, cy = p.split(",")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{color}"/>')
    out.append(_legend(list(series), MARGIN["left"] + 8, MARGIN["top"] + 14))
    out.append("</svg>")
    return "".join(out)


def box_plot(distributions: Mapping[str, np.ndarray], title: str, xlabel: str) -> str:
    """Horizontal box plots (quartiles, 1.5 IQR whiskers, mean as a diamond)."""
    clean = {k: v[np.isfinite(v)] for k, v in distributions.items()}
    clean = {k: v for k, v in clean.items() if v.size}
    if not clean:
        return f"<p>{_esc(title)}: no data.</p>"
    lo = min(float(v.min()) for v in clean.values())
    hi = max(float(v.max()) for v in clean.values())
    if hi == lo:
        hi = lo + 1.0
    left, right = 160, 20
    row = 34
    height = MARGIN["top"] + row * len(clean) + 40
    pw = W - left - right

    def sx(x: float) -> float:
        return left + (x - lo) / (hi - lo) * pw

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" role="img">']
    out.append(
        f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">{_esc(title)}</text>'
    )
    for t in _ticks(lo, hi, 6):
        out.append(
            f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{MARGIN["top"]}" y2="{height - 34}" stroke="#eee"/>'
            f'<text x="{sx(t):.1f}" y="{height - 20}" text-anchor="middle" font-size="10">{t:g}</text>'
        )
    out.append(
        f'<text x="{left + pw / 2}" y="{height - 4}" text-anchor="middle" font-size="11">{_esc(xlabel)}</text>'
    )
    for i, (name, v) in enumerate(clean.items()):
        color = PALETTE[i % len(PALETTE)]
        q1, med, q3 = (float(x) for x in np.percentile(v, [25, 50, 75]))
        iqr = q3 - q1
        w_lo = float(v[v >= q1 - 1.5 * iqr].min())
        w_hi = float(v[v <= q3 + 1.5 * iqr].max())
        cy = MARGIN["top"] + row * i + row / 2
        out.append(
            f'<text x="{left - 8}" y="{cy + 4}" text-anchor="end" font-size="11">{_esc(name)}</text>'
            f'<line x1="{sx(w_lo):.1f}" x2="{sx(w_hi):.1f}" y1="{cy}" y2="{cy}" stroke="{color}"/>'
            f'<rect x="{sx(q1):.1f}" y="{cy - 9}" width="{max(sx(q3) - sx(q1), 1):.1f}" height="18" fill="{color}" fill-opacity="0.25" stroke="{color}"/>'
            f'<line x1="{sx(med):.1f}" x2="{sx(med):.1f}" y1="{cy - 9}" y2="{cy + 9}" stroke="{color}" stroke-width="2"/>'
        )
        m = float(v.mean())
        out.append(
            f'<path d="M{sx(m):.1f},{cy - 5} l5,5 l-5,5 l-5,-5 z" fill="{color}"><title>mean {m:.4f}</title></path>'
        )
    out.append("</svg>")
    return "".join(out)


def _comparison_table(comparison: Comparison) -> str:
    head = "".join(f"<th>{_esc(m)}</th>" for m in comparison.metrics)
    rows = []
    for i, system in enumerate(comparison.systems):
        cells = []
        for metric in comparison.metrics:
            c = comparison.cells[(system, metric)]
            mark = ""
            if c.significant and c.delta is not None:
                mark = (
                    ' <span class="up">▲</span>' if c.delta > 0 else ' <span class="down">▼</span>'
                )
            p = (
                f"<br><small>Δ {c.delta:+.4f}, p={c.p_value:.3g}</small>"
                if i and c.p_value is not None and c.delta is not None
                else ""
            )
            cells.append(
                f"<td>{c.mean:.4f}{mark}<br><small>({c.ci[0]:.4f}–{c.ci[1]:.4f})</small>{p}</td>"
            )
        rows.append(f"<tr><th>{_esc(system)}</th>{''.join(cells)}</tr>")
    legend = []
    if len(comparison.systems) > 1:
        legend.append(
            f"▲/▼: significantly better/worse than <b>{_esc(comparison.systems[0])}</b> "
            f"({_esc(comparison.test)} test, {_esc(comparison.correction)} correction over all "
            f"comparisons, α = {comparison.alpha}, {comparison.shared_queries} shared queries)."
        )
    legend.append("In brackets: 95% bootstrap interval of the mean.")
    notes = "".join(f"<li>{_esc(n)}</li>" for n in comparison.notes)
    return (
        f'<table class="cmp"><tr><th>run</th>{head}</tr>{"".join(rows)}</table>'
        f"<p>{' '.join(legend)}</p>" + (f"<ul>{notes}</ul>" if notes else "")
    )


def build_report(
    runs: Sequence[RunRecord],
    comparison: Comparison,
    *,
    title: str = "rankwise report",
    metric: str | None = None,
) -> str:
    """The HTML text of a report on ``runs`` (the first is the comparison baseline)."""
    names = unique_names(list(runs))
    main = metric or comparison.metrics[min(3, len(comparison.metrics) - 1)]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{_esc(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1180px;margin:24px auto;"
        "padding:0 16px;color:#222}table{border-collapse:collapse;margin:8px 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;vertical-align:top}"
        "th{background:#f4f4f4}.up{color:#2a7}.down{color:#c33}small{color:#555}"
        ".charts{display:flex;flex-wrap:wrap;gap:12px}pre{background:#f7f7f7;padding:8px;"
        "overflow:auto;font-size:12px}details{margin:6px 0}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        f"<p>Generated {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} by rankwise {__version__} "
        f"from {len(runs)} run(s). Test metrics are computed by rankwise on each run's test "
        "split with the conventions below, identical for every row.</p>",
        "<h2>Comparison on the test queries</h2>",
        _comparison_table(comparison),
        "<h2>Metric conventions</h2><ul>",
        *(f"<li><code>{_esc(v)}</code></li>" for v in comparison.conventions.values()),
        "</ul>",
    ]
    with_history = [(n, r) for n, r in zip(names, runs, strict=True) if r.history]
    parts.append("<h2>Learning curves</h2>")
    if with_history:
        charts = [
            line_chart(
                {
                    n: ([h["epoch"] for h in r.history], [h.get("train_loss") for h in r.history])
                    for n, r in with_history
                },
                "training loss",
                "epoch",
                "loss",
            )
        ]
        valid_keys: list[str] = []
        for _, r in with_history:
            for k in r.history[0]:
                if k.startswith("valid_") and k not in ("valid_seconds",) and k not in valid_keys:
                    valid_keys.append(k)
        for key in valid_keys:
            charts.append(
                line_chart(
                    {
                        n: ([h["epoch"] for h in r.history], [h.get(key) for h in r.history])
                        for n, r in with_history
                        if key in r.history[0]
                    },
                    f"validation {key[6:]}",
                    "epoch",
                    key[6:],
                )
            )
        parts.append('<div class="charts">' + "".join(charts) + "</div>")
        parts.append(
            "<p>Runs without curves (gradient-boosted trees) train in one call; their "
            "validation data drive early stopping inside the library.</p>"
            if len(with_history) < len(runs)
            else ""
        )
    else:
        parts.append("<p>No per-epoch history in these runs.</p>")
    parts.append("<h2>Per-query distributions (test)</h2><div class='charts'>")
    for key in dict.fromkeys([main, *comparison.metrics[:2]]):
        dists = {
            n: r.test.per_query[key]
            for n, r in zip(names, runs, strict=True)
            if key in r.test.per_query
        }
        parts.append(box_plot(dists, f"per-query {key}", key))
    parts.append("</div>")
    parts.append("<h2>Runs</h2>")
    for n, r in zip(names, runs, strict=True):
        best = r.test_summary.get("best_epoch")
        queries = len(r.test.qids)
        parts.append(
            f"<details><summary><b>{_esc(n)}</b> — {_esc(r.path)}; {queries} test queries, "
            f"{r.test.lists_without_relevant} without a relevant item"
            + (f"; best epoch {best}" if best else "")
            + "</summary>"
            f"<pre>{_esc(yaml.safe_dump(r.config, sort_keys=False))}</pre>"
            f"<pre>{_esc(yaml.safe_dump(r.versions, sort_keys=False))}</pre></details>"
        )
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)


def write_report(
    runs: Sequence[RunRecord], comparison: Comparison, output: str | Path, **options: Any
) -> Path:
    """Write :func:`build_report`'s HTML to ``output``; returns the path."""
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report(runs, comparison, **options), encoding="utf-8")
    return path

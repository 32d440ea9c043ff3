"""Fusing TREC runs, and tuning fusion weights on a validation run for a metric.

:func:`stack_runs` lays ``R`` runs out as the [R, Q, L] tensors of
:mod:`rankwise.aggregate.score_fusion`: queries are the union over runs (first appearance),
each query's items the union of the documents any run retrieved, sorted by docid
*descending* so that a stable rank by score reproduces trec_eval's order (score
descending, then docid descending) inside every run. :func:`fuse_runs` returns the fused
:class:`~rankwise.runs.trec.TrecRun`.

:func:`tune_weights` searches the simplex of run weights on a grid (``step``) and keeps
the weights with the best mean metric on validation data (first best on ties, so equal
weights win when nothing is better); ``len(trials)`` says how many were tried, which is
``C(1/step + R - 1, R - 1)`` (66 for three runs at step 0.1).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from rankwise.aggregate.score_fusion import (
    check_run_scores,
    combine_contributions,
    fuse,
    run_contributions,
)
from rankwise.metrics.spec import evaluate, parse_metric
from rankwise.runs.trec import Qrels, TrecRun, trec_eval_layout


@dataclass
class StackedRuns:
    """``R`` runs on a common [R, Q, L] layout (see the module docstring)."""

    qids: list[str]  # in order of first appearance over the runs
    docids: npt.NDArray[np.str_]  # [Q, L]: each query's documents, docid descending, "" pad
    lengths: npt.NDArray[np.int64]  # [Q]: documents per query
    scores: Tensor  # [R, Q, L] float64
    mask: Tensor  # [R, Q, L] bool: run r retrieved the document


def stack_runs(runs: Sequence[TrecRun]) -> StackedRuns:
    """Put ``runs`` on one [R, Q, L] layout (docids descending within each query).

    Vectorised: the (query, document) pairs of all runs are numbered by one ``np.unique``
    over combined integer codes, so the cost is a few sorts of the rows, not a Python loop
    per query.
    """
    if not runs:
        raise ValueError("stack_runs: no runs given")
    all_q = np.concatenate([r.qids for r in runs]).astype(np.str_)
    all_d = np.concatenate([r.docids for r in runs]).astype(np.str_)
    all_s = np.concatenate([r.scores for r in runs]).astype(np.float64)
    run_of = np.repeat(np.arange(len(runs)), [len(r) for r in runs])
    q_names, q_first, q_code = np.unique(all_q, return_index=True, return_inverse=True)
    # number queries by first appearance (as a run lists them), not alphabetically
    appearance = np.argsort(q_first, kind="stable")
    q_index = np.empty_like(appearance)
    q_index[appearance] = np.arange(appearance.size)
    q_of = q_index[q_code]
    d_names, d_code = np.unique(all_d, return_inverse=True)
    # documents in trec_eval's layout (docid descending) within each query, so that a
    # stable rank by score inside every run is trec_eval's order
    layout = trec_eval_layout(d_names)
    slot = np.empty_like(layout)
    slot[layout] = np.arange(layout.size)
    n_docs = max(d_names.size, 1)
    pair_code = q_of.astype(np.int64) * n_docs + slot[d_code]
    pairs, pair_of = np.unique(pair_code, return_inverse=True)
    pair_query = pairs // n_docs
    first_of_query = np.searchsorted(pair_query, np.arange(q_names.size))
    position = np.arange(pairs.size) - first_of_query[pair_query]
    lengths = np.bincount(pair_query, minlength=q_names.size).astype(np.int64)
    length = int(lengths.max(initial=0)) or 1
    docids = np.full((q_names.size, length), "", dtype=d_names.dtype)
    docids[pair_query, position] = d_names[layout[pairs % n_docs]]
    scores = torch.zeros(len(runs), q_names.size, length, dtype=torch.float64)
    mask = torch.zeros(len(runs), q_names.size, length, dtype=torch.bool)
    run_t = torch.from_numpy(run_of)
    query_t = torch.from_numpy(q_of.astype(np.int64))
    pos_t = torch.from_numpy(position[pair_of].astype(np.int64))
    scores[run_t, query_t, pos_t] = torch.from_numpy(all_s)
    mask[run_t, query_t, pos_t] = True
    qids = [str(q) for q in q_names[appearance]]
    return StackedRuns(qids, docids, lengths, scores, mask)


def _as_run(
    stacked: StackedRuns, fused: Tensor, union: Tensor, tag: str, depth: int | None
) -> TrecRun:
    # docs are docid-descending, so a stable sort by score keeps trec_eval's tie order
    keyed = fused.masked_fill(~union, float("-inf"))
    order = torch.argsort(keyed, dim=1, descending=True, stable=True)
    kept = union.gather(1, order)
    rank = torch.arange(1, order.shape[1] + 1).expand_as(order)
    if depth is not None:
        kept &= rank <= depth
    rows = torch.arange(order.shape[0]).unsqueeze(1).expand_as(order)[kept].numpy()
    cols = order[kept].numpy()
    return TrecRun(
        qids=np.asarray(stacked.qids, dtype=np.str_)[rows],
        docids=stacked.docids[rows, cols],
        scores=fused[torch.from_numpy(rows), torch.from_numpy(cols)].numpy().astype(np.float64),
        ranks=rank[kept].numpy().astype(np.int64),
        tag=tag,
    )


def fuse_runs(
    runs: Sequence[TrecRun],
    *,
    method: str = "comb_sum",
    normalization: str = "min_max",
    weights: Sequence[float] | None = None,
    k: float = 60.0,
    depth: int | None = None,
    tag: str = "fused",
) -> TrecRun:
    """Fuse TREC runs (definitions in :mod:`rankwise.aggregate.score_fusion`).

    Each query's fused list holds every document any run retrieved (cut to ``depth`` if
    given), ranked by fused score; equal fused scores are ordered by docid descending.
    """
    if depth is not None and depth < 1:
        raise ValueError(f"fuse_runs: depth must be >= 1, got {depth}")
    stacked = stack_runs(runs)
    fused, union = fuse(
        stacked.scores,
        mask=stacked.mask,
        method=method,
        normalization=normalization,
        weights=weights,
        k=k,
    )
    return _as_run(stacked, fused, union, tag, depth)


def weight_grid(runs: int, step: float) -> list[tuple[float, ...]]:
    """Every weight vector on the simplex whose entries are multiples of ``step``."""
    if runs < 1:
        raise ValueError("weight_grid: need at least one run")
    units = round(1.0 / step)
    if units < 1 or abs(units * step - 1.0) > 1e-9:
        raise ValueError(f"weight_grid: step must divide 1 (e.g. 0.1, 0.05, 0.25), got {step}")
    grid = []
    for cuts in itertools.combinations(range(units + runs - 1), runs - 1):
        # stars and bars: the gaps between the cut positions are the run shares
        bounds = (-1, *cuts, units + runs - 1)
        grid.append(tuple((bounds[i + 1] - bounds[i] - 1) / units for i in range(runs)))
    # equal weights (or the closest grid point) first, so ties keep the neutral choice
    grid.sort(key=lambda w: max(w) - min(w))
    return grid


@dataclass
class TunedWeights:
    """Result of :func:`tune_weights`."""

    weights: tuple[float, ...]
    value: float  # mean validation metric at ``weights``
    metric: str
    trials: list[tuple[tuple[float, ...], float]] = field(default_factory=list)


def _search(
    runs: int, step: float, metric: str, score: Callable[[tuple[float, ...]], float]
) -> TunedWeights:
    trials = [(w, score(w)) for w in weight_grid(runs, step)]
    best = max(trials, key=lambda t: t[1])  # first maximum: the most even weights win ties
    return TunedWeights(best[0], best[1], metric, trials)


def tune_weights(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    method: str = "weighted_sum",
    normalization: str = "min_max",
    metric: str = "ndcg@10",
    step: float = 0.1,
    k: float = 60.0,
    ideal_labels: Tensor | None = None,
    ideal_mask: Tensor | None = None,
) -> TunedWeights:
    """Grid-search per-run fusion weights on validation lists for the best mean ``metric``.

    ``scores`` [R, B, L], ``labels`` [B, L] graded relevance of the validation lists,
    ``mask`` [R, B, L] or [B, L]. The metric string carries its conventions
    (``"ndcg@10[gain=linear]"``). ``ideal_labels``/``ideal_mask`` [B, M]: every judged
    document of each list, for metrics normalized by the ideal ranking or the number of
    relevant documents (as in :func:`rankwise.metrics.evaluate`).
    """
    spec = parse_metric(metric)
    # the weight-independent part of the fusion, once for the whole grid
    s, m = check_run_scores(scores, mask, "tune_weights")
    contribution = run_contributions(s, m, method=method, normalization=normalization, k=k)

    def score(w: tuple[float, ...]) -> float:
        fused, union = combine_contributions(contribution, m, method=method, weights=w)
        values = evaluate(
            fused,
            labels.to(fused.dtype),
            [spec],
            mask=union,
            ideal_labels=ideal_labels,
            ideal_mask=ideal_mask,
        )
        return float(values[spec.key])

    return _search(scores.shape[0], step, spec.key, score)


def tune_run_weights(
    runs: Sequence[TrecRun],
    qrels: Qrels,
    *,
    method: str = "weighted_sum",
    normalization: str = "min_max",
    metric: str = "ndcg@10",
    step: float = 0.1,
    k: float = 60.0,
) -> TunedWeights:
    """:func:`tune_weights` on TREC validation runs judged by ``qrels``.

    Only queries with judgements count; as in :func:`rankwise.runs.evaluate_run`,
    unjudged documents are non-relevant and the ideal ranking uses every judged document.
    """
    stacked = stack_runs(runs)
    keep = [i for i, q in enumerate(stacked.qids) if q in qrels]
    if not keep:
        raise ValueError("tune_run_weights: no query of the runs has judgements in the qrels")
    index = torch.tensor(keep, dtype=torch.long)
    scores, mask = stacked.scores[:, index], stacked.mask[:, index]
    labels = torch.zeros(scores.shape[1:], dtype=torch.float64)
    judged = [[max(v, 0.0) for v in qrels[stacked.qids[i]].values()] for i in keep]
    ideal = torch.zeros(len(keep), max(len(j) for j in judged) or 1, dtype=torch.float64)
    ideal_mask = torch.zeros_like(ideal, dtype=torch.bool)
    for row, i in enumerate(keep):
        rel = qrels[stacked.qids[i]]
        docs = stacked.docids[i, : stacked.lengths[i]].tolist()
        labels[row, : len(docs)] = torch.tensor([max(rel.get(d, 0.0), 0.0) for d in docs])
        ideal[row, : len(judged[row])] = torch.tensor(judged[row], dtype=torch.float64)
        ideal_mask[row, : len(judged[row])] = True
    return tune_weights(
        scores,
        labels,
        mask=mask,
        method=method,
        normalization=normalization,
        metric=metric,
        step=step,
        k=k,
        ideal_labels=ideal,
        ideal_mask=ideal_mask,
    )

r"""Exact retrieval evaluation of embeddings, in blocks, and representation diagnostics.

Definitions (as "A Metric Learning Reality Check", Musgrave et al., ECCV 2020): for a
query with label y, the *relevant* gallery items are those with label y (the query itself
excluded when the gallery is the query set), R their number, and the gallery is ranked by
decreasing closeness (ties: lower gallery index first).

- ``recall@k``: 1 if at least one relevant item is in the top k (the metric-learning
  Recall@K, not the IR fraction of relevant items retrieved);
- ``precision@k``: the fraction of the top k that are relevant;
- ``r_precision``: the fraction of the top R that are relevant;
- ``map@r``: :math:`\frac{1}{R}\sum_{i \le R} P(i)\,\mathrm{rel}(i)`, MAP over the top R.

Queries with R = 0 have no defined value: they are left out of the means and counted in
``"queries_without_relevant"``. Nothing is approximate: the closeness matrix is computed
block of queries by block (``block_size`` rows at a time), so a 100k x 100k evaluation
holds one block, never the full matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from rankwise.embedding.similarity import Metric, check_embeddings, check_labels, closeness


def _stable_top(values: Tensor, k: int) -> Tensor:
    """Indices of the k largest per row, ties broken by lower index (exactly)."""
    m = values.shape[1]
    if k >= m:
        return torch.sort(values, dim=1, descending=True, stable=True).indices
    top = torch.topk(values, k + 1, dim=1)
    # topk's order among equal values is unspecified: rows whose k-th and (k+1)-th values
    # tie (or tie anywhere inside the top) are re-ranked with a full stable sort.
    idx = top.indices[:, :k]
    vals = top.values
    boundary_tie = vals[:, k - 1] == vals[:, k]
    redo = boundary_tie
    if k > 1:
        redo = redo | (vals[:, 1:k] == vals[:, : k - 1]).any(dim=1)
    if bool(redo.any()):
        rows = redo.nonzero(as_tuple=True)[0]
        idx = idx.clone()
        idx[rows] = torch.sort(values[rows], dim=1, descending=True, stable=True).indices[:, :k]
    out: Tensor = idx
    return out


@torch.no_grad()
def retrieval_metrics(
    queries: Tensor,
    query_labels: Tensor,
    gallery: Tensor | None = None,
    gallery_labels: Tensor | None = None,
    *,
    ks: Sequence[int] = (1, 2, 4, 8),
    metric: Metric = "cosine",
    normalize: bool = True,
    block_size: int | None = None,
) -> dict[str, float]:
    """Mean recall@k and precision@k for each k, R-precision and MAP@R (module docstring).

    ``queries`` [N, D] with ``query_labels`` [N]; ``gallery`` [M, D] with
    ``gallery_labels`` [M], or None to retrieve within the query set (each query
    excluded from its own results). ``block_size``: queries per block (default: as many
    as keep a block under 2^26 closeness values). Returns a dict with ``recall@k``,
    ``precision@k``, ``r_precision``, ``map@r``, ``queries`` (evaluated) and
    ``queries_without_relevant``.
    """
    check_embeddings(queries, "retrieval_metrics", "queries")
    check_labels(query_labels, queries.shape[0], "retrieval_metrics", "query_labels")
    same_set = gallery is None
    if same_set:
        gallery, gallery_labels = queries, query_labels
    elif gallery_labels is None:
        raise ValueError("retrieval_metrics: gallery_labels is required with a gallery")
    assert gallery is not None and gallery_labels is not None
    check_embeddings(gallery, "retrieval_metrics", "gallery")
    check_labels(gallery_labels, gallery.shape[0], "retrieval_metrics", "gallery_labels")
    if not ks or min(ks) < 1:
        raise ValueError(f"retrieval_metrics: ks must be positive integers, got {list(ks)}")
    n, m = queries.shape[0], gallery.shape[0]
    block = block_size or max(1, (1 << 26) // max(m, 1))
    # R per query: relevant gallery items, minus the query itself in the same-set case.
    classes, counts = torch.unique(gallery_labels, return_counts=True)
    lookup = dict(zip(classes.tolist(), counts.tolist(), strict=True))
    r_all = torch.tensor([lookup.get(c, 0) for c in query_labels.tolist()], dtype=torch.long)
    if same_set:
        r_all = r_all - 1
    totals = {f"recall@{k}": 0.0 for k in ks} | {f"precision@{k}": 0.0 for k in ks}
    totals |= {"r_precision": 0.0, "map@r": 0.0}
    evaluated = 0
    max_k = max(ks)
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        close = closeness(queries[rows], gallery, metric=metric, normalize=normalize)
        if same_set:
            own = torch.arange(rows.start, rows.stop, device=close.device)
            close[torch.arange(own.numel(), device=close.device), own] = float("-inf")
        r = r_all[rows].to(close.device)
        keep = r > 0
        if not bool(keep.any()):
            continue
        close, r = close[keep], r[keep]
        labels = query_labels[rows].to(close.device)[keep]
        depth = min(max(max_k, int(r.max())), m - (1 if same_set else 0))
        top = _stable_top(close, depth)
        rel = (gallery_labels.to(close.device)[top] == labels.unsqueeze(1)).to(torch.float64)
        for k in ks:
            hits = rel[:, :k]
            totals[f"recall@{k}"] += float((hits.sum(1) > 0).sum())
            totals[f"precision@{k}"] += float((hits.sum(1) / k).sum())
        positions = torch.arange(1, depth + 1, device=close.device)
        within_r = positions.unsqueeze(0) <= r.unsqueeze(1)
        rel_r = rel * within_r
        totals["r_precision"] += float((rel_r.sum(1) / r).sum())
        precision_at_i = rel_r.cumsum(1) / positions
        totals["map@r"] += float(((precision_at_i * rel_r).sum(1) / r).sum())
        evaluated += int(keep.sum())
    out = {key: value / max(evaluated, 1) for key, value in totals.items()}
    out["queries"] = float(evaluated)
    out["queries_without_relevant"] = float(n - evaluated)
    return out


def _singular_values(embeddings: Tensor, name: str) -> Tensor:
    check_embeddings(embeddings, name)
    values: Tensor = torch.linalg.svdvals(embeddings.detach().to(torch.float64))
    return values


def effective_rank(embeddings: Tensor, *, eps: float = 1e-7) -> float:
    r"""Effective rank, RankMe (Garrido et al., ICML 2023; Roy & Vetterli 2007):
    :math:`\exp(-\sum_k p_k \log p_k)`, :math:`p_k = \sigma_k / \sum_j \sigma_j + \epsilon`
    over the singular values of ``embeddings`` [N, D]. Between 1 (collapsed to a line) and
    min(N, D); a drop during training signals dimensional collapse."""
    s = _singular_values(embeddings, "effective_rank")
    if float(s.sum()) == 0.0:
        return 0.0
    p = s / s.sum() + eps
    return float(torch.exp(-(p * p.log()).sum()))


def stable_rank(embeddings: Tensor) -> float:
    r"""Stable rank :math:`\|Z\|_F^2 / \|Z\|_2^2 = \sum_k \sigma_k^2 / \sigma_1^2` of
    ``embeddings`` [N, D] (a smooth lower bound of the rank, used by Cuttlefish 2023)."""
    s = _singular_values(embeddings, "stable_rank")
    if float(s.max()) == 0.0:
        return 0.0
    return float(s.square().sum() / s.max().square())

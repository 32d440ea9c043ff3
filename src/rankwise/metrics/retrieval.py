r"""Exact retrieval evaluation of embeddings, in blocks, and representation diagnostics.

Definitions (as "A Metric Learning Reality Check", Musgrave et al., ECCV 2020): for a
query with label y, the *relevant* gallery items are those with label y (the query itself
excluded when the gallery is the query set), R their number, and the gallery is ranked by
decreasing closeness. Each value is rankwise's own metric kernel on that ranking, with the
library's tie convention (``ties="average"``: the expected value over random orderings
of equal closeness; ``"stable"`` ranks the lower gallery index first):

- ``hits@k``: 1 if at least one relevant item is in the top k (what metric learning
  calls Recall@K; rankwise's ``recall`` is the IR fraction of relevant items retrieved);
- ``precision@k``: the fraction of the top k that are relevant (divided by k);
- ``r_precision``: the fraction of the top R that are relevant;
- ``map@r``: :math:`\frac{1}{R}\sum_{i \le R} P(i)\,\mathrm{rel}(i)`, the average precision
  cut at R.

Queries with R = 0 have no defined value: they are left out of the means and counted in
``"queries_without_relevant"``. Nothing is approximate: the closeness matrix is computed
block of queries by block (``block_size`` rows at a time), so a 100k x 100k evaluation
holds one block, never the full matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from rankwise.functional import _metrics as kernels
from rankwise.functional._checks import check_class_labels, check_embeddings
from rankwise.functional._embedding.similarity import Similarity, closeness
from rankwise.functional._exact_ranking import TIES, Ties, rank_lists


@torch.no_grad()
def retrieval_metrics(
    queries: Tensor,
    query_labels: Tensor,
    gallery: Tensor | None = None,
    gallery_labels: Tensor | None = None,
    *,
    ks: Sequence[int] = (1, 2, 4, 8),
    similarity: Similarity = "cosine",
    normalize: bool = True,
    ties: Ties = "average",
    block_size: int | None = None,
) -> dict[str, float]:
    """Mean hits@k and precision@k for each k, R-precision and MAP@R (module docstring).

    ``queries`` [N, D] with ``query_labels`` [N]; ``gallery`` [M, D] with
    ``gallery_labels`` [M], or None to retrieve within the query set (each query
    excluded from its own results). ``block_size``: queries per block (default: as many
    as keep a block under 2^24 closeness values). Returns a dict with ``hits@k``,
    ``precision@k``, ``r_precision``, ``map@r``, ``queries`` (evaluated) and
    ``queries_without_relevant``.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> retrieval_metrics(x, torch.tensor([0, 0, 1, 1]), ks=(1,))["hits@1"]
        1.0
    """
    check_embeddings(queries, "retrieval_metrics", "queries")
    check_class_labels(query_labels, queries.shape[0], "retrieval_metrics", "query_labels")
    same_set = gallery is None
    if same_set:
        gallery, gallery_labels = queries, query_labels
    elif gallery_labels is None:
        raise ValueError("retrieval_metrics: gallery_labels is required with a gallery")
    assert gallery is not None and gallery_labels is not None
    check_embeddings(gallery, "retrieval_metrics", "gallery")
    check_class_labels(gallery_labels, gallery.shape[0], "retrieval_metrics", "gallery_labels")
    if not ks or min(ks) < 1:
        raise ValueError(f"retrieval_metrics: ks must be positive integers, got {list(ks)}")
    if ties not in TIES:
        raise ValueError(f"retrieval_metrics: ties must be one of {TIES}, got {ties!r}")
    n, m = queries.shape[0], gallery.shape[0]
    block = block_size or max(1, (1 << 24) // max(m, 1))
    totals = {f"hits@{k}": 0.0 for k in ks} | {f"precision@{k}": 0.0 for k in ks}
    totals |= {"r_precision": 0.0, "map@r": 0.0}
    evaluated = 0
    gallery_labels = gallery_labels.to(gallery.device)
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        close = closeness(queries[rows], gallery, similarity=similarity, normalize=normalize)
        close = close.to(torch.float64)
        relevant = gallery_labels.unsqueeze(0) == query_labels[rows].to(close.device).unsqueeze(1)
        real = torch.ones_like(relevant)
        if same_set:  # a query is not part of its own gallery
            own = torch.arange(rows.start, rows.stop, device=close.device)
            real[torch.arange(own.numel(), device=close.device), own] = False
        labels = (relevant & real).to(close.dtype)
        r = labels.sum(dim=1)
        keep = r > 0
        if not bool(keep.any()):
            continue
        close, labels, real, r = close[keep], labels[keep], real[keep], r[keep]
        ranked = rank_lists(close, labels, real, ties)
        for k in ks:
            hits, _ = kernels.hits_kernel(ranked, labels, real, k=k)
            totals[f"hits@{k}"] += float(hits.sum())
            prec, _ = kernels.precision_kernel(ranked, labels, real, k=k, short_lists="pad")
            totals[f"precision@{k}"] += float(prec.sum())
        r_prec, _ = kernels.r_precision_kernel(ranked, labels, real)
        totals["r_precision"] += float(r_prec.sum())
        ap_at_r, _ = kernels.average_precision_kernel(ranked, labels, real, k=r.unsqueeze(1))
        totals["map@r"] += float(ap_at_r.sum())
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

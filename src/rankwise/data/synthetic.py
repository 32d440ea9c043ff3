"""The embedded default data set: MSLR-shaped synthetic ranking data, generated here.

No file is downloaded or copied: :func:`make_synthetic` builds the data from a seed,
deterministically (same seed, same arrays, on every platform numpy supports).

What it looks like (defaults):

- 136 features in MSLR-like families: heavy-tailed integer counts, scores in [0, 1],
  BM25-like positive reals, large-scale values (PageRank/URL-length-like), pure noise
  features, two constant features, and query-level features shared by a whole list.
- List lengths drawn from a log-normal spread (a few very short lists, a long tail),
  graded labels 0-4 in roughly MSLR-WEB30K proportions, and some lists with no
  relevant document (hard queries).

How relevance is made: every document has a latent vector ``z``; its query adds a
shift ``c_q`` that the features see (``z + c_q``) but relevance partly does not. The
label is a quantised "teacher" score

    s = f_abs(z + c_q) + context_strength * f_ctx(z) + d_q + noise,

with ``f_abs`` a random non-linear function (a small tanh network), ``d_q`` the
query's difficulty and ``f_ctx(z) = -(z_1² + ... + z_k²)`` (``k = context_dims``,
standardised): on ``k`` latent directions, documents typical of their list (near its
centre ``c_q``) are more relevant, as a price near the typical price of the results
can be. Within a list ``f_ctx`` is not a monotone function of what the features see,
and ``c_q`` varies between queries (scale ``query_shift``) more than documents vary
within one, so a per-item scorer cannot rank by it; a model that sees the whole list
(e.g. the context-aware self-attention ranker) can estimate ``c_q`` from it.
``context_strength=0`` removes the effect. :func:`synthetic_teacher` returns the
teacher's parts for measuring what the data allow.

Why this form: an earlier teacher used a random tanh network for ``f_ctx`` too. It was
nearly monotone in each latent direction, so ranking a list by ``f_ctx(z + c_q)`` —
no context needed — recovered most of it, and LightGBM matched the context-aware ranker
on that data (the ``rankwise demo`` of 2026-12-01, recorded in ``README.md``).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rankwise.data.ranking_data import LoadReport, RankingData

#: Approximate label proportions of MSLR-WEB30K (labels 0..4).
MSLR_LABEL_PROPORTIONS = (0.514, 0.325, 0.134, 0.019, 0.008)
_LATENT = 8


def make_synthetic(
    num_queries: int = 1000,
    num_features: int = 136,
    *,
    seed: int = 0,
    mean_list_length: float = 60.0,
    list_length_spread: float = 0.7,
    max_list_length: int = 500,
    context_strength: float = 1.0,
    noise: float = 0.35,
    difficulty_spread: float = 1.0,
    label_proportions: Sequence[float] = MSLR_LABEL_PROPORTIONS,
    query_shift: float = 2.0,
    context_dims: int = 2,
    feature_noise: float = 0.5,
) -> RankingData:
    """Generate MSLR-shaped ranking data (see the module docstring).

    Args:
        num_queries: number of lists.
        num_features: feature width (>= 8); families keep their proportions.
        seed: everything is a function of this seed.
        mean_list_length: mean of the log-normal list-length distribution.
        list_length_spread: its sigma (0 gives equal lengths).
        max_list_length: lengths are clipped to ``[1, max_list_length]``.
        context_strength: weight of the list-relative part of relevance.
        noise: standard deviation of the label noise.
        difficulty_spread: spread of per-query difficulty; larger gives more lists with
            no relevant document.
        label_proportions: target share of each label value 0..len-1 over all documents.
        query_shift: scale of the per-query shift ``c_q`` of the latent vectors. The
            larger it is, the less a document's own features say about its list-relative
            relevance (``f_ctx(z)`` with ``z`` = what the features see minus ``c_q``),
            and the more a model that sees the whole list (and can estimate ``c_q`` from
            it) gains over a per-item scorer.
        context_dims: how many latent directions (1..8) the list-relative part
            ``f_ctx`` depends on.
        feature_noise: standard deviation of the noise each feature adds to its
            projection of the latent vector (how hard the latent is to recover).

    Returns:
        :class:`RankingData` with qids ``1..num_queries`` and docids ``"Q<qid>-D<i>"``.

    Example:
        >>> data = make_synthetic(20, seed=3)
        >>> data.num_queries, data.num_features
        (20, 136)
    """
    return _generate(
        num_queries,
        num_features,
        seed=seed,
        mean_list_length=mean_list_length,
        list_length_spread=list_length_spread,
        max_list_length=max_list_length,
        context_strength=context_strength,
        noise=noise,
        difficulty_spread=difficulty_spread,
        label_proportions=label_proportions,
        query_shift=query_shift,
        context_dims=context_dims,
        feature_noise=feature_noise,
    )[0]


@dataclass(frozen=True)
class SyntheticTeacher:
    """The parts of the teacher score of :func:`make_synthetic`'s data, one value per
    document in the data's order (module docstring): ``absolute`` (``f_abs``),
    ``relative`` (``f_ctx(z)``, standardised, before ``context_strength``),
    ``difficulty`` (``d_q``), and ``relative_from_list``: ``f_ctx`` computed with the
    list's own estimate of ``c_q`` (the mean of the observed latent vectors of the
    list), i.e. what a model seeing the whole list, and the latent vectors, could
    know."""

    absolute: npt.NDArray[np.float64]
    relative: npt.NDArray[np.float64]
    difficulty: npt.NDArray[np.float64]
    relative_from_list: npt.NDArray[np.float64]
    context_strength: float

    def score(self, *, context: bool = True, from_list: bool = False) -> npt.NDArray[np.float64]:
        """The noiseless teacher score; ``context=False`` drops ``f_ctx``;
        ``from_list=True`` uses ``relative_from_list`` for it."""
        out = self.absolute + self.difficulty
        if context:
            relative = self.relative_from_list if from_list else self.relative
            out = out + self.context_strength * relative
        return out


def synthetic_teacher(
    num_queries: int = 1000, num_features: int = 136, **options: Any
) -> SyntheticTeacher:
    """The teacher of ``make_synthetic(num_queries, num_features, **options)``
    (:class:`SyntheticTeacher`), for measuring what the data allow.

    Example:
        >>> t = synthetic_teacher(20, seed=3)
        >>> t.score().shape == make_synthetic(20, seed=3).labels.shape
        True
    """
    # make_synthetic's defaults (and its error for an unknown option name)
    arguments = inspect.signature(make_synthetic).bind(num_queries, num_features, **options)
    arguments.apply_defaults()
    return _generate(*arguments.args, **arguments.kwargs)[1]


def _generate(
    num_queries: int,
    num_features: int,
    *,
    seed: int,
    mean_list_length: float,
    list_length_spread: float,
    max_list_length: int,
    context_strength: float,
    noise: float,
    difficulty_spread: float,
    label_proportions: Sequence[float],
    query_shift: float,
    context_dims: int,
    feature_noise: float,
) -> tuple[RankingData, SyntheticTeacher]:
    # no defaults here: make_synthetic's signature is their one home
    if num_queries < 1:
        raise ValueError(f"num_queries must be >= 1, got {num_queries}")
    if num_features < 8:
        raise ValueError(f"num_features must be >= 8, got {num_features}")
    if mean_list_length < 1 or max_list_length < 1:
        raise ValueError("mean_list_length and max_list_length must be >= 1")
    if not 1 <= context_dims <= _LATENT:
        raise ValueError(f"context_dims must be in 1..{_LATENT}, got {context_dims}")
    proportions = np.asarray(label_proportions, dtype=np.float64)
    if proportions.ndim != 1 or proportions.size < 2 or (proportions < 0).any():
        raise ValueError("label_proportions must be >= 2 non-negative numbers")
    proportions = proportions / proportions.sum()

    rng = np.random.default_rng(seed)
    mu = np.log(mean_list_length) - 0.5 * list_length_spread**2
    lengths = np.clip(
        np.rint(np.exp(rng.normal(mu, list_length_spread, num_queries))), 1, max_list_length
    ).astype(np.int64)
    n = int(lengths.sum())
    query_of_doc = np.repeat(np.arange(num_queries), lengths)

    z = rng.normal(size=(n, _LATENT))  # what relevance depends on (relative part)
    shift = rng.normal(scale=query_shift, size=(num_queries, _LATENT))  # per-query shift of z
    observed = z + shift[query_of_doc]  # what the features see
    difficulty = rng.normal(scale=difficulty_spread, size=num_queries)

    f_abs = _random_net(rng, hidden=16)
    absolute = _standardize(f_abs(observed))
    relative_raw = -(z[:, :context_dims] ** 2).sum(axis=1)
    relative = _standardize(relative_raw)
    score = (
        absolute
        + context_strength * relative
        + difficulty[query_of_doc]
        + noise * rng.normal(size=n)
    )
    cuts = np.quantile(score, np.cumsum(proportions)[:-1])
    labels = np.searchsorted(cuts, score, side="right").astype(np.float32)

    features = _features(rng, observed, shift[query_of_doc], num_features, feature_noise)
    offsets = np.zeros(num_queries + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    qids = np.arange(1, num_queries + 1, dtype=np.int64)
    position = np.arange(n) - offsets[:-1][query_of_doc]
    docids = np.char.add(
        np.char.add("Q", qids[query_of_doc].astype(str)), np.char.add("-D", position.astype(str))
    )
    # the list's own estimate of c_q: the mean observed latent vector of the list
    sums = np.zeros((num_queries, _LATENT))
    np.add.at(sums, query_of_doc, observed)
    estimate = (sums / lengths[:, None])[query_of_doc]
    from_list = -((observed - estimate)[:, :context_dims] ** 2).sum(axis=1)
    teacher = SyntheticTeacher(
        absolute=absolute,
        relative=relative,
        difficulty=difficulty[query_of_doc],
        # the same standardisation as ``relative``, so the two are comparable
        relative_from_list=(from_list - relative_raw.mean())
        / max(float(relative_raw.std()), 1e-12),
        context_strength=context_strength,
    )
    data = RankingData(
        features=features,
        labels=labels,
        query_offsets=offsets,
        qids=qids,
        docids=docids.astype(np.str_),
        report=LoadReport(sources=[f"synthetic(seed={seed})"]),
    )
    return data, teacher


def _random_net(rng: np.random.Generator, hidden: int) -> _TanhNet:
    return _TanhNet(
        w1=rng.normal(scale=1.0 / np.sqrt(_LATENT), size=(_LATENT, hidden)),
        b1=rng.normal(scale=0.5, size=hidden),
        w2=rng.normal(size=hidden),
    )


class _TanhNet:
    """``tanh(v W1 + b1) w2`` plus a pairwise interaction of the first two inputs."""

    def __init__(
        self, w1: npt.NDArray[np.float64], b1: npt.NDArray[np.float64], w2: npt.NDArray[np.float64]
    ) -> None:
        self.w1, self.b1, self.w2 = w1, b1, w2

    def __call__(self, v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = np.tanh(v @ self.w1 + self.b1) @ self.w2
        return out + 0.5 * v[:, 0] * v[:, 1]


def _standardize(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    std = float(x.std())
    out: npt.NDArray[np.float64] = (x - x.mean()) / (std if std > 0 else 1.0)
    return out


def _features(
    rng: np.random.Generator,
    observed: npt.NDArray[np.float64],
    query_shift: npt.NDArray[np.float64],
    width: int,
    feature_noise: float,
) -> npt.NDArray[np.float32]:
    """Observed features in MSLR-like families (proportions of a 136-wide layout)."""
    n = observed.shape[0]
    sizes = _family_sizes(width)
    blocks: list[npt.NDArray[np.float64]] = []

    def projection(k: int, scale: float = 0.6) -> npt.NDArray[np.float64]:
        mix = rng.normal(scale=scale, size=(_LATENT, k))
        out: npt.NDArray[np.float64] = observed @ mix + rng.normal(scale=feature_noise, size=(n, k))
        return out

    blocks.append(np.floor(np.exp(projection(sizes["counts"]) * 0.8 + 1.0)))  # heavy-tailed ints
    blocks.append(1.0 / (1.0 + np.exp(-projection(sizes["unit"]))))  # scores in (0, 1)
    blocks.append(5.0 * np.logaddexp(0.0, projection(sizes["bm25"])))  # positive, BM25-like
    blocks.append(1000.0 * np.exp(1.5 * projection(sizes["large"], 0.3)))  # large scale
    blocks.append(rng.normal(size=(n, sizes["noise"])))  # uninformative
    blocks.append(np.zeros((n, sizes["constant"])))  # constant over the data set
    q_mix = rng.normal(size=(_LATENT, sizes["query"]))
    blocks.append(np.round(np.abs(query_shift @ q_mix) * 3.0))  # shared by a whole list
    return np.concatenate(blocks, axis=1).astype(np.float32)


def _family_sizes(width: int) -> dict[str, int]:
    share = {
        "counts": 30,
        "unit": 30,
        "bm25": 40,
        "large": 20,
        "noise": 11,
        "constant": 2,
        "query": 3,
    }
    total = sum(share.values())  # 136
    sizes = {k: max(1, (v * width) // total) for k, v in share.items()}
    sizes["bm25"] += width - sum(sizes.values())
    return sizes

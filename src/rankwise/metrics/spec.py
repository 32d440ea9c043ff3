"""Metric strings: ``"ndcg@10"``, ``"map"``, ``"mrr@10"``, ``"err@20"`` and their conventions.

A metric string is ``name[@k][[option=value,...]]``, case-insensitive in the name:

- names: ``ndcg``, ``dcg``, ``map`` (``ap``), ``mrr`` (``rr``), ``err``, ``precision`` (``p``),
  ``recall`` (``r``), ``hits`` (``hit_rate``), ``r_precision`` (``rprec``), ``auc``,
  ``opa`` (``pair_accuracy``);
- ``@k``: the cut-off;
- ``[...]``: convention overrides, e.g. ``"ndcg@10[gain=linear,empty=one,ties=stable]"``.

:func:`parse_metric` returns a :class:`MetricSpec`. Its ``key`` (``"ndcg@10"``, plus the
overrides if any) is what logs, results files and reports use; ``describe()`` states
every convention in force, e.g. ``"ndcg@10 [gain=exp2, empty=zero, ties=average]"``.
:func:`evaluate` computes several metrics on one batch, ranking it once per tie
convention.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from rankwise.functional import metrics as F
from rankwise.functional._inputs import Reduction, check_k, check_lists, check_reduction
from rankwise.functional.ordering import TIES, RankedLists, rank_lists


@dataclass(frozen=True)
class MetricInfo:
    """A metric family: its kernel, public function, and which conventions apply."""

    name: str
    function: Callable[..., Tensor]
    kernel: Callable[..., tuple[Tensor, Tensor]]
    conventions: tuple[str, ...]  # shown in describe(), in this order
    defaults: Mapping[str, Any]
    takes_k: bool = True
    ranked: bool = True  # False: the kernel works on unranked lists (pair accuracy)
    extra: tuple[str, ...] = ()  # other options that may be set in a metric string
    uses_ideal: bool = False  # accepts ideal_labels (judgements beyond the ranked list)


_BASE = {"empty": "zero", "ties": "average"}
METRICS: dict[str, MetricInfo] = {
    "ndcg": MetricInfo(
        "ndcg",
        F.ndcg,
        F.ndcg_kernel,
        ("gain", "empty", "ties"),
        {"gain": "exp2", **_BASE},
        uses_ideal=True,
    ),
    "dcg": MetricInfo(
        "dcg", F.dcg, F.dcg_kernel, ("gain", "empty", "ties"), {"gain": "exp2", **_BASE}
    ),
    "map": MetricInfo(
        "map",
        F.average_precision,
        F.average_precision_kernel,
        ("threshold", "empty", "ties"),
        {"threshold": 1.0, **_BASE},
        uses_ideal=True,
    ),
    "mrr": MetricInfo(
        "mrr",
        F.reciprocal_rank,
        F.reciprocal_rank_kernel,
        ("threshold", "empty", "ties"),
        {"threshold": 1.0, **_BASE},
    ),
    "err": MetricInfo(
        "err", F.err, F.err_kernel, ("max_label", "empty", "ties"), {"max_label": 4.0, **_BASE}
    ),
    "precision": MetricInfo(
        "precision",
        F.precision,
        F.precision_kernel,
        ("threshold", "short_lists", "empty", "ties"),
        {"threshold": 1.0, "short_lists": "whole", **_BASE},
    ),
    "recall": MetricInfo(
        "recall",
        F.recall,
        F.recall_kernel,
        ("threshold", "empty", "ties"),
        {"threshold": 1.0, **_BASE},
        uses_ideal=True,
    ),
    "hits": MetricInfo(
        "hits",
        F.hits,
        F.hits_kernel,
        ("threshold", "binary", "empty", "ties"),
        {"threshold": 1.0, "binary": True, **_BASE},
    ),
    "r_precision": MetricInfo(
        "r_precision",
        F.r_precision,
        F.r_precision_kernel,
        ("threshold", "empty", "ties"),
        {"threshold": 1.0, **_BASE},
        takes_k=False,
        uses_ideal=True,
    ),
    "auc": MetricInfo(
        "auc",
        F.auc,
        F.auc_kernel,
        ("threshold", "empty", "ties"),
        {"threshold": 1.0, **_BASE},
        takes_k=False,
    ),
    "opa": MetricInfo(
        "opa",
        F.pair_accuracy,
        F.pair_accuracy_kernel,
        ("empty", "ties"),
        dict(_BASE),
        takes_k=False,
        ranked=False,
    ),
}
ALIASES = {
    "ap": "map",
    "average_precision": "map",
    "rr": "mrr",
    "reciprocal_rank": "mrr",
    "p": "precision",
    "prec": "precision",
    "r": "recall",
    "hit_rate": "hits",
    "hitrate": "hits",
    "rprec": "r_precision",
    "r-precision": "r_precision",
    "rprecision": "r_precision",
    "pair_accuracy": "opa",
    "ndcg_cut": "ndcg",
}
_PATTERN = re.compile(r"^\s*([A-Za-z_\-]+)\s*(?:@\s*(\d+))?\s*(?:\[(.*)\])?\s*$")


@dataclass(frozen=True)
class MetricSpec:
    """A metric with its cut-off and conventions; callable like the metric function."""

    name: str
    k: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def info(self) -> MetricInfo:
        return METRICS[self.name]

    @property
    def key(self) -> str:
        """The name used in logs, results and reports: ``ndcg@10`` (+ overrides)."""
        base = self.name + (f"@{self.k}" if self.k is not None else "")
        overrides = {
            k: v for k, v in sorted(self.options.items()) if self.info.defaults.get(k) != v
        }
        if overrides:
            base += "[" + ",".join(f"{k}={_fmt(v)}" for k, v in overrides.items()) + "]"
        return base

    def conventions(self) -> dict[str, Any]:
        """Every convention in force (defaults filled in)."""
        merged = {**self.info.defaults, **self.options}
        return {c: merged[c] for c in self.info.conventions if c in merged}

    def describe(self) -> str:
        """``"ndcg@10 [gain=exp2, empty=zero, ties=average]"``."""
        parts = ", ".join(f"{k}={_fmt(v)}" for k, v in self.conventions().items())
        base = self.name + (f"@{self.k}" if self.k is not None else "")
        return f"{base} [{parts}]"

    def __call__(
        self,
        scores: Tensor,
        labels: Tensor,
        *,
        mask: Tensor | None = None,
        reduction: Reduction = "mean",
    ) -> Tensor:
        kwargs = dict(self.options)
        if self.k is not None:
            kwargs["k"] = self.k
        return self.info.function(scores, labels, mask=mask, reduction=reduction, **kwargs)

    def __str__(self) -> str:
        return self.key


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if callable(value):
        return getattr(value, "__name__", "callable")
    return str(value).lower() if isinstance(value, bool) else str(value)


def _coerce(info: MetricInfo, option: str, text: str) -> Any:
    if option in ("threshold", "max_label"):
        return float(text)
    if option == "binary":
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"binary must be true or false, got {text!r}")
        return text.lower() in ("true", "1")
    return text


def parse_metric(text: str | MetricSpec, defaults: Mapping[str, Any] | None = None) -> MetricSpec:
    """Parse ``"ndcg@10"``-style strings (module docstring).

    ``defaults`` sets conventions for every metric that has them (e.g. ``{"empty": "one"}``
    from a config); options written in the string win over them.

    Raises:
        ValueError: an unknown metric or option, a bad value, or ``@k`` on a metric
            without a cut-off; the message lists what is allowed.
    """
    if isinstance(text, MetricSpec):
        return text
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"cannot parse metric {text!r}; expected e.g. 'ndcg@10' or 'map'")
    raw_name, raw_k, raw_options = match.groups()
    name = raw_name.lower()
    name = ALIASES.get(name, name)
    if name not in METRICS:
        known = sorted(set(METRICS) | set(ALIASES))
        raise ValueError(f"unknown metric {raw_name!r} in {text!r}; known: {', '.join(known)}")
    info = METRICS[name]
    k = int(raw_k) if raw_k is not None else None
    if k is not None and not info.takes_k:
        raise ValueError(f"{name} has no cut-off; write {name!r} without '@{k}'")
    check_k(k, name)
    options: dict[str, Any] = {}
    allowed = set(info.conventions) | set(info.extra)
    for key, value in (defaults or {}).items():
        if key in allowed:
            options[key] = value
    if raw_options:
        for item in raw_options.split(","):
            key, sep, value = (part.strip() for part in item.partition("="))
            if not sep:
                raise ValueError(f"option {item!r} in {text!r} must be key=value")
            if key not in allowed:
                raise ValueError(
                    f"{name} has no option {key!r} (in {text!r}); options: {sorted(allowed)}"
                )
            options[key] = _coerce(info, key, value)
    _validate_options(name, options)
    return MetricSpec(name, k, options)


def _validate_options(name: str, options: Mapping[str, Any]) -> None:
    choices = {
        "empty": F.EMPTY,
        "ties": TIES,
        "gain": ("exp2", "linear"),
        "short_lists": ("whole", "pad"),
    }
    for key, allowed in choices.items():
        value = options.get(key)
        if value is not None and not callable(value) and value not in allowed:
            raise ValueError(f"{name}: {key} must be one of {allowed}, got {value!r}")


def parse_metrics(
    texts: Iterable[str | MetricSpec], defaults: Mapping[str, Any] | None = None
) -> list[MetricSpec]:
    """Parse several metric strings; duplicate keys are an error."""
    specs = [parse_metric(t, defaults) for t in texts]
    keys = [s.key for s in specs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"metric listed twice: {dupes}")
    return specs


def evaluate(
    scores: Tensor,
    labels: Tensor,
    metrics: Sequence[str | MetricSpec],
    *,
    mask: Tensor | None = None,
    reduction: Reduction = "mean",
    ideal_labels: Tensor | None = None,
    ideal_mask: Tensor | None = None,
) -> dict[str, Tensor]:
    """Several metrics of one batch, keyed by :attr:`MetricSpec.key`.

    The batch is checked once and ranked once per tie convention in use, so asking for
    ``ndcg@1, ndcg@3, ndcg@5, ndcg@10, map, mrr`` sorts the lists once.
    ``ideal_labels``/``ideal_mask`` (all judgements of each query) go to the metrics that
    normalise by the ideal ranking or by the number of relevant items.
    """
    check_reduction(reduction, "evaluate")
    specs = parse_metrics(metrics)
    scores, labels, mask = check_lists(scores, labels, mask, name="evaluate")
    ranked: dict[str, RankedLists] = {}
    out: dict[str, Tensor] = {}
    depths = _ranking_depths(specs)
    for spec in specs:
        opts = {**spec.info.defaults, **spec.options}
        empty, ties = opts.pop("empty"), opts.pop("ties")
        kernel_opts = {
            k: v for k, v in opts.items() if k in spec.info.conventions or k in spec.info.extra
        }
        if spec.k is not None:
            kernel_opts["k"] = spec.k
        if spec.info.uses_ideal and ideal_labels is not None:
            kernel_opts["ideal_labels"] = ideal_labels
            kernel_opts["ideal_mask"] = ideal_mask
        if spec.info.ranked:
            if ties not in ranked:
                ranked[ties] = rank_lists(scores, labels, mask, ties, depth=depths[ties])
            r = ranked[ties]
            values, has_relevant = spec.info.kernel(r, labels, mask, **kernel_opts)
            has_items = r.n_valid > 0
        else:
            values, has_relevant = spec.info.kernel(scores, labels, mask, ties=ties, **kernel_opts)
            has_items = mask.any(dim=1)
        out[spec.key] = F.finish_metric(values, has_relevant, has_items, empty, reduction)
    return out


def _ranking_depths(specs: Sequence[MetricSpec]) -> dict[str, int | None]:
    """Per tie convention, how many ranked positions its metrics read together: the
    largest :func:`~rankwise.functional.metrics.ranking_depth`, or None (the whole list)
    as soon as one of them needs the whole list."""
    needed: dict[str, list[int | None]] = {}
    for spec in specs:
        ties = {**spec.info.defaults, **spec.options}["ties"]
        needed.setdefault(ties, []).append(F.ranking_depth(spec.info.name, spec.k))
    return {
        ties: None if any(k is None for k in ks) else max(k for k in ks if k is not None)
        for ties, ks in needed.items()
    }


def describe_metrics(specs: Iterable[MetricSpec]) -> dict[str, str]:
    """``key -> describe()`` for a table header or a results file."""
    return {s.key: s.describe() for s in specs}

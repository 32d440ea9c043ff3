"""Metric strings: ``"ndcg@10"``, ``"map"``, ``"mrr@10"``, ``"err@20"`` and their conventions.

A metric string is ``name[@k][[option=value,...]]``, case-insensitive in the name:

- names: ``ndcg``, ``dcg``, ``map`` (``ap``), ``mrr`` (``rr``), ``err``, ``precision`` (``p``),
  ``recall`` (``r``), ``hits`` (``hit_rate``), ``r_precision`` (``rprec``), ``auc``,
  ``pair_accuracy`` (``opa``);
- ``@k``: the cut-off;
- ``[...]``: convention overrides, e.g. ``"ndcg@10[gain=linear,empty=one,ties=stable]"``.

:func:`parse_metric` returns a :class:`MetricSpec`. Its ``key`` (``"ndcg@10"``, plus the
overrides if any) is what logs, results files and reports use; ``describe()`` states
every convention in force, e.g. ``"ndcg@10 [gain=exp2, empty=zero, ties=average]"``.
:func:`evaluate` computes several metrics on one batch, ranking it once per tie convention.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from rankwise.errors import RegistryError
from rankwise.functional import _metrics as F
from rankwise.functional._checks import Reduction, check_k, check_lists, check_reduction
from rankwise.functional._exact_ranking import TIES, RankedLists, rank_lists
from rankwise.registry import Registry, did_you_mean

Kernel = Callable[..., tuple[Tensor, Tensor]]
# Per-call arguments of a metric function: everything else in its signature (k and the
# conventions) can be set in a metric string.
_PER_CALL = ("scores", "labels", "mask", "reduction", "ideal_labels", "ideal_mask")


@dataclass(frozen=True)
class MetricInfo:
    """A registered metric family, read from its function's signature: the conventions
    it takes (keyword parameters other than ``k`` and the per-call ones, in signature
    order), their defaults, whether it has a cut-off and takes ideal labels. Calling it
    calls the function."""

    name: str
    function: Callable[..., Tensor]
    kernel: Kernel
    conventions: tuple[str, ...]
    defaults: Mapping[str, Any]
    takes_k: bool
    uses_ideal: bool

    @classmethod
    def of(
        cls,
        name: str,
        function: Callable[..., Tensor],
        kernel: Callable[..., tuple[Tensor, Tensor]],
    ) -> MetricInfo:
        """Read the family ``name`` from its function's signature."""
        params = inspect.signature(function).parameters
        options = {
            k: p
            for k, p in params.items()
            if p.kind == p.KEYWORD_ONLY and k not in _PER_CALL and k != "k"
        }
        return cls(
            name=name,
            function=function,
            kernel=kernel,
            conventions=tuple(options),
            defaults={k: p.default for k, p in options.items()},
            takes_k="k" in params,
            uses_ideal="ideal_labels" in params,
        )

    @property
    def __signature__(self) -> inspect.Signature:  # what the registry checks specs against
        return inspect.signature(self.function)

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        return self.function(*args, **kwargs)


#: The metric families of metric strings, by name (kind ``"metric"``; entries are
#: :class:`MetricInfo`).
METRICS: Registry[Tensor] = Registry("metric", per_call=_PER_CALL)
for _name, _function, _kernel in (
    ("ndcg", F.ndcg, F.ndcg_kernel),
    ("dcg", F.dcg, F.dcg_kernel),
    ("map", F.average_precision, F.average_precision_kernel),
    ("mrr", F.reciprocal_rank, F.reciprocal_rank_kernel),
    ("err", F.err, F.err_kernel),
    ("precision", F.precision, F.precision_kernel),
    ("recall", F.recall, F.recall_kernel),
    ("hits", F.hits, F.hits_kernel),
    ("r_precision", F.r_precision, F.r_precision_kernel),
    ("auc", F.auc, F.auc_kernel),
    ("pair_accuracy", F.pair_accuracy, F.pair_accuracy_kernel),
):
    _doc = (_function.__doc__ or "").strip().splitlines()[0]
    METRICS.add(_name, MetricInfo.of(_name, _function, _kernel), _doc)


for _alias, _name in {
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
    "opa": "pair_accuracy",
    "ndcg_cut": "ndcg",
}.items():
    METRICS.alias(_alias, _name)
_PATTERN = re.compile(r"^\s*([A-Za-z_\-]+)\s*(?:@\s*(\d+))?\s*(?:\[(.*)\])?\s*$")


@dataclass(frozen=True)
class MetricSpec:
    """A metric with its cut-off and conventions; callable like the metric function."""

    name: str
    k: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def info(self) -> MetricInfo:
        """The metric family (its function, kernel and conventions)."""
        return _info(self.name)

    @property
    def key(self) -> str:
        """The metric's name in logs, results files and reports, e.g. ``ndcg@10`` (with the
        overridden conventions, if any)."""
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
    name = METRICS.canonical(raw_name.lower())
    if name not in METRICS:
        known = sorted(set(METRICS) | set(METRICS.aliases()))
        raise RegistryError(
            f"unknown metric {raw_name!r} in {text!r}{did_you_mean(name, known)}; "
            f"known: {', '.join(known)}"
        )
    info = _info(name)
    k = int(raw_k) if raw_k is not None else None
    if k is not None and not info.takes_k:
        raise ValueError(f"{name} has no cut-off; write {name!r} without '@{k}'")
    check_k(k, name)
    options: dict[str, Any] = {}
    allowed = set(info.conventions)
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
    normalize by the ideal ranking or by the number of relevant items.
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
        kernel_opts = {k: v for k, v in opts.items() if k in spec.info.conventions}
        if spec.k is not None:
            kernel_opts["k"] = spec.k
        if spec.info.uses_ideal and ideal_labels is not None:
            kernel_opts["ideal_labels"] = ideal_labels
            kernel_opts["ideal_mask"] = ideal_mask
        ranking = None
        if spec.info.kernel not in F.UNRANKED_KERNELS:
            if ties not in ranked:
                ranked[ties] = rank_lists(scores, labels, mask, ties, depth=depths[ties])
            ranking = ranked[ties]
        out[spec.key] = F.metric_values(
            spec.info.kernel,
            ranking,
            scores,
            labels,
            mask,
            ties=ties,
            empty=empty,
            reduction=reduction,
            **kernel_opts,
        )
    return out


def _ranking_depths(specs: Sequence[MetricSpec]) -> dict[str, int | None]:
    """Per tie convention, how many ranked positions its metrics read together: the
    largest :func:`~rankwise.functional._metrics.ranking_depth`, or None (the whole list)
    as soon as one of them needs the whole list."""
    needed: dict[str, list[int | None]] = {}
    for spec in specs:
        ties = {**spec.info.defaults, **spec.options}["ties"]
        needed.setdefault(ties, []).append(F.ranking_depth(spec.info.kernel, spec.k))
    return {
        ties: None if any(k is None for k in ks) else max(k for k in ks if k is not None)
        for ties, ks in needed.items()
    }


def _info(name: str) -> MetricInfo:
    info = METRICS[METRICS.canonical(name)]
    assert isinstance(info, MetricInfo)
    return info


def describe_metrics(specs: Iterable[MetricSpec]) -> dict[str, str]:
    """``key -> describe()`` for a table header or a results file."""
    return {s.key: s.describe() for s in specs}

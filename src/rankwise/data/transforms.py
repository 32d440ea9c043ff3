"""Feature transforms, fitted on training data only and saved with a model.

Every transform maps a :class:`RankingData` to a new one (the input is never modified)
and has a JSON-safe :meth:`FeatureTransform.state_dict`, so a checkpoint can carry the
exact preprocessing that ``predict`` must apply. Fitting looks at the training split
only; applying a transform to validation or test data uses the statistics learnt there.

- :class:`Standardize`: ``(x - mean) / std`` per feature (constant features: std 1).
- :class:`SignedLog1p`: ``sign(x) * log1p(|x|)``; tames heavy-tailed counts (MSLR).
- :class:`QueryMinMax`: per query and feature, ``(x - min) / (max - min)`` (0 when the
  feature is constant within the query), as LETOR's "QueryLevelNorm".
- :class:`Clip`: clip to fixed bounds, or to per-feature quantiles fitted on training data.
- :class:`Compose`: several transforms in order.

Build one from a config with :func:`build_transform` (``{"name": ..., "params": ...}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn

from rankwise.data.ranking_data import RankingData
from rankwise.errors import NotFittedError
from rankwise.registry import Registry, parse_spec

#: The feature transforms by name (kind ``"transform"``).
TRANSFORMS: Registry[FeatureTransform] = Registry("transform")


class FeatureTransform:
    """Base class: ``fit`` on training data, ``transform`` any split, save with ``state_dict``."""

    name: ClassVar[str] = ""
    stateless: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            TRANSFORMS.add(cls.name, cls)

    def __init__(self) -> None:
        self.num_features: int | None = None

    @property
    def fitted(self) -> bool:
        """Whether the transform can be applied (stateless, or fitted)."""
        return self.stateless or self.num_features is not None

    def fit(self, data: RankingData) -> FeatureTransform:
        self.num_features = data.num_features
        self._fit(data)
        return self

    def _fit(self, data: RankingData) -> None:
        """Learn statistics from ``data`` (training split only)."""

    def transform(self, data: RankingData) -> RankingData:
        if not self.fitted:
            raise NotFittedError(
                f"transform {self.name!r} must be fitted on the training data before use"
            )
        if self.num_features is not None and data.num_features != self.num_features:
            raise ValueError(
                f"transform {self.name!r} was fitted on {self.num_features} features, "
                f"the data has {data.num_features}"
            )
        out = self._apply(np.array(data.features, dtype=np.float32, copy=True), data)
        return data.with_features(out)

    def fit_transform(self, data: RankingData) -> RankingData:
        """Fit on ``data`` and transform it."""
        return self.fit(data).transform(data)

    def _apply(
        self, features: npt.NDArray[np.float32], data: RankingData
    ) -> npt.NDArray[np.float32]:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """Hyper-parameters (constructor arguments)."""
        return {}

    def torch_module(self) -> nn.Module:
        """The fitted transform as a module ``(features [B, L, F], mask [B, L]) ->
        features``, float32 arithmetic as ``transform``'s, for exported models
        (:mod:`rankwise.serving.export`) that take raw features."""
        if not self.fitted:
            raise NotFittedError(f"transform {self.name!r} must be fitted before export")
        return self._module()

    def _module(self) -> nn.Module:
        raise NotImplementedError(f"transform {self.name!r} has no torch form")

    def _state(self) -> dict[str, Any]:
        """Fitted statistics as JSON-safe values."""
        return {}

    def _load_state(self, state: dict[str, Any]) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        """JSON-safe description: name, parameters and fitted statistics."""
        return {
            "name": self.name,
            "params": self.params(),
            "num_features": self.num_features,
            "state": self._state(),
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


def transform_from_state(state: dict[str, Any]) -> FeatureTransform:
    """Rebuild a fitted transform from :meth:`FeatureTransform.state_dict`."""
    name = str(state.get("name"))
    params = dict(state.get("params", {}))
    if name == "compose":
        params["transforms"] = [transform_from_state(s) for s in params["transforms"]]
    t = TRANSFORMS.build(name, params)
    t.num_features = state.get("num_features")
    t._load_state(state.get("state", {}))
    return t


def build_transform(spec: dict[str, Any] | Sequence[dict[str, Any]]) -> FeatureTransform:
    """Build an unfitted transform from ``{"name": ..., "params": {...}}`` or a list of them."""
    if isinstance(spec, Sequence) and not isinstance(spec, dict):
        return Compose([build_transform(s) for s in spec])
    name, params = parse_spec(spec)
    if name == "compose":
        params["transforms"] = [build_transform(s) for s in params.get("transforms", [])]
    return TRANSFORMS.build(name, params)


class Standardize(FeatureTransform):
    """``(x - mean) / std`` per feature, statistics from the training data.

    Constant features (std 0) get std 1, so they become 0 rather than NaN.
    """

    name = "standardize"

    def __init__(self) -> None:
        super().__init__()
        self.mean: npt.NDArray[np.float64] | None = None
        self.std: npt.NDArray[np.float64] | None = None

    def _fit(self, data: RankingData) -> None:
        x = np.asarray(data.features, dtype=np.float64)
        self.mean = x.mean(axis=0) if x.shape[0] else np.zeros(x.shape[1])
        std = x.std(axis=0) if x.shape[0] else np.ones(x.shape[1])
        self.std = np.where(std > 0, std, 1.0)

    def _apply(
        self, features: npt.NDArray[np.float32], data: RankingData
    ) -> npt.NDArray[np.float32]:
        assert self.mean is not None and self.std is not None
        features -= self.mean.astype(np.float32)
        features /= self.std.astype(np.float32)
        return features

    def _module(self) -> nn.Module:
        assert self.mean is not None and self.std is not None
        return _Affine(self.mean, self.std)

    def _state(self) -> dict[str, Any]:
        assert self.mean is not None and self.std is not None
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.mean = np.asarray(state["mean"], dtype=np.float64)
        self.std = np.asarray(state["std"], dtype=np.float64)


class SignedLog1p(FeatureTransform):
    """``sign(x) * log1p(|x|)`` elementwise (no statistics; monotone, keeps 0 at 0)."""

    name = "signed_log1p"
    stateless = True

    def _apply(
        self, features: npt.NDArray[np.float32], data: RankingData
    ) -> npt.NDArray[np.float32]:
        sign = np.sign(features)
        np.abs(features, out=features)
        np.log1p(features, out=features)
        features *= sign
        return features

    def _module(self) -> nn.Module:
        return _SignedLog1p()


class QueryMinMax(FeatureTransform):
    """Per query and feature: ``(x - min) / (max - min)``; 0 where the feature is constant.

    This is LETOR's "query-level normalization"; it needs no statistics from training
    data because it only looks at each query's own documents.
    """

    name = "query_minmax"
    stateless = True

    def _apply(
        self, features: npt.NDArray[np.float32], data: RankingData
    ) -> npt.NDArray[np.float32]:
        if data.num_queries == 0:
            return features
        starts = data.query_offsets[:-1]
        lengths = data.list_lengths()
        lo = np.repeat(np.minimum.reduceat(features, starts, axis=0), lengths, axis=0)
        hi = np.repeat(np.maximum.reduceat(features, starts, axis=0), lengths, axis=0)
        span = hi - lo
        features -= lo
        np.divide(features, span, out=features, where=span > 0)
        features[span <= 0] = 0.0
        return features

    def _module(self) -> nn.Module:
        return _QueryMinMax()


class Clip(FeatureTransform):
    """Clip features to ``[lower, upper]``, or to per-feature training quantiles.

    Args:
        lower, upper: fixed bounds (``None``: unbounded on that side).
        quantiles: ``(q_lo, q_hi)`` in [0, 1]; when given, the bounds are the per-feature
            quantiles of the training data (overriding ``lower``/``upper``).
    """

    name = "clip"

    def __init__(
        self,
        lower: float | None = None,
        upper: float | None = None,
        quantiles: tuple[float, float] | list[float] | None = None,
    ) -> None:
        super().__init__()
        if quantiles is not None:
            q_lo, q_hi = quantiles
            if not 0.0 <= q_lo < q_hi <= 1.0:
                raise ValueError(f"quantiles must satisfy 0 <= lo < hi <= 1, got {quantiles}")
        elif lower is not None and upper is not None and lower > upper:
            raise ValueError(f"lower {lower} > upper {upper}")
        self.lower, self.upper = lower, upper
        self.quantiles = None if quantiles is None else (float(quantiles[0]), float(quantiles[1]))
        self.bounds: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None

    @property
    def fitted(self) -> bool:
        """Whether the bounds are known (fixed, or fitted quantiles)."""
        return self.quantiles is None or self.bounds is not None

    def _fit(self, data: RankingData) -> None:
        if self.quantiles is not None:
            x = np.asarray(data.features, dtype=np.float64)
            lo, hi = np.quantile(x, self.quantiles, axis=0)
            self.bounds = (lo, hi)

    def _apply(
        self, features: npt.NDArray[np.float32], data: RankingData
    ) -> npt.NDArray[np.float32]:
        if self.bounds is not None:
            lo, hi = self.bounds
            np.clip(features, lo.astype(np.float32), hi.astype(np.float32), out=features)
        else:
            np.clip(features, self.lower, self.upper, out=features)
        return features

    def _module(self) -> nn.Module:
        if self.bounds is not None:
            return _Clip(self.bounds[0], self.bounds[1])
        return _Clip(self.lower, self.upper)

    def params(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "quantiles": None if self.quantiles is None else list(self.quantiles),
        }

    def _state(self) -> dict[str, Any]:
        if self.bounds is None:
            return {}
        return {"lower": self.bounds[0].tolist(), "upper": self.bounds[1].tolist()}

    def _load_state(self, state: dict[str, Any]) -> None:
        if state:
            self.bounds = (np.asarray(state["lower"]), np.asarray(state["upper"]))


class Compose(FeatureTransform):
    """Apply transforms in order; fitting fits each on the output of the previous ones."""

    name = "compose"

    def __init__(self, transforms: Sequence[FeatureTransform]) -> None:
        super().__init__()
        self.transforms = list(transforms)

    @property
    def fitted(self) -> bool:
        """Whether every member transform is fitted."""
        return all(t.fitted for t in self.transforms)

    def fit(self, data: RankingData) -> Compose:
        self.num_features = data.num_features
        for t in self.transforms:
            data = t.fit_transform(data)
        return self

    def transform(self, data: RankingData) -> RankingData:
        for t in self.transforms:
            data = t.transform(data)
        return data

    def params(self) -> dict[str, Any]:
        return {"transforms": [t.state_dict() for t in self.transforms]}

    def _module(self) -> nn.Module:
        return _Sequence([t.torch_module() for t in self.transforms])


# ----------------------------------------------------------------- torch forms (export)
class _Affine(nn.Module):
    mean: Tensor
    std: Tensor

    def __init__(self, mean: npt.ArrayLike, std: npt.ArrayLike) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean, dtype=np.float32)))
        self.register_buffer("std", torch.as_tensor(np.asarray(std, dtype=np.float32)))

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        return (features - self.mean) / self.std


class _SignedLog1p(nn.Module):
    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        return torch.log1p(features.abs()) * torch.sign(features)


class _QueryMinMax(nn.Module):
    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        real = mask.unsqueeze(-1)  # padding neither the minimum nor the maximum
        inf = torch.tensor(float("inf"), dtype=features.dtype, device=features.device)
        lo = torch.where(real, features, inf).amin(dim=1, keepdim=True)
        hi = torch.where(real, features, -inf).amax(dim=1, keepdim=True)
        span = hi - lo
        shifted = features - lo
        safe = torch.where(span > 0, span, torch.ones_like(span))
        return torch.where(span > 0, shifted / safe, torch.zeros_like(shifted))


class _Clip(nn.Module):
    lower: Tensor
    upper: Tensor

    def __init__(self, lower: Any, upper: Any) -> None:
        super().__init__()
        inf = float("inf")
        lo = np.full(1, -inf) if lower is None else np.asarray(lower)
        hi = np.full(1, inf) if upper is None else np.asarray(upper)
        self.register_buffer("lower", torch.as_tensor(lo.astype(np.float32)))
        self.register_buffer("upper", torch.as_tensor(hi.astype(np.float32)))

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        return torch.minimum(torch.maximum(features, self.lower), self.upper)


class _Sequence(nn.Module):
    def __init__(self, steps: Sequence[nn.Module]) -> None:
        super().__init__()
        self.steps = nn.ModuleList(steps)

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        for step in self.steps:
            features = step(features, mask)
        return features

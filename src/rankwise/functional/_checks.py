"""The one input checker of rankwise: shapes, dtypes, masks and values of what the list
losses, metrics, embedding losses and rankers receive, with errors that name the function
and the argument; plus numpy interoperability.

- :func:`check_lists`: ``scores``/``labels``/``mask`` [B, L] of metrics and losses (the
  losses' :func:`~rankwise.functional._losses.common.prepare` builds on it);
- :func:`check_embeddings`, :func:`check_class_labels`: embeddings [N, D] and class ids
  [N] of the embedding losses and retrieval metrics;
- :func:`check_features`: ``features`` [B, L, F] and ``mask`` [B, L] of a ranker;
- :func:`check_reduction`, :func:`check_k`: the shared options.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, Literal, ParamSpec, TypeVar

import numpy as np
import torch
from torch import Tensor

Reduction = Literal["mean", "sum", "none"]
REDUCTIONS = ("mean", "sum", "none")

P = ParamSpec("P")
R = TypeVar("R")


def compute_dtype(scores: Tensor) -> torch.dtype:
    """float64 stays float64; every other dtype (fp16, bf16, fp32, ints) computes in float32."""
    return torch.float64 if scores.dtype == torch.float64 else torch.float32


def check_lists(
    scores: Tensor,
    labels: Tensor,
    mask: Tensor | None,
    *,
    name: str,
    nonnegative_labels: bool = True,
) -> tuple[Tensor, Tensor, Tensor]:
    """Validate ``[B, L]`` scores/labels/mask and return them in the compute dtype.

    A 1-d input is one list (``[L]`` becomes ``[1, L]``). ``mask=None`` means every item
    is real. Raises ``ValueError`` naming the function and the offending argument.
    """
    scores, labels, mask = check_list_shapes(scores, labels, mask, name)
    all_real = mask is None
    if mask is None:
        mask = torch.ones_like(scores, dtype=torch.bool)
    dtype = compute_dtype(scores)
    scores = scores.to(dtype)
    labels = labels.to(device=scores.device, dtype=dtype)
    mask = mask.to(scores.device)
    # Cheap screens first: one reduction per tensor proves the common case clean (a NaN
    # anywhere makes the sum NaN; an inf makes it inf or NaN). Only when a screen fails —
    # e.g. NaN at masked positions, or sums that overflow — run the exact masked checks
    # (masked reductions, no boolean indexing, which would copy the real items).
    if torch.isnan(scores.sum()) and (torch.isnan(scores) & mask).any():
        raise ValueError(f"{name}: scores contain NaN at real (unmasked) items")
    check_label_values(labels, None if all_real else mask, name, graded=nonnegative_labels)
    if all_real:
        return scores, labels, mask
    return scores, labels.masked_fill(~mask, 0.0), mask


def check_label_values(
    labels: Tensor, mask: Tensor | None, name: str, *, graded: bool = True
) -> None:
    """The one label check of losses and metrics: labels at real items are finite and,
    when ``graded`` (relevance grades, the default), >= 0.

    One ``aminmax`` reduction screens the whole tensor (a NaN anywhere makes the minimum
    NaN); only when the screen fails — a bad value, or garbage at masked positions — do
    masked checks decide, so well-formed inputs pay one pass and no copy.
    """
    if labels.numel() == 0:
        return
    # One reduction and one transfer of its two numbers; the tests on them are Python
    # arithmetic (tensor ops on 0-d results cost more than the reduction itself).
    low, high = torch.stack(torch.aminmax(labels)).tolist()
    if math.isfinite(low) and math.isfinite(high) and (low >= 0 or not graded):
        return
    real = torch.ones_like(labels, dtype=torch.bool) if mask is None else mask
    if bool((torch.isnan(labels) & real).any()):
        raise ValueError(f"{name}: labels contain NaN at real (unmasked) items")
    if bool((torch.isinf(labels) & real).any()):
        raise ValueError(f"{name}: labels contain inf at real (unmasked) items")
    if graded and bool(((labels < 0) & real).any()):
        raise ValueError(f"{name}: labels must be >= 0 at real items (graded relevance)")


def check_list_shapes(
    scores: Tensor, labels: Tensor, mask: Tensor | None, name: str
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Tensors [B, L] (a 1-d input is one list), labels and mask shaped like the scores,
    a bool mask, floating-point scores: shape and dtype checks only, no data-dependent
    ones (the losses sit in the training loop)."""
    if not isinstance(scores, Tensor) or not isinstance(labels, Tensor):
        raise TypeError(f"{name}: scores and labels must be tensors (or numpy arrays)")
    if scores.dim() == 1:
        scores = scores.unsqueeze(0)
        labels = labels.unsqueeze(0) if labels.dim() == 1 else labels
        mask = mask.unsqueeze(0) if mask is not None and mask.dim() == 1 else mask
    if scores.dim() != 2:
        raise ValueError(
            f"{name}: scores must be [batch, list] (or [list]), got {tuple(scores.shape)}"
        )
    if labels.shape != scores.shape:
        raise ValueError(
            f"{name}: labels shape {tuple(labels.shape)} differs from scores {tuple(scores.shape)}"
        )
    if mask is not None:
        if mask.shape != scores.shape:
            raise ValueError(
                f"{name}: mask shape {tuple(mask.shape)} differs from scores {tuple(scores.shape)}"
            )
        if mask.dtype != torch.bool:
            raise ValueError(
                f"{name}: mask must be a bool tensor (True = real item), got {mask.dtype}"
            )
    if scores.shape[1] == 0:
        # Lists of length 0: one masked position makes them lists without a real item,
        # which every loss and metric already handles (a finite 0, left out of means);
        # the scores stay connected, so their (empty) gradient is defined.
        pad = scores.new_zeros(scores.shape[0], 1)
        scores = torch.cat([scores, pad], dim=1)
        labels = torch.cat([labels, labels.new_zeros(labels.shape[0], 1)], dim=1)
        mask = torch.zeros(scores.shape, dtype=torch.bool, device=scores.device)
    return scores, labels, mask


def check_embeddings(embeddings: Tensor, name: str, what: str = "embeddings") -> None:
    """Raise a ``ValueError`` naming the function unless ``embeddings`` is a float [N, D]."""
    if embeddings.dim() != 2:
        raise ValueError(f"{name}: {what} must be [N, D], got shape {tuple(embeddings.shape)}")
    if not embeddings.is_floating_point():
        raise ValueError(f"{name}: {what} must be floating point, got {embeddings.dtype}")


def check_class_labels(labels: Tensor, n: int, name: str, what: str = "labels") -> None:
    """Raise unless ``labels`` is an integer vector of length ``n`` (class ids)."""
    if labels.dim() != 1 or labels.shape[0] != n:
        raise ValueError(f"{name}: {what} must be [N] with N={n}, got shape {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"{name}: {what} must hold integer class ids, got {labels.dtype}")


def check_features(features: Tensor, mask: Tensor, num_features: int, name: str) -> None:
    """Raise unless ``features`` is [B, L, num_features] and ``mask`` a bool [B, L]."""
    if features.dim() != 3 or features.shape[-1] != num_features:
        raise ValueError(
            f"{name}: features must be [batch, list, {num_features}], got {tuple(features.shape)}"
        )
    if mask.shape != features.shape[:2] or mask.dtype != torch.bool:
        raise ValueError(
            f"{name}: mask must be bool [batch, list] = {tuple(features.shape[:2])}, "
            f"got {mask.dtype} {tuple(mask.shape)}"
        )


def check_reduction(reduction: str, name: str) -> None:
    """Raise a ``ValueError`` naming ``name`` unless ``reduction`` is mean, sum or none."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def check_k(k: int | None, name: str, *, optional: bool = True) -> None:
    """Raise a ``ValueError`` naming ``name`` unless ``k`` is a positive integer (or None
    when ``optional``); ``True`` and ``2.0`` are not integers here."""
    if k is None and optional:
        return
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        what = "a positive integer or None" if optional else "a positive integer"
        raise ValueError(f"{name}: k must be {what}, got {k!r}")


def numpy_compatible(fn: Callable[P, R]) -> Callable[P, R]:
    """Let a tensor function take numpy arrays (and lists): it then returns numpy.

    Tensor arguments and keyword arguments that are ``np.ndarray`` are converted with
    ``torch.as_tensor`` (no copy where possible); if any was numpy, tensor results are
    converted back with ``.numpy()`` (0-d arrays for reduced results).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        converted = False

        def conv(x: Any) -> Any:
            nonlocal converted
            if isinstance(x, np.ndarray):
                converted = True
                return torch.as_tensor(x)
            return x

        args = tuple(conv(a) for a in args)
        kwargs = {k: conv(v) for k, v in kwargs.items()}
        out = fn(*args, **kwargs)
        if converted and isinstance(out, Tensor):
            return out.detach().cpu().numpy()
        return out

    return wrapper

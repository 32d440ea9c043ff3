"""Ranking losses: functions and registered ``nn.Module`` wrappers.

Functions (:mod:`rankwise.functional.losses`) are re-exported here. Each has a module
wrapper with the CamelCase name that only stores hyper-parameters and calls the
function; wrappers are registered by a short name for configs::

    from rankwise.losses import build_loss
    loss = build_loss({"name": "neural_ndcg", "params": {"temperature": 1.0, "k": 10}})
    value = loss(scores, labels, mask=mask)

``LOSSES`` maps names to classes; :func:`build_loss` checks the parameters against the
function's signature and names any unknown or misspelt one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from rankwise.functional._inputs import Reduction
from rankwise.functional.losses import (
    approx_metric_loss,
    approx_ndcg_loss,
    lambda_loss,
    listmle_loss,
    mse_loss,
    mw_loss,
    neural_ndcg_loss,
    ordinal_loss,
    pairwise_hinge_loss,
    pairwise_logistic_loss,
    pairwise_mse_loss,
    pairwise_qr_loss,
    pairwise_soft_zero_one_loss,
    pl_distillation_loss,
    poly1_softmax_loss,
    psl_loss,
    ranknet_loss,
    rcr_loss,
    sigmoid_bce_loss,
    sl_at_k_loss,
    softmax_loss,
    unique_softmax_loss,
)
from rankwise.registry import check_parameters, did_you_mean, keyword_only_parameters

LOSSES: dict[str, type[RankingLoss]] = {}
_CALL_ARGS = {"scores", "labels", "mask", "weights", "reduction", "generator", "teacher_scores"}


class RankingLoss(nn.Module):
    """Base class: stores hyper-parameters, forwards to a loss function."""

    name: ClassVar[str] = ""
    function: ClassVar[Callable[..., Tensor]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            LOSSES[cls.name] = cls

    def __init__(self, reduction: Reduction = "mean", **params: Any) -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be mean, sum or none")
        check_parameters(type(self).__name__, params, hyper_parameters(type(self).function))
        self.reduction = reduction
        self.params = dict(params)

    def forward(
        self,
        scores: Tensor,
        labels: Tensor,
        mask: Tensor | None = None,
        weights: Tensor | None = None,
        **call_args: Any,
    ) -> Tensor:
        fn = type(self).function
        return fn(
            scores,
            labels,
            mask=mask,
            weights=weights,
            reduction=self.reduction,
            **self.params,
            **call_args,
        )

    def extra_repr(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"reduction={self.reduction!r}" + (f", {items}" if items else "")


def hyper_parameters(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """Keyword parameters of a loss function other than the per-call tensors."""
    return keyword_only_parameters(fn, _CALL_ARGS)


def _wrapper(class_name: str, short: str, fn: Callable[..., Tensor]) -> type[RankingLoss]:
    cls = type(
        class_name,
        (RankingLoss,),
        {
            "name": short,
            "function": staticmethod(fn),
            "__doc__": f"Module form of :func:`{fn.__name__}`.\n\n" + (fn.__doc__ or ""),
        },
    )
    return cls


MSELoss = _wrapper("MSELoss", "mse", mse_loss)
SigmoidBCELoss = _wrapper("SigmoidBCELoss", "sigmoid_bce", sigmoid_bce_loss)
OrdinalLoss = _wrapper("OrdinalLoss", "ordinal", ordinal_loss)
RankNetLoss = _wrapper("RankNetLoss", "ranknet", ranknet_loss)
PairwiseLogisticLoss = _wrapper("PairwiseLogisticLoss", "pairwise_logistic", pairwise_logistic_loss)
PairwiseHingeLoss = _wrapper("PairwiseHingeLoss", "pairwise_hinge", pairwise_hinge_loss)
PairwiseSoftZeroOneLoss = _wrapper(
    "PairwiseSoftZeroOneLoss", "pairwise_soft_zero_one", pairwise_soft_zero_one_loss
)
PairwiseMSELoss = _wrapper("PairwiseMSELoss", "pairwise_mse", pairwise_mse_loss)
PairwiseQRLoss = _wrapper("PairwiseQRLoss", "pairwise_qr", pairwise_qr_loss)
MWLoss = _wrapper("MWLoss", "mw", mw_loss)
LambdaLoss = _wrapper("LambdaLoss", "lambda", lambda_loss)
SoftmaxLoss = _wrapper("SoftmaxLoss", "softmax", softmax_loss)
Poly1SoftmaxLoss = _wrapper("Poly1SoftmaxLoss", "poly1_softmax", poly1_softmax_loss)
UniqueSoftmaxLoss = _wrapper("UniqueSoftmaxLoss", "unique_softmax", unique_softmax_loss)
ListMLELoss = _wrapper("ListMLELoss", "listmle", listmle_loss)
ApproxNDCGLoss = _wrapper("ApproxNDCGLoss", "approx_ndcg", approx_ndcg_loss)
ApproxMetricLoss = _wrapper("ApproxMetricLoss", "approx_metric", approx_metric_loss)
NeuralNDCGLoss = _wrapper("NeuralNDCGLoss", "neural_ndcg", neural_ndcg_loss)
RCRLoss = _wrapper("RCRLoss", "rcr", rcr_loss)
PSLLoss = _wrapper("PSLLoss", "psl", psl_loss)
SLAtKLoss = _wrapper("SLAtKLoss", "sl_at_k", sl_at_k_loss)


class PLDistillationLoss(RankingLoss):
    """Module form of :func:`pl_distillation_loss`; pass ``teacher_scores`` when calling."""

    name = "pl_distillation"
    function = staticmethod(pl_distillation_loss)

    def forward(  # type: ignore[override]
        self,
        scores: Tensor,
        labels: Tensor | None = None,
        mask: Tensor | None = None,
        weights: Tensor | None = None,
        *,
        teacher_scores: Tensor,
    ) -> Tensor:
        return pl_distillation_loss(
            scores,
            teacher_scores,
            labels,
            mask=mask,
            weights=weights,
            reduction=self.reduction,
            **self.params,
        )


def build_loss(spec: str | Mapping[str, Any]) -> RankingLoss:
    """A loss module from ``"name"`` or ``{"name": ..., "params": {...}}`` (params are
    checked against the function's signature; unknown names get a suggestion)."""
    if isinstance(spec, str):
        name, params = spec, {}
    else:
        name = spec.get("name")  # type: ignore[assignment]
        params = dict(spec.get("params") or {})
    if name not in LOSSES:
        hint = did_you_mean(str(name), LOSSES)
        raise ValueError(f"unknown loss {name!r}{hint}; known: {sorted(LOSSES)}")
    reduction = params.pop("reduction", "mean")
    return LOSSES[name](reduction=reduction, **params)


__all__ = [
    "LOSSES",
    "ApproxMetricLoss",
    "ApproxNDCGLoss",
    "LambdaLoss",
    "ListMLELoss",
    "MSELoss",
    "MWLoss",
    "NeuralNDCGLoss",
    "OrdinalLoss",
    "PLDistillationLoss",
    "PSLLoss",
    "PairwiseHingeLoss",
    "PairwiseLogisticLoss",
    "PairwiseMSELoss",
    "PairwiseQRLoss",
    "PairwiseSoftZeroOneLoss",
    "Poly1SoftmaxLoss",
    "RCRLoss",
    "RankNetLoss",
    "RankingLoss",
    "SLAtKLoss",
    "SigmoidBCELoss",
    "SoftmaxLoss",
    "UniqueSoftmaxLoss",
    "approx_metric_loss",
    "approx_ndcg_loss",
    "build_loss",
    "hyper_parameters",
    "lambda_loss",
    "listmle_loss",
    "mse_loss",
    "mw_loss",
    "neural_ndcg_loss",
    "ordinal_loss",
    "pairwise_hinge_loss",
    "pairwise_logistic_loss",
    "pairwise_mse_loss",
    "pairwise_qr_loss",
    "pairwise_soft_zero_one_loss",
    "pl_distillation_loss",
    "poly1_softmax_loss",
    "psl_loss",
    "ranknet_loss",
    "rcr_loss",
    "sigmoid_bce_loss",
    "sl_at_k_loss",
    "softmax_loss",
    "unique_softmax_loss",
]

_ = torch  # torch is part of the public signature types

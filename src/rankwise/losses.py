"""Losses as ``nn.Module`` classes, and their registries.

Each class only stores hyper-parameters and calls its function from
:mod:`rankwise.functional` (``ListMLELoss`` calls :func:`~rankwise.functional.listmle_loss`);
its signature is the function's keyword parameters, and it is registered under the
function's name without ``_loss`` (``"listmle"``), the name a config uses. Three kinds,
by what the loss takes:

- :data:`LOSSES` (kind ``"loss"``): list losses, ``loss(scores [B, L], labels [B, L],
  mask=..., weights=...)``;
- :data:`EMBEDDING_LOSSES` (``"embedding_loss"``): losses on embeddings,
  ``loss(embeddings [N, D], labels [N])`` or ``loss(queries, keys)``;
- :data:`RECOMMENDATION_LOSSES` (``"recommendation_loss"``): losses on sampled-negative
  scores, ``loss(pos_scores [B], neg_scores [B, n])``.

Example:
    >>> import torch
    >>> from rankwise.losses import NeuralNDCGLoss
    >>> loss = NeuralNDCGLoss(temperature=1.0, k=10)
    >>> loss
    NeuralNDCGLoss(reduction='mean', temperature=1.0, k=10)
    >>> float(loss(torch.tensor([[2.0, 1.0]]), torch.tensor([[1.0, 0.0]]))) < 0
    True
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from rankwise import functional as F
from rankwise.functional._checks import REDUCTIONS, Reduction
from rankwise.registry import Registry, check_params, keyword_only_parameters

#: The list losses by name (kind ``"loss"``).
LOSSES: Registry[RankingLoss] = Registry("loss")
#: The embedding losses by name (kind ``"embedding_loss"``).
EMBEDDING_LOSSES: Registry[nn.Module] = Registry("embedding_loss")
#: The recommendation losses by name (kind ``"recommendation_loss"``).
RECOMMENDATION_LOSSES: Registry[RecommendationLoss] = Registry("recommendation_loss")


def _registry_name(fn: Callable[..., Any]) -> str:
    return fn.__name__.removesuffix("_loss")


def _signature(parameters: dict[str, inspect.Parameter]) -> inspect.Signature:
    return inspect.Signature(
        [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in parameters.values()]
    )


class _FunctionLoss(nn.Module):
    """Stores the hyper-parameters of :attr:`function`; subclasses forward to it."""

    function: ClassVar[Callable[..., Tensor]]
    registry: ClassVar[Registry[Any]]
    per_call: ClassVar[tuple[str, ...]] = ()  # arguments given on every call, not stored

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "function" in cls.__dict__:
            # The class's signature is its function's hyper-parameters, so that
            # inspect.signature, the registry's checks and IDEs show the real parameters.
            cls.__signature__ = _signature(cls.hyper_parameters())  # type: ignore[attr-defined]
            cls.registry.add(_registry_name(cls.function), cls)

    @classmethod
    def hyper_parameters(cls) -> dict[str, inspect.Parameter]:
        """The keyword parameters of :attr:`function` a module stores."""
        return keyword_only_parameters(cls.function, cls.per_call)

    def __init__(self, **params: Any) -> None:
        super().__init__()
        check_params(type(self).__name__, self.hyper_parameters(), params, where="parameters")
        self.params = dict(params)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.params.items())


class RankingLoss(_FunctionLoss):
    """Base of the list losses: ``forward(scores, labels, mask=None, weights=None, **per_call)``
    with ``reduction`` and the hyper-parameters fixed at construction."""

    registry = LOSSES
    per_call: ClassVar[tuple[str, ...]] = (
        "scores",
        "labels",
        "mask",
        "weights",
        "generator",
        "teacher_scores",
    )

    def __init__(self, reduction: Reduction = "mean", **params: Any) -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, got {reduction!r}"
            )
        super().__init__(**params)
        self.reduction = reduction

    @classmethod
    def hyper_parameters(cls) -> dict[str, inspect.Parameter]:
        """The function's keyword parameters a module stores, ``reduction`` first."""
        params = super().hyper_parameters()
        # reduction first, as in the constructor
        return {"reduction": params.pop("reduction"), **params}

    def forward(
        self,
        scores: Tensor,
        labels: Tensor,
        mask: Tensor | None = None,
        weights: Tensor | None = None,
        **per_call: Any,
    ) -> Tensor:
        return type(self).function(
            scores,
            labels,
            mask=mask,
            weights=weights,
            reduction=self.reduction,
            **self.params,
            **per_call,
        )

    def extra_repr(self) -> str:
        items = super().extra_repr()
        return f"reduction={self.reduction!r}" + (f", {items}" if items else "")


class EmbeddingLoss(_FunctionLoss):
    """Base of the embedding losses: ``forward(*inputs, **per_call)``."""

    registry = EMBEDDING_LOSSES
    per_call: ClassVar[tuple[str, ...]] = ("positives", "triplets")

    def forward(self, *inputs: Tensor, **per_call: Any) -> Tensor:
        return type(self).function(*inputs, **self.params, **per_call)


class RecommendationLoss(_FunctionLoss):
    """Base of the recommendation losses: ``forward(pos_scores [B], neg_scores [B, n],
    **per_call)`` (``neg_mask``, ``log_q_pos``, ``log_q_neg`` per call)."""

    registry = RECOMMENDATION_LOSSES
    per_call: ClassVar[tuple[str, ...]] = ("neg_mask", "log_q_pos", "log_q_neg")

    def forward(self, pos_scores: Tensor, neg_scores: Tensor, **per_call: Any) -> Tensor:
        return type(self).function(pos_scores, neg_scores, **self.params, **per_call)


# ------------------------------------------------------------------------ list losses
class MSELoss(RankingLoss):
    """Module form of :func:`rankwise.functional.mse_loss`."""

    function = staticmethod(F.mse_loss)


class SigmoidBCELoss(RankingLoss):
    """Module form of :func:`rankwise.functional.sigmoid_bce_loss`."""

    function = staticmethod(F.sigmoid_bce_loss)


class OrdinalLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.ordinal_loss`."""

    function = staticmethod(F.ordinal_loss)


class RankNetLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.ranknet_loss`."""

    function = staticmethod(F.ranknet_loss)


class PairwiseLogisticLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.pairwise_logistic_loss`."""

    function = staticmethod(F.pairwise_logistic_loss)


class PairwiseHingeLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.pairwise_hinge_loss`."""

    function = staticmethod(F.pairwise_hinge_loss)


class PairwiseSoftZeroOneLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.pairwise_soft_zero_one_loss`."""

    function = staticmethod(F.pairwise_soft_zero_one_loss)


class PairwiseMSELoss(RankingLoss):
    """Module form of :func:`rankwise.functional.pairwise_mse_loss`."""

    function = staticmethod(F.pairwise_mse_loss)


class PairwiseQRLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.pairwise_qr_loss`."""

    function = staticmethod(F.pairwise_qr_loss)


class MWLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.mw_loss`."""

    function = staticmethod(F.mw_loss)


class LambdaLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.lambda_loss`."""

    function = staticmethod(F.lambda_loss)


class SoftmaxLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.softmax_loss`."""

    function = staticmethod(F.softmax_loss)


class Poly1SoftmaxLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.poly1_softmax_loss`."""

    function = staticmethod(F.poly1_softmax_loss)


class UniqueSoftmaxLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.unique_softmax_loss`."""

    function = staticmethod(F.unique_softmax_loss)


class ListMLELoss(RankingLoss):
    """Module form of :func:`rankwise.functional.listmle_loss`."""

    function = staticmethod(F.listmle_loss)


class ApproxNDCGLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.approx_ndcg_loss`."""

    function = staticmethod(F.approx_ndcg_loss)


class ApproxMetricLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.approx_metric_loss`."""

    function = staticmethod(F.approx_metric_loss)


class NeuralNDCGLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.neural_ndcg_loss`."""

    function = staticmethod(F.neural_ndcg_loss)


class RCRLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.rcr_loss`."""

    function = staticmethod(F.rcr_loss)


class PSLLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.psl_loss`."""

    function = staticmethod(F.psl_loss)


class SLAtKLoss(RankingLoss):
    """Module form of :func:`rankwise.functional.sl_at_k_loss`."""

    function = staticmethod(F.sl_at_k_loss)


class DistillationLoss(RankingLoss):
    """Base of the distillation losses: pass ``teacher_scores`` [B, L] when calling
    (``labels`` may be None)."""

    def forward(  # type: ignore[override]
        self,
        scores: Tensor,
        labels: Tensor | None = None,
        mask: Tensor | None = None,
        weights: Tensor | None = None,
        *,
        teacher_scores: Tensor,
    ) -> Tensor:
        return type(self).function(
            scores,
            teacher_scores,
            labels,
            mask=mask,
            weights=weights,
            reduction=self.reduction,
            **self.params,
        )


class PLDistillationLoss(DistillationLoss):
    """Module form of :func:`rankwise.functional.pl_distillation_loss`."""

    function = staticmethod(F.pl_distillation_loss)


class MarginMSELoss(DistillationLoss):
    """Module form of :func:`rankwise.functional.margin_mse_loss`."""

    function = staticmethod(F.margin_mse_loss)


class KLDistillationLoss(DistillationLoss):
    """Module form of :func:`rankwise.functional.kl_distillation_loss`."""

    function = staticmethod(F.kl_distillation_loss)


# ------------------------------------------------------------------- embedding losses
class MultiSimilarityLoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.multi_similarity_loss`."""

    function = staticmethod(F.multi_similarity_loss)


class CircleLoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.circle_loss`."""

    function = staticmethod(F.circle_loss)


class CirclePairLoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.circle_pair_loss` (pass ``pos_mask`` and
    ``neg_mask`` when calling)."""

    function = staticmethod(F.circle_pair_loss)
    per_call: ClassVar[tuple[str, ...]] = ("pos_mask", "neg_mask")


class TripletMarginLoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.triplet_margin_loss`."""

    function = staticmethod(F.triplet_margin_loss)


class ContrastiveLoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.contrastive_loss`."""

    function = staticmethod(F.contrastive_loss)


class NTXentLoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.nt_xent_loss`."""

    function = staticmethod(F.nt_xent_loss)


class SupConLoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.supcon_loss`."""

    function = staticmethod(F.supcon_loss)


class InfoNCELoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.info_nce_loss`."""

    function = staticmethod(F.info_nce_loss)


class TiledInfoNCELoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.tiled_info_nce_loss`."""

    function = staticmethod(F.tiled_info_nce_loss)


class AlignmentLoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.alignment_loss`."""

    function = staticmethod(F.alignment_loss)


class UniformityLoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.uniformity_loss`."""

    function = staticmethod(F.uniformity_loss)


class DispersiveLoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.dispersive_loss`."""

    function = staticmethod(F.dispersive_loss)


class ContextualSimilarityLoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.contextual_similarity_loss`."""

    function = staticmethod(F.contextual_similarity_loss)


class ProtoTripletLoss(EmbeddingLoss):
    """Module form of :func:`rankwise.functional.proto_triplet_loss`:
    ``loss(support, support_labels, query, query_labels)``."""

    function = staticmethod(F.proto_triplet_loss)


class SigLIPLoss(nn.Module):
    """SigLIP's sigmoid loss with a learnable log-temperature and bias
    (:func:`rankwise.functional.siglip_loss`; initial values log 10 and -10, the paper's)."""

    def __init__(
        self,
        init_log_temperature: float = math.log(10.0),
        init_bias: float = -10.0,
        normalize: bool = True,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__()
        self.log_temperature = nn.Parameter(torch.tensor(float(init_log_temperature)))
        self.bias = nn.Parameter(torch.tensor(float(init_bias)))
        self.normalize = normalize
        self.reduction = reduction

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return F.siglip_loss(
            x,
            y,
            log_temperature=self.log_temperature,
            bias=self.bias,
            normalize=self.normalize,
            reduction=self.reduction,
        )


EMBEDDING_LOSSES.add("siglip", SigLIPLoss)


# -------------------------------------------------------------- recommendation losses
class BPRLoss(RecommendationLoss):
    """Module form of :func:`rankwise.functional.bpr_loss`."""

    function = staticmethod(F.bpr_loss)


class SampledSoftmaxLoss(RecommendationLoss):
    """Module form of :func:`rankwise.functional.sampled_softmax_loss`."""

    function = staticmethod(F.sampled_softmax_loss)


class CCLLoss(RecommendationLoss):
    """Module form of :func:`rankwise.functional.ccl_loss`."""

    function = staticmethod(F.ccl_loss)


class PSLRecommendationLoss(RecommendationLoss):
    """Module form of :func:`rankwise.functional.psl_recommendation_loss`."""

    function = staticmethod(F.psl_recommendation_loss)


class SLAtKRecommendationLoss(RecommendationLoss):
    """Module form of :func:`rankwise.functional.sl_at_k_recommendation_loss`."""

    function = staticmethod(F.sl_at_k_recommendation_loss)


__all__ = [
    "EMBEDDING_LOSSES",
    "LOSSES",
    "RECOMMENDATION_LOSSES",
    "AlignmentLoss",
    "ApproxMetricLoss",
    "ApproxNDCGLoss",
    "BPRLoss",
    "CCLLoss",
    "CircleLoss",
    "CirclePairLoss",
    "ContextualSimilarityLoss",
    "ContrastiveLoss",
    "DispersiveLoss",
    "DistillationLoss",
    "EmbeddingLoss",
    "InfoNCELoss",
    "KLDistillationLoss",
    "LambdaLoss",
    "ListMLELoss",
    "MSELoss",
    "MWLoss",
    "MarginMSELoss",
    "MultiSimilarityLoss",
    "NTXentLoss",
    "NeuralNDCGLoss",
    "OrdinalLoss",
    "PLDistillationLoss",
    "PSLLoss",
    "PSLRecommendationLoss",
    "PairwiseHingeLoss",
    "PairwiseLogisticLoss",
    "PairwiseMSELoss",
    "PairwiseQRLoss",
    "PairwiseSoftZeroOneLoss",
    "Poly1SoftmaxLoss",
    "ProtoTripletLoss",
    "RCRLoss",
    "RankNetLoss",
    "RankingLoss",
    "RecommendationLoss",
    "SLAtKLoss",
    "SLAtKRecommendationLoss",
    "SampledSoftmaxLoss",
    "SigLIPLoss",
    "SigmoidBCELoss",
    "SoftmaxLoss",
    "SupConLoss",
    "TiledInfoNCELoss",
    "TripletMarginLoss",
    "UniformityLoss",
    "UniqueSoftmaxLoss",
]

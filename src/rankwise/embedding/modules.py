"""Registered ``nn.Module`` forms of the embedding losses, built by name like the list losses.

    from rankwise.embedding import build_embedding_loss
    loss = build_embedding_loss({"name": "multi_similarity", "params": {"alpha": 2.0}})
    value = loss(embeddings, labels)

Each module stores hyper-parameters (checked against the function's signature, with a
suggestion for a misspelt name) and forwards its positional inputs to the function.
:class:`SigLIPLoss` also owns SigLIP's learnable temperature and bias.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from rankwise.embedding import losses as F
from rankwise.embedding import recommendation as R
from rankwise.embedding.tiled import tiled_info_nce_loss
from rankwise.registry import Registry, check_parameters, keyword_only_parameters

EMBEDDING_LOSSES: Registry[nn.Module] = Registry("embedding loss")


# inputs passed on every call, never stored as hyper-parameters
_PER_CALL = ("positives", "triplets", "neg_mask", "log_q_pos", "log_q_neg")


class EmbeddingLoss(nn.Module):
    """Stores a loss function's hyper-parameters; ``forward(*inputs, **per_call)``."""

    function: Callable[..., Tensor]

    def __init__(self, **params: Any) -> None:
        super().__init__()
        allowed = keyword_only_parameters(type(self).function, _PER_CALL)
        check_parameters(type(self).__name__, params, allowed)
        self.params = dict(params)

    def forward(self, *inputs: Tensor, **per_call: Any) -> Tensor:
        return type(self).function(*inputs, **self.params, **per_call)


def _register(name: str, fn: Callable[..., Tensor]) -> type[EmbeddingLoss]:
    class_name = "".join(part.title() for part in name.split("_")) + "Loss"
    cls = type(
        class_name,
        (EmbeddingLoss,),
        {"function": staticmethod(fn), "__doc__": f"Module form of :func:`{fn.__name__}`."},
    )
    EMBEDDING_LOSSES.register(name)(cls)
    return cls


MultiSimilarityLoss = _register("multi_similarity", F.multi_similarity_loss)
CircleLoss = _register("circle", F.circle_loss)
CirclePairLoss = _register("circle_pair", F.circle_pair_loss)
TripletMarginLoss = _register("triplet_margin", F.triplet_margin_loss)
ContrastiveLoss = _register("contrastive", F.contrastive_loss)
NTXentLoss = _register("nt_xent", F.nt_xent_loss)
SupConLoss = _register("supcon", F.supcon_loss)
InfoNCELoss = _register("info_nce", F.info_nce_loss)
TiledInfoNCELoss = _register("tiled_info_nce", tiled_info_nce_loss)
AlignmentLoss = _register("alignment", F.alignment_loss)
UniformityLoss = _register("uniformity", F.uniformity_loss)
DispersiveLoss = _register("dispersive", F.dispersive_loss)
ContextualSimilarityLoss = _register("contextual_similarity", F.contextual_similarity_loss)
ProtoTripletLoss = _register("proto_triplet", F.proto_triplet_loss)
BPRLoss = _register("bpr", R.bpr_loss)
SampledSoftmaxLoss = _register("sampled_softmax", R.sampled_softmax_loss)
CCLLoss = _register("ccl", R.ccl_loss)
PSLRecommendationLoss = _register("psl_recommendation", R.psl_recommendation_loss)
SLAtKRecommendationLoss = _register("sl_at_k_recommendation", R.sl_at_k_recommendation_loss)


@EMBEDDING_LOSSES.register("siglip")
class SigLIPLoss(nn.Module):
    """SigLIP's sigmoid loss with a learnable log-temperature and bias
    (:func:`~rankwise.embedding.siglip_loss`; initial values log 10 and -10, the paper's)."""

    def __init__(
        self,
        init_log_temperature: float = math.log(10.0),
        init_bias: float = -10.0,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        self.log_temperature = nn.Parameter(torch.tensor(float(init_log_temperature)))
        self.bias = nn.Parameter(torch.tensor(float(init_bias)))
        self.normalize = normalize

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return F.siglip_loss(
            x, y, log_temperature=self.log_temperature, bias=self.bias, normalize=self.normalize
        )


def build_embedding_loss(spec: str | Mapping[str, Any]) -> nn.Module:
    """An embedding-loss module from ``"name"`` or ``{"name": ..., "params": {...}}``."""
    if isinstance(spec, str):
        name, params = spec, {}
    else:
        name, params = str(spec.get("name")), dict(spec.get("params") or {})
    return EMBEDDING_LOSSES.get(name)(**params)

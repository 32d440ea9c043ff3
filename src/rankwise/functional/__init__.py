"""Pure tensor functions, like :mod:`torch.nn.functional`: every ranking loss, embedding
and recommendation loss, rank-based metric, calibration and fairness measure, and
differentiable sorting operator of rankwise.

Nothing here holds state or reads configuration: device and dtype come from the inputs,
randomness from a ``generator`` argument. The ``nn.Module`` forms of the losses and their
registries are in :mod:`rankwise.losses`; metric strings, accumulation over batches and
significance tests in :mod:`rankwise.metrics`.

Conventions shared by every list function (``docs/architecture.md`` has the whole
contract): ``scores`` [B, L] (higher is better), ``labels`` [B, L] graded relevance >= 0,
``mask`` [B, L] bool with True = real item, ``weights`` [B] per list or [B, L] per item,
``reduction`` one of ``"mean"``, ``"sum"``, ``"none"`` (one value per list).
"""

from rankwise.functional._calibration import brier_score, expected_calibration_error, log_loss
from rankwise.functional._embedding.losses import (
    alignment_loss,
    circle_loss,
    circle_pair_loss,
    contextual_similarity,
    contextual_similarity_loss,
    contrastive_loss,
    dispersive_loss,
    info_nce_loss,
    multi_similarity_loss,
    nt_xent_loss,
    proto_triplet_loss,
    siglip_loss,
    supcon_loss,
    triplet_margin_loss,
    uniformity_loss,
)
from rankwise.functional._embedding.mining import (
    all_triplets,
    mine_triplets,
    multi_similarity_mining,
)
from rankwise.functional._embedding.recommendation import (
    bpr_loss,
    ccl_loss,
    psl_recommendation_loss,
    sampled_softmax_loss,
    sl_at_k_recommendation_loss,
)
from rankwise.functional._embedding.similarity import closeness, label_masks
from rankwise.functional._embedding.tiled import tiled_info_nce_loss
from rankwise.functional._fairness import exposure_disparity, rkl, rnd, rrd
from rankwise.functional._losses.approx import approx_metric_loss, approx_ndcg_loss, smooth_cutoff
from rankwise.functional._losses.lambda_loss import lambda_loss
from rankwise.functional._losses.listwise import (
    kl_distillation_loss,
    listmle_loss,
    margin_mse_loss,
    pl_distillation_loss,
    poly1_softmax_loss,
    psl_loss,
    rcr_loss,
    sl_at_k_loss,
    softmax_loss,
    unique_softmax_loss,
)
from rankwise.functional._losses.neural_ndcg import neural_ndcg_loss
from rankwise.functional._losses.pairwise import (
    mw_loss,
    pairwise_hinge_loss,
    pairwise_logistic_loss,
    pairwise_mse_loss,
    pairwise_qr_loss,
    pairwise_soft_zero_one_loss,
    ranknet_loss,
)
from rankwise.functional._losses.pointwise import mse_loss, ordinal_loss, sigmoid_bce_loss
from rankwise.functional._metrics import (
    auc,
    average_precision,
    dcg,
    err,
    hits,
    ndcg,
    pair_accuracy,
    precision,
    preference_accuracy,
    r_precision,
    recall,
    reciprocal_rank,
)
from rankwise.functional._soft_sorting import (
    neural_sort,
    sinkhorn,
    soft_rank,
    soft_sort,
    sorting_network,
)

__all__ = [
    "alignment_loss",
    "all_triplets",
    "approx_metric_loss",
    "approx_ndcg_loss",
    "auc",
    "average_precision",
    "bpr_loss",
    "brier_score",
    "ccl_loss",
    "circle_loss",
    "circle_pair_loss",
    "closeness",
    "contextual_similarity",
    "contextual_similarity_loss",
    "contrastive_loss",
    "dcg",
    "dispersive_loss",
    "err",
    "expected_calibration_error",
    "exposure_disparity",
    "hits",
    "info_nce_loss",
    "kl_distillation_loss",
    "label_masks",
    "lambda_loss",
    "listmle_loss",
    "log_loss",
    "margin_mse_loss",
    "mine_triplets",
    "mse_loss",
    "multi_similarity_loss",
    "multi_similarity_mining",
    "mw_loss",
    "ndcg",
    "neural_ndcg_loss",
    "neural_sort",
    "nt_xent_loss",
    "ordinal_loss",
    "pair_accuracy",
    "pairwise_hinge_loss",
    "pairwise_logistic_loss",
    "pairwise_mse_loss",
    "pairwise_qr_loss",
    "pairwise_soft_zero_one_loss",
    "pl_distillation_loss",
    "poly1_softmax_loss",
    "precision",
    "preference_accuracy",
    "proto_triplet_loss",
    "psl_loss",
    "psl_recommendation_loss",
    "r_precision",
    "ranknet_loss",
    "rcr_loss",
    "recall",
    "reciprocal_rank",
    "rkl",
    "rnd",
    "rrd",
    "sampled_softmax_loss",
    "siglip_loss",
    "sigmoid_bce_loss",
    "sinkhorn",
    "sl_at_k_loss",
    "sl_at_k_recommendation_loss",
    "smooth_cutoff",
    "soft_rank",
    "soft_sort",
    "softmax_loss",
    "sorting_network",
    "supcon_loss",
    "tiled_info_nce_loss",
    "triplet_margin_loss",
    "uniformity_loss",
    "unique_softmax_loss",
]

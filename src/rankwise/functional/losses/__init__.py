"""Ranking losses as pure functions: ``loss(scores, labels, *, mask, weights, reduction, ...)``."""

from rankwise.functional.losses.approx import approx_metric_loss, approx_ndcg_loss, smooth_cutoff
from rankwise.functional.losses.lambda_loss import lambda_loss
from rankwise.functional.losses.lambdaweights import SCHEMES as LAMBDA_WEIGHTINGS
from rankwise.functional.losses.listwise import (
    listmle_loss,
    pl_distillation_loss,
    poly1_softmax_loss,
    psl_loss,
    rcr_loss,
    sl_at_k_loss,
    softmax_loss,
    unique_softmax_loss,
)
from rankwise.functional.losses.neural_ndcg import neural_ndcg_loss
from rankwise.functional.losses.pairwise import (
    mw_loss,
    pairwise_hinge_loss,
    pairwise_logistic_loss,
    pairwise_mse_loss,
    pairwise_qr_loss,
    pairwise_soft_zero_one_loss,
    ranknet_loss,
)
from rankwise.functional.losses.pointwise import mse_loss, ordinal_loss, sigmoid_bce_loss

__all__ = [
    "LAMBDA_WEIGHTINGS",
    "approx_metric_loss",
    "approx_ndcg_loss",
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
    "smooth_cutoff",
    "softmax_loss",
    "unique_softmax_loss",
]

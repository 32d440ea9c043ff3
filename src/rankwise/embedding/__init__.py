"""Embedding-space ranking: metric-learning, contrastive and recommendation losses,
retrieval evaluation and representation diagnostics."""

from rankwise.embedding.distributed import (
    all_gather_with_grad,
    ddp_loss_scale,
    gather_embeddings,
    world_size,
)
from rankwise.embedding.losses import (
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
from rankwise.embedding.mining import all_triplets, mine_triplets, multi_similarity_mining
from rankwise.embedding.modules import EMBEDDING_LOSSES, SigLIPLoss, build_embedding_loss
from rankwise.embedding.recommendation import (
    bpr_loss,
    ccl_loss,
    psl_recommendation_loss,
    sampled_softmax_loss,
    sl_at_k_recommendation_loss,
)
from rankwise.embedding.retrieval import effective_rank, retrieval_metrics, stable_rank
from rankwise.embedding.similarity import closeness, label_masks
from rankwise.embedding.tiled import tiled_info_nce_loss

__all__ = [
    "EMBEDDING_LOSSES",
    "SigLIPLoss",
    "alignment_loss",
    "all_gather_with_grad",
    "all_triplets",
    "bpr_loss",
    "build_embedding_loss",
    "ccl_loss",
    "circle_loss",
    "circle_pair_loss",
    "closeness",
    "contextual_similarity",
    "contextual_similarity_loss",
    "contrastive_loss",
    "ddp_loss_scale",
    "dispersive_loss",
    "effective_rank",
    "gather_embeddings",
    "info_nce_loss",
    "label_masks",
    "mine_triplets",
    "multi_similarity_loss",
    "multi_similarity_mining",
    "nt_xent_loss",
    "proto_triplet_loss",
    "psl_recommendation_loss",
    "retrieval_metrics",
    "sampled_softmax_loss",
    "siglip_loss",
    "sl_at_k_recommendation_loss",
    "stable_rank",
    "supcon_loss",
    "tiled_info_nce_loss",
    "triplet_margin_loss",
    "uniformity_loss",
    "world_size",
]

"""Full-ranking evaluation of recommendations.

The usual protocol for MovieLens 100K in BPR- and SimpleX-style work: a user's test
items are ranked against *all* items the user did not interact with in training (no
sampled evaluation; training items are masked out, not scored low), and Recall@K and
NDCG@K (linear gain on binary labels) are averaged over the users with at least one test
item, with rankwise's metrics and their default tie convention (average).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rankwise.data.interactions import Interactions
from rankwise.functional import ndcg, recall


def full_ranking_metrics(data: Interactions, scores: Tensor, k: int = 20) -> dict[str, float]:
    """``{"recall@k", "ndcg@k", "users"}`` of ``scores`` [U, I] on ``data.test`` (module
    docstring)."""
    scores = scores.detach().cpu()
    labels = torch.zeros(data.num_users, data.num_items)
    labels[data.test[:, 0], data.test[:, 1]] = 1.0
    mask = torch.ones(data.num_users, data.num_items, dtype=torch.bool)
    mask[data.train[:, 0], data.train[:, 1]] = False
    has_test = labels.sum(1) > 0
    s, y, m = scores[has_test].to(torch.float32), labels[has_test], mask[has_test]
    return {
        f"recall@{k}": float(recall(s, y, mask=m, k=k, empty="skip")),
        f"ndcg@{k}": float(ndcg(s, y, mask=m, k=k, gain="linear", empty="skip")),
        "users": float(has_test.sum()),
    }

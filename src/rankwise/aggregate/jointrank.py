"""JointRank: rank a candidate set larger than a listwise ranker's input in one pass.

"JointRank: Rank Large Sets with Single Queries" (2025; reference code V3RGANz/jointrank):
split the ``n`` candidates into overlapping blocks of ``block_size`` items, let a listwise
ranker order every block (the calls are independent, so they run in parallel), read each
block's order as implicit pairwise comparisons (every item beats every item below it in
the block), and aggregate those into one global ranking by win rate or PageRank (the paper's two
aggregators), or Bradley-Terry (all from :mod:`rankwise.aggregate.pairwise`).

The block design decides which pairs are ever compared:

- ``"sliding"``: windows of ``block_size`` over an initial order with stride
  ``block_size // 2``; any two items within ``block_size // 2`` positions of each other in
  the initial order share a block (the last window is aligned to the end).
- ``"random"``: ``replication`` independent random partitions into blocks (the last block
  of a partition is filled up with random other items), so every item appears in at least
  ``replication`` blocks and the comparison graph connects with high probability.

Win rate and PageRank need a design that mixes the whole set (``"random"``): on a
sliding design every window has its own winners, whose win rates are not comparable
across windows. Only Bradley-Terry chains the local orders into a global one there
(measured, 200 items, window 20 over a first-stage order of Kendall tau 0.70 with the
truth: Bradley-Terry 0.92, PageRank 0.37, win rate 0.33).

Cost: ``ceil(n / stride)`` (sliding) or ``replication * ceil(n / block_size)`` (random)
ranker calls, each on ``block_size`` items; aggregation is ``O(#blocks * block_size^2)``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from rankwise.aggregate.pairwise import (
    FloatArray,
    Generator,
    IntArray,
    as_generator,
    bradley_terry,
    order_from_scores,
    pagerank,
    win_rate,
)

BlockRanker = Callable[[IntArray], npt.ArrayLike]


def block_design(
    n: int,
    block_size: int,
    *,
    design: Literal["sliding", "random"] = "sliding",
    replication: int = 2,
    order: npt.ArrayLike | None = None,
    generator: Generator = None,
) -> list[IntArray]:
    """Overlapping blocks of item ids covering ``0 .. n-1`` (see the module docstring)."""
    if block_size < 2:
        raise ValueError(f"block_design: block_size must be >= 2, got {block_size}")
    if n <= block_size:
        return [np.arange(n, dtype=np.int64)]
    if design == "sliding":
        o = np.arange(n, dtype=np.int64) if order is None else np.asarray(order, dtype=np.int64)
        if sorted(o.tolist()) != list(range(n)):
            raise ValueError("block_design: order must be a permutation of 0 .. n-1")
        stride = max(block_size // 2, 1)
        starts = [*range(0, n - block_size, stride), n - block_size]
        return [o[s : s + block_size] for s in starts]
    if design == "random":
        if replication < 1:
            raise ValueError(f"block_design: replication must be >= 1, got {replication}")
        rng = as_generator(generator)
        blocks = []
        for _ in range(replication):
            perm = rng.permutation(n)
            for s in range(0, n, block_size):
                block = perm[s : s + block_size]
                if block.size < block_size:  # fill the short last block with other items
                    others = np.setdiff1d(np.arange(n), block)
                    block = np.concatenate(
                        [block, rng.choice(others, block_size - block.size, replace=False)]
                    )
                blocks.append(block.astype(np.int64))
        return blocks
    raise ValueError(f"block_design: design must be 'sliding' or 'random', got {design!r}")


def implicit_pairs(
    blocks: list[IntArray], block_scores: list[FloatArray]
) -> tuple[IntArray, FloatArray]:
    """Pairwise outcomes implied by ranked blocks: within a block, ``(i, j)`` with
    outcome 1 if ``i`` scored higher, 0.5 if equal. ``b(b-1)/2`` pairs per block."""
    pairs, outcomes = [], []
    for block, scores in zip(blocks, block_scores, strict=True):
        i, j = np.triu_indices(block.size, k=1)
        pairs.append(np.stack([block[i], block[j]], axis=1))
        diff = scores[i] - scores[j]
        outcomes.append(np.where(diff > 0, 1.0, np.where(diff < 0, 0.0, 0.5)))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    return np.concatenate(pairs).astype(np.int64), np.concatenate(outcomes)


@dataclass
class JointRanking:
    """Result of :func:`joint_rank`."""

    order: IntArray  # items, best first
    scores: FloatArray  # aggregate score per item
    blocks: list[IntArray]
    ranker_calls: int
    comparisons: int  # implicit pairwise comparisons derived from the blocks


def joint_rank(
    n: int,
    ranker: BlockRanker,
    *,
    block_size: int,
    design: Literal["sliding", "random"] = "random",
    replication: int = 2,
    aggregator: Literal["win_rate", "pagerank", "bradley_terry"] = "pagerank",
    prior: float = 0.01,
    order: npt.ArrayLike | None = None,
    workers: int = 1,
    generator: Generator = None,
) -> JointRanking:
    """Rank ``n`` candidates with a listwise ``ranker`` that sees ``block_size`` at a time.

    ``ranker(items)`` gets an int array of item ids and returns one score per item (higher
    is better); it is called once per block, on ``workers`` threads. ``order`` is the
    initial ranking the ``"sliding"`` design walks along. ``prior`` is Bradley-Terry's
    virtual comparisons per item (small: the implicit comparisons are many). Ties of the
    aggregate score are broken by item id.
    """
    if aggregator not in ("win_rate", "pagerank", "bradley_terry"):
        raise ValueError(
            "joint_rank: aggregator must be 'win_rate', 'pagerank' or 'bradley_terry', "
            f"got {aggregator!r}"
        )
    if workers < 1:
        raise ValueError(f"joint_rank: workers must be >= 1, got {workers}")
    blocks = block_design(
        n, block_size, design=design, replication=replication, order=order, generator=generator
    )

    def rank_block(block: IntArray) -> FloatArray:
        scores = np.asarray(ranker(block), dtype=np.float64).reshape(-1)
        if scores.shape != block.shape:
            raise ValueError(f"ranker returned {scores.size} scores for a block of {block.size}")
        return scores

    if workers == 1:
        block_scores = [rank_block(b) for b in blocks]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            block_scores = list(pool.map(rank_block, blocks))
    pairs, outcomes = implicit_pairs(blocks, block_scores)
    if aggregator == "bradley_terry":
        scores = bradley_terry(n, pairs, outcomes, prior=prior)
    else:
        scores = (win_rate if aggregator == "win_rate" else pagerank)(n, pairs, outcomes)
    return JointRanking(order_from_scores(scores), scores, blocks, len(blocks), len(pairs))

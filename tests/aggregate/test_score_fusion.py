"""Run fusion: hand-derived values of every normalization and fusion method, padding and
permutation invariance, TREC runs, weight tuning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rankwise.aggregate import FUSION_METHODS, NORMALIZATIONS, fuse, normalize_scores
from rankwise.runs import fuse_runs, stack_runs, tune_run_weights, tune_weights, weight_grid
from rankwise.runs.trec import TrecRun

# Two runs over items a, b, c, d of one list. Run 1 retrieved a=3, b=2, c=1 (not d);
# run 2 retrieved b=10, d=5, a=0 (not c).
SCORES = torch.tensor([[[3.0, 2.0, 1.0, 0.0]], [[0.0, 10.0, 0.0, 5.0]]], dtype=torch.float64)
MASK = torch.tensor([[[True, True, True, False]], [[True, True, False, True]]])


def fused(method: str, **kw: object) -> list[float]:
    out, union = fuse(SCORES, mask=MASK, method=method, **kw)  # type: ignore[arg-type]
    assert union.all()
    return out[0].tolist()


def test_score_fusion_hand_values() -> None:
    # min-max: run 1 -> a 1, b .5, c 0; run 2 -> b 1, d .5, a 0
    assert fused("comb_sum") == pytest.approx([1.0, 1.5, 0.0, 0.5])
    assert fused("comb_mnz") == pytest.approx([2.0, 3.0, 0.0, 0.5])
    assert fused("comb_max") == pytest.approx([1.0, 1.0, 0.0, 0.5])
    assert fused("weighted_sum", weights=[0.25, 0.75]) == pytest.approx([0.25, 0.875, 0.0, 0.375])


def test_rank_fusion_hand_values() -> None:
    # ranks: run 1 a1 b2 c3; run 2 b1 d2 a3
    expected = [1 / 61 + 1 / 63, 1 / 62 + 1 / 61, 1 / 63, 1 / 62]
    assert fused("rrf") == pytest.approx(expected)
    assert fused("rrf", k=0.0) == pytest.approx([1 + 1 / 3, 1 / 2 + 1, 1 / 3, 1 / 2])
    # Borda, |C| = 4: run 1 gives a 4, b 3, c 2 and d (4 - 3 + 1) / 2 = 1;
    # run 2 gives b 4, d 3, a 2 and c 1.
    assert fused("borda") == pytest.approx([6.0, 7.0, 3.0, 4.0])
    assert fused("borda", weights=[1.0, 0.0]) == pytest.approx([4.0, 3.0, 2.0, 1.0])


def test_normalizations_hand_values() -> None:
    s = torch.tensor([3.0, 2.0, 1.0, 7.0], dtype=torch.float64)
    m = torch.tensor([True, True, True, False])
    z = 1 / math.sqrt(2 / 3)
    cases = {
        "none": [3.0, 2.0, 1.0],
        "min_max": [1.0, 0.5, 0.0],
        "max": [1.0, 2 / 3, 1 / 3],
        "sum": [2 / 3, 1 / 3, 0.0],
        "z_score": [z, 0.0, -z],
        "rank": [1.0, 2 / 3, 1 / 3],
    }
    assert set(cases) == set(NORMALIZATIONS)
    for method, expected in cases.items():
        out = normalize_scores(s, mask=m, method=method)  # type: ignore[arg-type]
        assert out[:3].tolist() == pytest.approx(expected), method
        assert out[3] == 0.0  # masked positions come back as 0


def test_constant_scores_normalize_to_documented_values() -> None:
    s = torch.full((3,), 2.0)
    assert normalize_scores(s, method="min_max").tolist() == [1.0, 1.0, 1.0]
    assert normalize_scores(s, method="sum").tolist() == pytest.approx([1 / 3] * 3)
    assert normalize_scores(s, method="z_score").tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("method", FUSION_METHODS)
def test_padding_and_item_order_do_not_change_fused_values(method: str) -> None:
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(3, 4, 6, generator=g, dtype=torch.float64)
    mask = torch.rand(3, 4, 6, generator=g) > 0.3
    weights = [0.2, 0.3, 0.5]
    base, union = fuse(scores, mask=mask, method=method, weights=weights)  # type: ignore[arg-type]
    padded_scores = torch.cat([scores, torch.full((3, 4, 2), 99.0, dtype=torch.float64)], -1)
    padded_mask = torch.cat([mask, torch.zeros(3, 4, 2, dtype=torch.bool)], -1)
    padded, _ = fuse(padded_scores, mask=padded_mask, method=method, weights=weights)  # type: ignore[arg-type]
    torch.testing.assert_close(padded[:, :6], base)
    perm = torch.randperm(6, generator=g)
    shuffled, _ = fuse(scores[..., perm], mask=mask[..., perm], method=method, weights=weights)  # type: ignore[arg-type]
    torch.testing.assert_close(shuffled, base[:, perm])  # continuous scores: no ties
    assert (base[~union] == 0).all()


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match=r"weighted_sum.*weights"):
        fuse(SCORES, mask=MASK, method="weighted_sum")
    with pytest.raises(ValueError, match="3 weights given for 2 runs"):
        fuse(SCORES, mask=MASK, weights=[1, 1, 1])
    with pytest.raises(ValueError, match="method must be one of"):
        fuse(SCORES, method="combsum")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mask shape"):
        fuse(SCORES, mask=torch.ones(2, 1, 3, dtype=torch.bool))


def run(rows: list[tuple[str, str, float]], tag: str) -> TrecRun:
    return TrecRun(
        qids=np.array([r[0] for r in rows]),
        docids=np.array([r[1] for r in rows]),
        scores=np.array([r[2] for r in rows], dtype=np.float64),
        ranks=np.arange(1, len(rows) + 1),
        tag=tag,
    )


def test_fuse_trec_runs_matches_the_tensor_fusion() -> None:
    first = run([("q1", "a", 3.0), ("q1", "b", 2.0), ("q1", "c", 1.0), ("q2", "x", 1.0)], "r1")
    second = run([("q1", "b", 10.0), ("q1", "d", 5.0), ("q1", "a", 0.0)], "r2")
    out = fuse_runs([first, second], method="borda")
    q1 = [(d, s) for q, d, s in zip(out.qids, out.docids, out.scores, strict=True) if q == "q1"]
    assert q1 == [("b", 7.0), ("a", 6.0), ("d", 4.0), ("c", 3.0)]
    assert out.by_query()["q2"][0] == ["x"]  # a query only one run has is kept
    assert fuse_runs([first, second], method="rrf", depth=2).by_query()["q1"][0] == ["b", "a"]


def test_trec_ties_follow_trec_eval_order() -> None:
    # equal scores: trec_eval ranks docid descending first, so RRF ranks z before y
    tied = run([("q", "y", 1.0), ("q", "z", 1.0)], "t")
    out = fuse_runs([tied], method="rrf", k=0.0)
    assert list(zip(out.docids.tolist(), out.scores.tolist(), strict=True)) == [
        ("z", 1.0),
        ("y", 0.5),
    ]


def test_weight_grid_covers_the_simplex() -> None:
    grid = weight_grid(3, 0.1)
    assert len(grid) == math.comb(12, 2)
    assert all(sum(w) == pytest.approx(1.0) for w in grid)
    assert len(set(grid)) == len(grid)
    assert weight_grid(2, 0.5)[0] == (0.5, 0.5)  # most even first
    with pytest.raises(ValueError, match="step must divide 1"):
        weight_grid(2, 0.3)


def test_tuning_finds_the_informative_run() -> None:
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 3, (20, 8), generator=g).double()
    good = labels + 0.1 * torch.randn(20, 8, generator=g, dtype=torch.float64)
    noise = torch.randn(20, 8, generator=g, dtype=torch.float64)
    tuned = tune_weights(torch.stack([noise, good]), labels, step=0.25, metric="ndcg@5")
    assert tuned.weights[1] > tuned.weights[0]
    assert len(tuned.trials) == 5
    equal = next(v for w, v in tuned.trials if w == (0.5, 0.5))
    assert tuned.value >= equal


def test_tuning_on_trec_runs() -> None:
    docs = [f"d{i}" for i in range(6)]
    qrels = {"q": {"d0": 2.0, "d1": 1.0, "d5": 0.0}}
    right = run([("q", d, float(-i)) for i, d in enumerate(docs)], "right")
    wrong = run([("q", d, float(i)) for i, d in enumerate(docs)], "wrong")
    tuned = tune_run_weights([wrong, right], qrels, step=0.5, metric="ndcg@3")
    assert tuned.weights == (0.0, 1.0)
    assert tuned.value == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no query of the runs has judgements"):
        tune_run_weights([right], {"other": {"d0": 1.0}})


def test_stack_runs_layout() -> None:
    first = run([("q9", "b", 1.0), ("q9", "a", 2.0), ("q1", "x", 3.0)], "r1")
    second = run([("q1", "y", 1.0), ("q5", "c", 0.5), ("q9", "c", 4.0)], "r2")
    stacked = stack_runs([first, second])
    assert stacked.qids == ["q9", "q1", "q5"]  # first appearance, not alphabetical
    assert stacked.lengths.tolist() == [3, 2, 1]
    assert stacked.docids[0].tolist() == ["c", "b", "a"]  # docid descending
    assert stacked.docids[1, :2].tolist() == ["y", "x"]
    assert stacked.docids[2, 0] == "c" and stacked.docids[2, 1] == ""
    assert stacked.mask[0, 0].tolist() == [False, True, True]
    assert stacked.scores[0, 0].tolist() == [0.0, 1.0, 2.0]
    assert stacked.mask[1, 0].tolist() == [True, False, False]
    assert stacked.scores[1, 2, 0] == 0.5 and not stacked.mask[0, 2].any()

"""NeuralNDCG's fused path (pairwise sums by sorting, the NeuralSort softmax with its own
reverse pass, Sinkhorn in scaling form with the DCG as a bilinear form, float32 with
subnormal-making entries dropped) against the definition written out with plain torch
operations and traced by autograd, in float64: values and gradients, with ties, padding,
lists without real items, truncation at k and lists that stop Sinkhorn at different
steps."""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rankwise import functional as F


def definition(scores, labels, mask, *, temperature, k, iters, tol):
    """NeuralNDCG@k as the papers write it: NeuralSort's P (Grover et al.), Sinkhorn
    scaling of the real block until each list's column sums are within tol of 1, DCG of
    the gains sorted by P over the exact IDCG; lists without a relevant item give 0."""
    batch = scores.shape[0]
    out = []
    for b in range(batch):
        n = int(mask[b].sum())
        s = scores[b][mask[b]]
        y = labels[b][mask[b]]
        gains = 2.0**y - 1.0
        cut = n if k is None else min(k, n)
        ideal = torch.sort(gains, descending=True).values[:cut]
        disc = 1.0 / torch.log2(torch.arange(2, n + 2, dtype=scores.dtype))
        idcg = (ideal * disc[:cut]).sum()
        if n == 0 or idcg == 0:
            out.append(scores.sum() * 0.0)
            continue
        pair_abs = (s.unsqueeze(0) - s.unsqueeze(1)).abs().sum(dim=1)
        ranks = torch.arange(1, n + 1, dtype=scores.dtype)
        logits = ((n + 1 - 2 * ranks).unsqueeze(1) * s.unsqueeze(0) - pair_abs) / temperature
        p = torch.softmax(logits, dim=1)
        for it in range(iters):
            col = p.sum(dim=0)
            if it > 0 and (col - 1).abs().max() < tol:
                break
            p = p / col.clamp(min=1e-10)
            p = p / p.sum(dim=1, keepdim=True).clamp(min=1e-10)
        dcg = ((p @ gains)[:cut] * disc[:cut]).sum()
        out.append(-dcg / idcg)
    return torch.stack(out)


@st.composite
def lists(draw):
    batch = draw(st.integers(1, 4))
    length = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    ties = draw(st.booleans())
    s = torch.randn(batch, length, generator=g, dtype=torch.float64) * 2
    if ties:  # half-integers: many exact ties
        s = (s * 2).round() / 2
    y = torch.randint(0, 4, (batch, length), generator=g).to(torch.float64)
    lengths = torch.randint(0, length + 1, (batch,), generator=g)
    mask = torch.arange(length).unsqueeze(0) < lengths.unsqueeze(1)
    shuffle = torch.rand(batch, length, generator=g).argsort(dim=1)
    mask = mask.gather(1, shuffle)  # padding anywhere in the list
    return s, y, mask


@settings(max_examples=60, deadline=None)
@given(
    data=lists(),
    temperature=st.sampled_from([0.3, 1.0, 3.0]),
    k=st.sampled_from([None, 1, 3]),
    tol=st.sampled_from([1e-6, 1e-3, 0.05]),
    transposed=st.booleans(),
)
def test_neural_ndcg_equals_its_definition(data, temperature, k, tol, transposed):
    s, y, mask = data
    mine = s.clone().requires_grad_(True)
    value = F.neural_ndcg_loss(
        mine,
        y,
        mask=mask,
        reduction="none",
        temperature=temperature,
        k=k,
        sinkhorn_tol=tol,
        transposed=transposed,
    )
    value.sum().backward()
    ref = s.clone().requires_grad_(True)
    expected = definition(ref, y, mask, temperature=temperature, k=k, iters=50, tol=tol)
    expected.sum().backward()
    assert torch.allclose(value, expected, rtol=1e-9, atol=1e-12)
    scale = max(1.0, float(ref.grad.abs().max()))
    assert torch.allclose(mine.grad, ref.grad, rtol=1e-7, atol=1e-9 * scale)
    assert torch.all(mine.grad[~mask] == 0)


def test_float32_path_agrees_with_float64_definition():
    """float32 (the training dtype) drops the NeuralSort entries that would make
    subnormal products; the loss and its gradient still match the float64 definition to
    float32 precision, on lists long enough for entries of 1e-40 and below to appear."""
    g = torch.Generator().manual_seed(3)
    s = torch.randn(6, 120, generator=g, dtype=torch.float64) * 3
    y = torch.randint(0, 5, (6, 120), generator=g).to(torch.float64)
    mask = torch.rand(6, 120, generator=g) > 0.2
    p = F.neural_sort(s.float(), mask)
    assert bool(((p > 0) & (p < torch.finfo(torch.float32).tiny)).any())  # subnormals occur
    mine = s.float().requires_grad_(True)
    value = F.neural_ndcg_loss(mine, y.float(), mask=mask, reduction="none")
    value.sum().backward()
    ref = s.clone().requires_grad_(True)
    expected = definition(ref, y, mask, temperature=1.0, k=None, iters=50, tol=1e-6)
    expected.sum().backward()
    assert torch.allclose(value.double(), expected, rtol=1e-5, atol=1e-6)
    scale = float(ref.grad.abs().max())
    assert torch.allclose(mine.grad.double(), ref.grad, atol=1e-4 * scale)


def test_public_sinkhorn_keeps_tiny_matrices_and_zero_columns():
    """The subnormal-dropping rule applies only when every row and column has a large
    entry: a matrix scaled down to 1e-35 (all its entries would be dropped) gives the same
    doubly stochastic matrix as the unscaled one, and a column that is all zero stays
    zero while the other columns still sum to 1."""
    g = torch.Generator().manual_seed(0)
    base = torch.rand(2, 6, 6, generator=g) + 0.1
    mask = torch.ones(2, 6, dtype=torch.bool)
    big = F.sinkhorn(base, mask, max_iter=200, tol=1e-7)
    tiny = F.sinkhorn(base * 1e-35, mask, max_iter=200, tol=1e-7)
    assert torch.allclose(big, tiny, rtol=1e-4, atol=1e-6)
    holed = base.clone()
    holed[:, :, 2] = 0.0
    d = F.sinkhorn(holed, mask, max_iter=100, tol=0.0)
    assert torch.all(d[:, :, 2] == 0)
    assert torch.all(torch.isfinite(d))
    assert torch.allclose(d.sum(dim=2), torch.ones(2, 6), atol=1e-5)  # rows
    others = torch.tensor([0, 1, 3, 4, 5])
    assert math.isfinite(float(d.sum()))
    assert torch.all(d[:, :, others].sum(dim=1) > 0.5)

"""CUDA paths of every registered loss and sorting operator: the same values and
gradients as on the CPU (which takes different code paths: float64 Sinkhorn, the
shifted-exponential Plackett-Luce suffix sums), and finite float32 results under
autocast. Skipped cleanly without a GPU."""

from __future__ import annotations

import pytest
import torch

from rankwise import functional as sorting
from rankwise.losses import LOSSES
from tests.conformance.test_list_losses import call

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _batch(dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    s = torch.randn(6, 40, generator=g, dtype=dtype)
    y = torch.randint(0, 4, (6, 40), generator=g).to(dtype)
    lengths = torch.tensor([40, 33, 1, 0, 12, 40])
    m = torch.arange(40).unsqueeze(0) < lengths.unsqueeze(1)
    return s, y, m


def _value_and_grad(name, s, y, m):
    t = s.clone().requires_grad_(True)
    call(name, t, y, m, "mean").backward()
    return call(name, s, y, m, "none").detach(), t.grad


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_cuda_matches_cpu(name):
    s, y, m = _batch()
    v_cpu, g_cpu = _value_and_grad(name, s, y, m)
    v_gpu, g_gpu = _value_and_grad(name, s.cuda(), y.cuda(), m.cuda())
    assert v_gpu.is_cuda and g_gpu.is_cuda
    torch.testing.assert_close(v_gpu.cpu(), v_cpu, rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(g_gpu.cpu(), g_cpu, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_under_autocast_is_float32_and_finite(name, dtype):
    s, y, m = _batch(torch.float32)
    s = s.cuda().requires_grad_(True)
    with torch.autocast("cuda", dtype=dtype):
        half = (s * 1.0).to(dtype)  # what a model's output is under autocast
        value = call(name, half, y.cuda(), m.cuda(), "mean")
    assert value.dtype == torch.float32
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(s.grad).all()
    reference = call(name, half.detach().float(), y.cuda(), m.cuda(), "mean")
    torch.testing.assert_close(value.detach(), reference, rtol=1e-5, atol=1e-6)


def test_sorting_operators_cuda_match_cpu():
    s, _, m = _batch()
    for fn in (
        lambda t, mm: sorting.neural_sort(t, mm),
        lambda t, mm: sorting.sinkhorn(sorting.neural_sort(t, mm), mm),
        lambda t, mm: sorting.soft_sort(t, mm),
        lambda t, mm: sorting.soft_rank(t, mm),
    ):
        a = fn(s, m)
        b = fn(s.cuda(), m.cuda())
        torch.testing.assert_close(b.cpu(), a, rtol=1e-6, atol=1e-8)

"""Fusion and the top-k NDCG path on CUDA equal the CPU. Skipped cleanly without a GPU."""

from __future__ import annotations

import pytest
import torch

from rankwise.aggregate import FUSION_METHODS, NORMALIZATIONS, fuse
from rankwise.functional import ndcg

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
@pytest.mark.parametrize("method", FUSION_METHODS)
def test_fusion_on_cuda_equals_cpu(method: str, normalization: str) -> None:
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(3, 5, 20, generator=g).round(decimals=1)
    mask = torch.rand(3, 5, 20, generator=g) > 0.3
    kw = {"method": method, "normalization": normalization, "weights": [0.2, 0.3, 0.5]}
    cpu, cpu_union = fuse(scores, mask=mask, **kw)  # type: ignore[arg-type]
    gpu, gpu_union = fuse(scores.cuda(), mask=mask.cuda(), **kw)  # type: ignore[arg-type]
    torch.testing.assert_close(gpu.cpu(), cpu)
    assert torch.equal(gpu_union.cpu(), cpu_union)


def test_stable_topk_ndcg_on_cuda_equals_cpu() -> None:
    g = torch.Generator().manual_seed(1)
    s = torch.randn(64, 50, generator=g).round(decimals=1)
    y = torch.randint(0, 4, (64, 50), generator=g).float()
    m = torch.rand(64, 50, generator=g) > 0.2
    for k in (1, 5, 10):
        cpu = ndcg(s, y, mask=m, k=k, ties="stable", reduction="none")
        gpu = ndcg(s.cuda(), y.cuda(), mask=m.cuda(), k=k, ties="stable", reduction="none")
        torch.testing.assert_close(gpu.cpu(), cpu)

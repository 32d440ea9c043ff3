r"""The Plackett-Luce negative log-likelihood of a given permutation, shared by ListMLE,
p-ListMLE and PLD.

For scores s and a permutation :math:`\pi` (best first) of a list's real items, with
step weights :math:`w_t` (1 by default):

.. math::
    \ell = \sum_t w_t \big(\operatorname{lse}_t - s_{\pi(t)}\big), \qquad
    \operatorname{lse}_t = \log \sum_{u \ge t} e^{s_{\pi(u)}},

and its gradient, with :math:`e_u = e^{s_{\pi(u)} - c}` and suffix sums
:math:`S_t = \sum_{u \ge t} e_u` for any shift c,

.. math::
    \frac{\partial \ell}{\partial s_{\pi(u)}} = e_u \sum_{t \le u} \frac{w_t}{S_t} - w_u.

On the CPU, ``torch.logcumsumexp`` is a sequential scan with a log and an exp per element
and its backward runs two more, about ten times the cost of everything else in ListMLE.
The fast path computes :math:`S_t` as a cumulative sum of :math:`e^{s - \max s}` and the
gradient above in closed form: exact up to rounding unless some suffix's items all lie
far below the list's maximum (about 69 nats in float32, 667 in float64), where
:math:`S_t` nears the subnormal range. That is checked, and the exact scan (traced by
autograd) runs instead; it also runs on other devices, whose scans are parallel.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rankwise.functional._losses.common import pad_column, reverse_logcumsumexp

# Smallest suffix sum the fast path trusts (relative precision is lost near the
# subnormal range; 1/S must also stay finite in the backward pass).
_SUFFIX_FLOOR = {torch.float32: 1e-30, torch.float64: 1e-290}


class _PlackettLuce(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, scores: Tensor, mask: Tensor, column: Tensor, weights: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        z = torch.where(mask, scores, column)  # -inf at masked items (0 in empty lists)
        shift = z.amax(dim=1, keepdim=True)
        e = (z - shift).exp_()
        suffix = e.flip(1).cumsum_(dim=1).flip(1).masked_fill_(~mask, 1.0)
        ok = (suffix >= _SUFFIX_FLOOR[scores.dtype]).all()
        # lse_t - s_t = log S_t + shift - z_t; masked positions (inf there) become 0.
        steps = suffix.log().add_(shift).sub_(z)
        if weights is not None:
            steps = steps.mul_(weights)
        steps = steps.masked_fill_(~mask, 0.0)
        ctx.save_for_backward(e, suffix, mask, weights)
        ctx.mark_non_differentiable(ok)
        return steps.sum(dim=1), ok

    @staticmethod
    def backward(ctx: Any, grad: Tensor, _ok: Tensor) -> tuple[Tensor, None, None, None]:
        e, suffix, mask, weights = ctx.saved_tensors
        w = torch.ones_like(e) if weights is None else weights
        rate = (w / suffix).masked_fill_(~mask, 0.0).cumsum_(dim=1)
        d = (e * rate).sub_(w).masked_fill_(~mask, 0.0)
        return d.mul_(grad.unsqueeze(1)), None, None, None


def plackett_luce_nll(
    scores: Tensor,
    order: Tensor,
    mask: Tensor,
    has_items: Tensor,
    step_weights: Tensor | None = None,
) -> Tensor:
    r"""[B] negative Plackett-Luce log-likelihood of the permutations ``order`` (module
    docstring).

    ``scores`` [B, L] as given (masked positions are never read, whatever they hold);
    ``order`` [B, L] item indices best first, real items before masked ones; ``mask``
    [B, L] (True = real item) and ``has_items`` [B] in input order; ``step_weights``
    [B, L] weights :math:`w_t` per *step* (in ``order``'s positions). Masked items are left
    out of every suffix, so padding changes nothing. A list without real items gives 0.
    """
    s = scores.gather(1, order)
    m = mask.gather(1, order)
    if s.device.type == "cpu" and s.dtype in _SUFFIX_FLOOR:
        column = pad_column(m, has_items, s.dtype)
        value, ok = _PlackettLuce.apply(s, m, column, step_weights)  # type: ignore[no-untyped-call]
        if bool(ok):
            out: Tensor = value
            return out
    # Exact scan: masked positions zeroed first so that nothing non-finite reaches autograd.
    s = s.masked_fill(~m, 0.0)
    steps = reverse_logcumsumexp(s, m) - s
    if step_weights is not None:
        steps = steps * step_weights
    return steps.masked_fill(~m, 0.0).sum(dim=1)

"""Differentiable sorting and ranking (see :mod:`rankwise.functional.sorting`)."""

from rankwise.functional.sorting import neural_sort, sinkhorn, soft_rank, soft_sort, sorting_network

__all__ = ["neural_sort", "sinkhorn", "soft_rank", "soft_sort", "sorting_network"]

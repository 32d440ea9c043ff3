"""Ranking losses on ``[B, L]`` score lists (private: the public names live in
:mod:`rankwise.functional`)."""

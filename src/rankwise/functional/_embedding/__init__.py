"""Embedding-space and recommendation losses (private: the public names live in
:mod:`rankwise.functional`)."""

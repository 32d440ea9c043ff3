"""Text ranking: collections, first stages, encoders and their training (filled in below)."""

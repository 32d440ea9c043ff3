"""rankwise: learning to rank for PyTorch.

Sub-packages:
    rankwise.data      ranking data on disk and in memory, batching, transforms
"""

from rankwise._version import __version__
from rankwise.errors import DataFormatError, ParseError, RankwiseError

__all__ = ["DataFormatError", "ParseError", "RankwiseError", "__version__"]

"""Every exception type rankwise raises on purpose (all subclass :class:`RankwiseError`).

Every error that comes from bad input names what is wrong and where (file, line,
key), so a user can fix the input without reading rankwise's source.
"""

from __future__ import annotations


class RankwiseError(Exception):
    """Base class of every error rankwise raises on purpose."""


class DataFormatError(RankwiseError, ValueError):
    """Ranking data on disk or in memory does not satisfy the documented format."""


class ParseError(DataFormatError):
    """A line of a text data file cannot be parsed, or breaks a validation policy.

    Attributes:
        path: the file being read (``"<memory>"`` for in-memory text).
        line: 1-based line number of the offending line.
        reason: what is wrong, in words.
        text: the offending line (truncated for display).
    """

    def __init__(self, path: str, line: int, reason: str, text: str = "") -> None:
        self.path = path
        self.line = line
        self.reason = reason
        self.text = text
        shown = text if len(text) <= 160 else text[:157] + "..."
        message = f"{path}, line {line}: {reason}"
        if shown:
            message += f"\n    {shown}"
        super().__init__(message)

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, int, str, str]]:
        return (type(self), (self.path, self.line, self.reason, self.text))


class RegistryError(RankwiseError, ValueError):
    """A component name or parameter that its registry does not know (``rankwise.registry``)."""


class ConfigError(RankwiseError):
    """An invalid configuration; the message names every problem found."""


class CheckpointError(RankwiseError):
    """A file that is not a readable rankwise checkpoint."""


class RunDirectoryError(RankwiseError):
    """The run directory exists (and neither resume nor overwrite was asked for)."""


class RunNotFoundError(RankwiseError):
    """A directory that is not a (finished) rankwise run."""


class NonFiniteLossError(RankwiseError):
    """The training loss became NaN or infinite."""


class MissingDependencyError(RankwiseError):
    """An optional dependency is not installed."""


class NotFittedError(RankwiseError):
    """A transform that needs statistics was applied before it was fitted."""

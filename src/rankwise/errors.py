"""Every exception type rankwise raises on purpose (all subclass :class:`RankwiseError`).

Every error that comes from bad input names what is wrong and where (file, line,
key), so a user can fix the input without reading rankwise's source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Audience = Literal["python", "cli", "config"]

# C0 controls except tab and newline, DEL and the C1 controls: bytes that move the
# cursor, recolour or retitle a terminal when a message quoting bad input is printed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    r"""``text`` with control characters written as escapes, safe to print to a terminal.

    Messages quote the input they reject; a garbage file can hold escape sequences that
    would otherwise reach the terminal raw.

    Example:
        >>> printable("bad\x1b[31m label\r")
        'bad\\x1b[31m label\\r'
    """
    return _CONTROL.sub(lambda m: ascii(m.group())[1:-1], text)


@dataclass(frozen=True)
class Placeholder:
    """A value of a :class:`Remedy` that the user chooses: ``...`` in Python, its
    ``name`` on the command line and in configs (``--group-file PATH``)."""

    name: str = "VALUE"


#: A value the user chooses, of no particular kind.
CHOOSE = Placeholder()


@dataclass(frozen=True)
class Remedy:
    """Options that resolve an error, written for whoever reads the message.

    A reader's error such as "feature 3 is NaN" can be resolved by passing options to it:
    ``nonfinite='fill'`` in Python, ``--nonfinite fill`` on the command line,
    ``data.read_options.nonfinite: fill`` in a run config. The error keeps the options
    and each front end writes them its way (:meth:`RankwiseError.message`). A
    :class:`Placeholder` value (:data:`CHOOSE`) is one the user picks.

    Example:
        >>> r = Remedy({"nonfinite": "fill", "fill_value": CHOOSE}, "to replace them")
        >>> r.render("python")
        "pass nonfinite='fill' and fill_value=... to replace them"
        >>> r.render("cli")
        'use --nonfinite fill and --fill-value VALUE to replace them'
        >>> Remedy({"nonfinite": "fill"}).render("config")
        'set data.read_options.nonfinite=fill'
    """

    options: dict[str, object]
    purpose: str = ""
    config_prefix: str = "data.read_options"

    def render(self, audience: Audience) -> str:
        """The remedy as a Python call, command-line flags or config keys."""
        parts = [self._one(name, value, audience) for name, value in self.options.items()]
        verb = {"python": "pass", "cli": "use", "config": "set"}[audience]
        text = f"{verb} {' and '.join(parts)}"
        return f"{text} {self.purpose}" if self.purpose else text

    def _one(self, name: str, value: object, audience: Audience) -> str:
        chosen = isinstance(value, Placeholder)
        if audience == "python":
            return f"{name}={'...' if chosen else repr(value)}"
        if isinstance(value, Placeholder):
            shown = value.name
        else:
            shown = str(value).lower() if isinstance(value, bool) else str(value)
        if audience == "cli":
            flag = "--" + name.replace("_", "-")
            return flag if value is True else f"{flag} {shown}"
        return f"{self.config_prefix}.{name}={shown}"


class RankwiseError(Exception):
    """Base class of every error rankwise raises on purpose.

    ``remedy``: options that would resolve the error (:class:`Remedy`); ``str(error)``
    writes them as Python keywords, :meth:`message` for another audience.
    """

    remedy: Remedy | None = None

    def with_remedy(self, remedy: Remedy) -> RankwiseError:
        """This error with ``remedy`` attached (returns ``self``, to ``raise`` it)."""
        self.remedy = remedy
        return self

    def message(self, audience: Audience = "python") -> str:
        """The message, with the remedy written for ``audience``, control bytes escaped."""
        base = super().__str__()
        if self.remedy is not None:
            base = f"{base}; {self.remedy.render(audience)}"
        return printable(base)

    def __str__(self) -> str:
        return self.message("python")


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
        super().__init__(f"{path}, line {line}: {reason}")

    def message(self, audience: Audience = "python") -> str:
        """The message (remedy for ``audience``), then the offending line, indented."""
        shown = self.text if len(self.text) <= 160 else self.text[:157] + "..."
        head = super().message(audience)
        return f"{head}\n    {printable(shown)}" if shown else head

    def __reduce__(
        self,
    ) -> tuple[type[ParseError], tuple[str, int, str, str], dict[str, object]]:
        return (type(self), (self.path, self.line, self.reason, self.text), self.__dict__)


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

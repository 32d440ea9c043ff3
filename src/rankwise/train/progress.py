"""Progress display for training: a bar per epoch with lists/s, documents/s and ETA."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class EpochProgress:
    """Context manager around one epoch's batches; ``advance(lists, documents, loss)``.

    Disabled (``enabled=False``), it only counts, so throughput is still reported in the
    epoch summary.
    """

    def __init__(
        self, description: str, total: int | None, console: Console, enabled: bool = True
    ) -> None:
        self.enabled = enabled
        self.lists = 0
        self.documents = 0
        self.started = time.perf_counter()
        self._progress: Progress | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TextColumn("{task.fields[lists_s]} lists/s"),
                TextColumn("{task.fields[docs_s]} docs/s"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self._task = self._progress.add_task(
                description, total=total, loss="-", lists_s="-", docs_s="-"
            )

    def __enter__(self) -> EpochProgress:
        self.started = time.perf_counter()
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    @property
    def seconds(self) -> float:
        """Seconds since the epoch started."""
        return max(time.perf_counter() - self.started, 1e-9)

    def advance(self, lists: int, documents: int, loss: float) -> None:
        """Count one batch of ``lists`` lists and ``documents`` documents."""
        self.lists += lists
        self.documents += documents
        if self._progress is not None:
            self._progress.update(
                self._task,
                advance=1,
                loss=f"{loss:.4f}",
                lists_s=f"{self.lists / self.seconds:,.0f}",
                docs_s=f"{self.documents / self.seconds:,.0f}",
            )

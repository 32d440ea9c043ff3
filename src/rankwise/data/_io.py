"""File helpers shared by the loaders: compression detection, line-aligned chunks, progress."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, cast

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

PathLike = str | os.PathLike[str]

_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"\xfd7zXZ\x00": "xz",
    b"BZh": "bz2",
}


def detect_compression(path: PathLike) -> str | None:
    """``"gzip"``, ``"xz"``, ``"bz2"`` or ``None``, from the file's first bytes (not its name)."""
    with open(path, "rb") as f:
        head = f.read(6)
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def compression_for_name(path: PathLike) -> str | None:
    """The compression a writer should use, from the file name's suffix."""
    suffix = Path(path).suffix.lower()
    return {".gz": "gzip", ".xz": "xz", ".bz2": "bz2"}.get(suffix)


def open_binary_read(path: PathLike) -> tuple[IO[bytes], IO[bytes]]:
    """Open ``path`` for reading, decompressing transparently.

    Returns ``(stream, raw)``: ``stream`` yields decompressed bytes, ``raw`` is the
    underlying file whose position tells how much of the file has been consumed.
    """
    raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    kind = detect_compression(path)
    stream: IO[bytes]
    if kind == "gzip":
        stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    elif kind == "xz":
        stream = cast(IO[bytes], lzma.LZMAFile(raw, mode="rb"))  # noqa: SIM115
    elif kind == "bz2":
        stream = cast(IO[bytes], bz2.BZ2File(raw, mode="rb"))
    else:
        stream = raw
    return stream, raw


def open_binary_write(path: PathLike) -> IO[bytes]:
    """Open ``path`` for writing, compressing according to its suffix (.gz/.xz/.bz2)."""
    kind = compression_for_name(path)
    if kind == "gzip":
        return cast(IO[bytes], gzip.open(path, "wb", compresslevel=6))
    if kind == "xz":
        return cast(IO[bytes], lzma.open(path, "wb"))
    if kind == "bz2":
        return cast(IO[bytes], bz2.open(path, "wb"))
    return open(path, "wb")


def iter_line_chunks(
    stream: IO[bytes], chunk_size: int, on_read: Callable[[], None] | None = None
) -> Iterator[bytes]:
    """Yield blocks of whole lines, each ending with ``b"\\n"``.

    A block is about ``chunk_size`` bytes; a line longer than that is kept whole. The
    last line of a file without a final newline gets one, so every block ends with it.
    """
    rest = b""
    while True:
        block = stream.read(chunk_size)
        if on_read is not None:
            on_read()
        if not block:
            break
        data = rest + block if rest else block
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        if cut == len(data) - 1:
            rest = b""
            yield data
        else:
            rest = data[cut + 1 :]
            yield data[: cut + 1]
    if rest:
        yield rest + b"\n"


class ByteProgress:
    """A progress bar over the bytes of a file (no-op when disabled or for tiny files)."""

    def __init__(self, path: PathLike, enabled: bool, description: str) -> None:
        self.total = os.path.getsize(path)
        self._progress: Progress | None = None
        if enabled and self.total > 0:
            self._progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                transient=True,
            )
            self._task = self._progress.add_task(description, total=self.total)

    def __enter__(self) -> ByteProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def update(self, position: int) -> None:
        """Advance the display to ``done`` bytes read."""
        if self._progress is not None:
            self._progress.update(self._task, completed=position)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def file_signature(path: PathLike) -> dict[str, object]:
    """Size, mtime and a sample hash (first and last MiB) of a file, for cache keys.

    Hashing only a sample keeps the check cheap for large files; size and nanosecond
    mtime catch ordinary edits, the sample hash catches a same-size rewrite that kept
    the mtime (e.g. a copy with ``cp -p`` of other content).
    """
    import hashlib

    st = os.stat(path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        if st.st_size > 2 << 20:
            f.seek(-(1 << 20), io.SEEK_END)
            h.update(f.read(1 << 20))
    return {
        "path": str(Path(path).resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "sample_sha256": h.hexdigest(),
    }

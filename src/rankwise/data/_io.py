"""File helpers shared by the loaders: compression detection, line-aligned chunks, progress."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Literal, cast

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from rankwise._hashing import file_hash

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


class _Decompressed(io.RawIOBase):
    """A decompressing stream whose failures (a truncated or corrupt file: ``EOFError``,
    ``zlib.error``, ``lzma.LZMAError``, ``OSError``) become a
    :class:`~rankwise.errors.DataFormatError` naming the file."""

    def __init__(self, inner: IO[bytes], path: PathLike, kind: str) -> None:
        super().__init__()
        self._inner = inner
        self._path = path
        self._kind = kind

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: object) -> int:
        from rankwise.errors import DataFormatError

        try:
            return int(self._inner.readinto(buffer))  # type: ignore[attr-defined]
        except (EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
            raise DataFormatError(
                f"{self._path}: the {self._kind} data is truncated or corrupt ({exc})"
            ) from None

    def close(self) -> None:
        self._inner.close()
        super().close()


def open_binary_read(path: PathLike) -> tuple[IO[bytes], IO[bytes]]:
    """Open ``path`` for reading, decompressing transparently.

    Returns ``(stream, raw)``: ``stream`` yields decompressed bytes, ``raw`` is the
    underlying file whose position tells how much of the file has been consumed. A
    truncated or corrupt compressed file raises
    :class:`~rankwise.errors.DataFormatError` naming it when the damage is read.
    """
    raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    kind = detect_compression(path)
    inner: IO[bytes]
    if kind == "gzip":
        inner = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    elif kind == "xz":
        inner = cast(IO[bytes], lzma.LZMAFile(raw, mode="rb"))  # noqa: SIM115
    elif kind == "bz2":
        inner = cast(IO[bytes], bz2.BZ2File(raw, mode="rb"))
    else:
        return raw, raw
    stream = io.BufferedReader(_Decompressed(inner, path, kind), buffer_size=1 << 16)
    return cast(IO[bytes], stream), raw


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
    Line breaks are ``\\n`` or ``\\r\\n``; a file whose first block has ``\\r`` but no
    ``\\n`` uses old-Mac ``\\r`` line breaks, which are read as ``\\n`` (elsewhere a lone
    ``\\r`` is whitespace).
    """
    rest = b""
    carriage_returns: bool | None = None  # decided on the first block
    while True:
        block = stream.read(chunk_size)
        if on_read is not None:
            on_read()
        if not block:
            break
        if carriage_returns is None:
            carriage_returns = b"\n" not in block and b"\r" in block
        if carriage_returns:
            block = block.replace(b"\r", b"\n")
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


def text_lines(path: PathLike) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each line of a plain or compressed text file that is
    neither blank nor a comment (``#`` first), stripped; numbers start at 1 and count
    every line, bytes that are not UTF-8 are kept as ``\\xNN`` escapes."""
    stream, raw = open_binary_read(path)
    with stream, raw:
        for number, line in enumerate(stream, start=1):
            text = line.decode("utf-8", "backslashreplace").strip()
            if text and not text.startswith("#"):
                yield number, text


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


CacheCheck = Literal["full", "fast"]
CACHE_CHECKS = ("full", "fast")


def file_signature(path: PathLike, check: CacheCheck = "full") -> dict[str, object]:
    """What identifies a file's content, for cache keys.

    ``check="full"`` (default): size, mtime and an xxh3-128 hash of the whole content, so
    any edit is seen, also one that kept the size and the mtime. ``"fast"``: size, mtime
    and a hash of the first and last MiB only: cheaper for very large files, but an edit
    of the same size in the middle of the file that keeps its mtime goes unseen.
    """
    if check not in CACHE_CHECKS:
        raise ValueError(f"cache check must be one of {CACHE_CHECKS}, got {check!r}")
    st = os.stat(path)
    signature: dict[str, object] = {
        "path": str(Path(path).resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
    }
    if check == "full":
        signature["xxh3_128"] = file_hash(path)
        return signature
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        if st.st_size > 2 << 20:
            f.seek(-(1 << 20), io.SEEK_END)
            h.update(f.read(1 << 20))
    signature["sample_sha256"] = h.hexdigest()
    return signature

"""Content hashes (xxh3-128): what the cache and the checkpoints store to detect damage.

xxh3 is not a cryptographic hash: it detects accidental damage (a flipped byte, a
truncated write, an edit), at memory speed, not tampering by someone who means it.
"""

from __future__ import annotations

import os


def content_hash(buffer: object) -> str:
    """xxh3-128 of a bytes-like object (e.g. an array's memory), as hex."""
    import xxhash

    view = memoryview(buffer)  # type: ignore[arg-type]
    # cast to bytes without a copy; a view with a zero in its shape cannot be cast
    data = view.cast("B") if view.nbytes else b""
    return str(xxhash.xxh3_128(data).hexdigest())


def file_hash(path: str | os.PathLike[str], block: int = 16 << 20, *, start: int = 0) -> str:
    """xxh3-128 of a file from byte ``start`` to its end, read in blocks (about 10 GB/s
    from the page cache; nothing is memory-mapped, so resident memory stays one block).
    Equal to :func:`content_hash` of the same bytes."""
    import xxhash

    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        f.seek(start)
        while chunk := f.read(block):
            h.update(chunk)
    return str(h.hexdigest())

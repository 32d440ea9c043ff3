"""Training logs: CSV, JSON lines and TensorBoard event files, one row per epoch.

The TensorBoard writer is rankwise's own: an event file is a sequence of TFRecord
records (length, masked CRC-32C of the length, an ``Event`` protocol buffer, masked
CRC-32C of the data), and an ``Event`` with scalar summaries needs five protobuf
fields. Writing them directly keeps TensorBoard (and TensorFlow's protobufs) out of
rankwise's dependencies; the tests read the files back with TensorBoard's own reader.
"""

from __future__ import annotations

import csv
import json
import math
import socket
import struct
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# ------------------------------------------------------------------ CRC-32C (Castagnoli)
_POLY = 0x82F63B78


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (RFC 3720)."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ------------------------------------------------------------------ protobuf encoding
def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def _event(
    wall_time: float,
    step: int,
    *,
    file_version: str | None = None,
    scalars: Mapping[str, float] | None = None,
) -> bytes:
    out = bytearray(struct.pack("<Bd", (1 << 3) | 1, wall_time))  # field 1: double
    out += _varint((2 << 3) | 0) + _varint(step)  # field 2: int64
    if file_version is not None:
        out += _field_bytes(3, file_version.encode())
    if scalars:
        summary = bytearray()
        for tag, value in scalars.items():
            v = _field_bytes(1, tag.encode()) + struct.pack("<Bf", (2 << 3) | 5, value)
            summary += _field_bytes(1, v)
        out += _field_bytes(5, bytes(summary))
    return bytes(out)


class TensorBoardWriter:
    """Scalars to a TensorBoard event file in ``directory``."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
        self.path = self.directory / name
        self._file = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        self._write(_event(time.time(), 0, file_version="brain.Event:2"))

    def _write(self, data: bytes) -> None:
        header = struct.pack("<Q", len(data))
        self._file.write(header + struct.pack("<I", _masked(crc32c(header))))
        self._file.write(data + struct.pack("<I", _masked(crc32c(data))))
        self._file.flush()

    def add_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
        """Write ``scalars`` (None values skipped) at ``step``."""
        finite = {k: float(v) for k, v in scalars.items() if v is not None}
        if finite:
            self._write(_event(time.time(), step, scalars=finite))

    def close(self) -> None:
        """Close the event file."""
        self._file.close()


# ------------------------------------------------------------------ CSV and JSON lines
class RowLog:
    """``metrics.csv`` and ``metrics.jsonl`` in a run directory, one row per epoch.

    The CSV header is the union of the keys seen so far (the file is rewritten when a
    new column appears, which only happens in the first epochs). ``truncate(epoch)``
    drops rows after ``epoch``, so a resumed run never duplicates an epoch.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.csv_path = self.directory / "metrics.csv"
        self.jsonl_path = self.directory / "metrics.jsonl"
        self.rows: list[dict[str, Any]] = []
        if self.jsonl_path.exists():
            for line in self.jsonl_path.read_text().splitlines():
                if line.strip():
                    self.rows.append(json.loads(line))

    def truncate(self, last_epoch: int) -> None:
        """Drop the rows after epoch ``last_epoch`` (1-based)."""
        self.rows = [r for r in self.rows if int(r.get("epoch", -1)) <= last_epoch]
        self._rewrite()

    def append(self, row: Mapping[str, Any]) -> None:
        """Add one epoch's row to both files."""
        clean = {k: _json_safe(v) for k, v in row.items()}
        self.rows.append(clean)
        with open(self.jsonl_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(clean) + "\n")
        self._write_csv()

    def _rewrite(self) -> None:
        with open(self.jsonl_path, "w", encoding="utf-8") as f:
            for r in self.rows:
                f.write(json.dumps(r) + "\n")
        self._write_csv()

    def _write_csv(self) -> None:
        columns: list[str] = []
        for r in self.rows:
            columns += [k for k in r if k not in columns]
        with open(self.csv_path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            for r in self.rows:
                writer.writerow(r)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def write_json(path: str | Path, content: Any) -> None:
    """Pretty JSON to ``path`` (atomic enough for small result files: write then rename)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(content, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(target)

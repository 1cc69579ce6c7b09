"""The header of a GGUF file: its metadata values and tensor shapes, without the tensor data.

``gguf.GGUFReader`` builds a numpy view for every element of every metadata array, so reading a
model's header that way takes seconds (SmolLM2's 49,152 vocabulary strings and merges: 2.6-3.0 s
on the 2-core box), and the bench read it once per adapter export and once per precision label. Here
arrays are skipped (strings by their lengths, numbers by their size) and only scalar values are
kept: about a thousandth of that time. The layout is GGUF's (version 2 and 3): a magic, version,
tensor and key counts, the key/value pairs, then each tensor's name, dimensions (inputs first),
type and offset.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from corpus.errors import UserError

# GGUF value types: struct format of the scalar ones; 8 is a string, 9 an array.
_SCALARS = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d",
}  # fmt: skip
_STRING, _ARRAY = 8, 9
_SKIPPED = object()  # what an array value reads as (left out of the fields)


@dataclass(frozen=True)
class GGUFHeader:
    """Scalar metadata (arrays are left out) and every tensor's dimensions, in GGUF order."""

    fields: dict[str, Any]
    shapes: dict[str, tuple[int, ...]]


def read_header(path: str | Path) -> GGUFHeader:
    """The header of the GGUF file at ``path``; a file that is not GGUF is a ``UserError`` naming it."""
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise UserError(f"{path}: not a GGUF file (no GGUF magic at its start)")
        version, n_tensors, n_kv = struct.unpack("<IQQ", _exact(f, 20, path))
        if version not in (2, 3):
            raise UserError(f"{path}: GGUF version {version} is not supported (2 or 3)")
        fields: dict[str, Any] = {}
        for _ in range(n_kv):
            key = _string(f, path)
            value = _value(f, _u32(f, path), path)
            if value is not _SKIPPED:
                fields[key] = value
        shapes = {}
        for _ in range(n_tensors):
            name = _string(f, path)
            n_dims = _u32(f, path)
            dims = struct.unpack(f"<{n_dims}Q", _exact(f, 8 * n_dims, path))
            _exact(f, 12, path)  # type (u32) and data offset (u64)
            shapes[name] = tuple(int(d) for d in dims)
    return GGUFHeader(fields, shapes)


def _value(f: BinaryIO, kind: int, path: Any) -> Any:
    if kind in _SCALARS:
        fmt = _SCALARS[kind]
        return struct.unpack(fmt, _exact(f, struct.calcsize(fmt), path))[0]
    if kind == _STRING:
        return _string(f, path)
    if kind == _ARRAY:
        inner, count = struct.unpack("<IQ", _exact(f, 12, path))
        if inner in _SCALARS:
            f.seek(struct.calcsize(_SCALARS[inner]) * count, 1)
        elif inner == _STRING:  # each string by its length
            for _ in range(count):
                f.seek(struct.unpack("<Q", _exact(f, 8, path))[0], 1)
        elif count:  # arrays of arrays do not occur in model files (an empty one is skipped)
            raise UserError(f"{path}: a GGUF array of type {inner} cannot be read here")
        return _SKIPPED
    raise UserError(f"{path}: unknown GGUF value type {kind} in its header (a damaged file?)")


def _string(f: BinaryIO, path: Any) -> str:
    (n,) = struct.unpack("<Q", _exact(f, 8, path))
    return _exact(f, n, path).decode("utf-8", errors="replace")


def _u32(f: BinaryIO, path: Any) -> int:
    return struct.unpack("<I", _exact(f, 4, path))[0]


def _exact(f: BinaryIO, n: int, path: Any) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise UserError(f"{path}: the GGUF header ends early (a truncated file?)")
    return data

"""Stable, vectorized row hashes over Arrow columns (for change detection and derived ids).

The hash must not change across library versions (it is stored in `row_hash`), so it is our own:
FNV-1a over the bytes of variable-width values, splitmix64 over 64-bit fixed-width values, and
a splitmix64 combination across columns, all in Numba.
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_NULL = np.uint64(0x6A09E667F3BCC908)


@numba.njit(cache=True, inline="always")
def _splitmix(z: np.uint64) -> np.uint64:
    z = (z + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True)
def _mix_bytes(out, offsets, data, valid, seed):
    for i in range(out.shape[0]):
        if valid[i]:
            h = _FNV_OFFSET ^ seed
            for k in range(offsets[i], offsets[i + 1]):
                h = (h ^ np.uint64(data[k])) * _FNV_PRIME
        else:
            h = _NULL ^ seed
        out[i] = _splitmix(out[i] ^ _splitmix(h))


@numba.njit(cache=True)
def _mix_words(out, words, valid, seed):
    for i in range(out.shape[0]):
        h = _splitmix(words[i] ^ seed) if valid[i] else (_NULL ^ seed)
        out[i] = _splitmix(out[i] ^ _splitmix(h))


def _validity(arr: pa.Array) -> np.ndarray:
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=np.bool_)
    return arr.is_valid().to_numpy(zero_copy_only=False)


_VARIABLE_WIDTH = {
    "string": np.int32,
    "binary": np.int32,
    "large_string": np.int64,
    "large_binary": np.int64,
}


def _mix_column(out: np.ndarray, column: pa.Array | pa.ChunkedArray, seed: np.uint64) -> None:
    """Mix one column into `out`, chunk by chunk (no copy of large geometry columns)."""
    if isinstance(column, pa.ChunkedArray):
        start = 0
        for chunk in column.chunks:
            _mix_column(out[start : start + len(chunk)], chunk, seed)
            start += len(chunk)
        return
    arr = column
    kind = arr.type
    if pa.types.is_dictionary(kind):
        arr = arr.dictionary_decode()
        kind = arr.type
    offset_type = _VARIABLE_WIDTH.get(str(kind))
    if offset_type is not None:
        _, offsets_buf, data_buf = arr.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=offset_type)[
            arr.offset : arr.offset + len(arr) + 1
        ]
        data = (
            np.frombuffer(data_buf, dtype=np.uint8)
            if data_buf is not None
            else np.zeros(0, np.uint8)
        )
        _mix_bytes(out, offsets, data, _validity(arr), seed)
        return
    if pa.types.is_floating(kind):
        values = pc.fill_null(arr.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        values = np.where(values == 0.0, 0.0, values)  # -0.0 and 0.0 hash alike
        words = values.view(np.uint64)
    elif pa.types.is_boolean(kind):
        words = pc.fill_null(arr, False).to_numpy(zero_copy_only=False).astype(np.uint64)
    elif pa.types.is_integer(kind) or pa.types.is_temporal(kind):
        as_int = (
            arr.cast(pa.int64())
            if not pa.types.is_temporal(kind)
            else arr.view(pa.int32() if kind.bit_width == 32 else pa.int64()).cast(pa.int64())
        )
        words = pc.fill_null(as_int, 0).to_numpy(zero_copy_only=False).view(np.uint64)
    else:
        raise TypeError(f"cannot hash a column of type {kind}")
    _mix_words(out, np.ascontiguousarray(words), _validity(arr), seed)


def hash_columns(table: pa.Table, columns: list[str]) -> np.ndarray:
    """One stable uint64 per row over the given columns (order matters; nulls are distinct)."""
    out = np.zeros(table.num_rows, dtype=np.uint64)
    for index, name in enumerate(columns):
        seed = np.uint64(_splitmix(np.uint64(index + 1)))
        _mix_column(out, table.column(name), seed)
    return out


def row_hash(table: pa.Table, columns: list[str]) -> pa.Array:
    """The `row_hash` column: the stable hash as int64 (Delta has no unsigned integers)."""
    return pa.array(hash_columns(table, columns).view(np.int64), pa.int64())


_HEX = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")


def to_hex(hashes: np.ndarray) -> pa.Array:
    """Vectorized 16-character lowercase hex strings of uint64 hashes."""
    as_bytes = hashes.astype(">u8").view(np.uint8).reshape(-1, 8)
    chars = np.ascontiguousarray(_HEX[as_bytes]).view("S16").ravel()
    return pa.array(chars.astype(object), pa.binary()).cast(pa.string())

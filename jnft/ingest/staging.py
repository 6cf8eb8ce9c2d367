"""The rows of a vintage on their way to its merge: in memory (`TableRows`), or spooled batch by
batch to local scratch Arrow files (`SpooledRows`), so that a delivery larger than memory is
merged with only its ids and hashes held at once. Both answer what the merge asks: rows per
tile, the keys (id, hash) of the rows, and the rows themselves by group of tiles."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from jnft.ingest.hashing import hash_columns
from jnft.lakehouse.delta import frame_of

KEY_COLUMNS = ["feature_id", "row_hash", "tile"]
ROW = "_row"  # a spooled row's position in its vintage (dropped before anything is written)
# What a spool that was never given a batch holds.
_NO_ROWS = pa.schema(
    [
        ("feature_id", pa.string()),
        ("row_hash", pa.int64()),
        ("tile", pa.string()),
        (ROW, pa.int64()),
    ]
)


class Incoming(Protocol):
    """The rows of one vintage, as the merge reads them."""

    @property
    def schema(self) -> pa.Schema: ...

    def tile_counts(self) -> dict[str, int]:
        """Rows per tile."""
        ...

    def within(self, tiles: list[str]) -> Incoming:
        """The rows in these tiles only."""
        ...

    def keys(self) -> pl.DataFrame:
        """feature_id, row_hash, tile and `row` (what `batches` selects rows by)."""
        ...

    def duplicated_ids(self) -> pl.Series:
        """The feature_id values held by more than one row."""
        ...

    def batches(self, tiles: list[str], rows: np.ndarray | None = None) -> Iterator[pa.Table]:
        """The rows in `tiles` (those of `keys()["row"]` in `rows`, when given)."""
        ...


def _duplicated(ids: pl.Series) -> pl.Series:
    return ids.filter(ids.is_duplicated()).unique()


class TableRows:
    """A vintage held in memory as one Arrow table."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    @property
    def schema(self) -> pa.Schema:
        return self.table.schema

    def tile_counts(self) -> dict[str, int]:
        counts = frame_of(self.table.select(["tile"]))["tile"].value_counts()
        return dict(zip(counts["tile"].to_list(), counts["count"].to_list(), strict=True))

    def within(self, tiles: list[str]) -> TableRows:
        inside = pc.is_in(self.table["tile"], pa.array(tiles, pa.string()))
        return (
            self if pc.all(inside).as_py() in (True, None) else TableRows(self.table.filter(inside))
        )

    def keys(self) -> pl.DataFrame:
        return frame_of(self.table.select(KEY_COLUMNS)).with_row_index("row")

    def duplicated_ids(self) -> pl.Series:
        ids = frame_of(self.table.select(["feature_id"]))["feature_id"]
        # A cheap test on 64-bit hashes, confirmed on the strings.
        if ids.hash(seed=2154).n_unique() == len(ids):
            return ids.clear()
        return _duplicated(ids)

    def batches(self, tiles: list[str], rows: np.ndarray | None = None) -> Iterator[pa.Table]:
        # Copying a table is costly (geometries): take rows only when some are left out.
        table = self.table
        if rows is not None and len(rows) < table.num_rows:
            table = table.take(pa.array(np.sort(rows)))
        inside = pc.is_in(table["tile"], pa.array(tiles, pa.string()))
        yield table if pc.all(inside).as_py() in (True, None) else table.filter(inside)


class SpooledRows:
    """A vintage spooled to scratch Arrow IPC files, one per appended batch, its rows grouped
    by tile in one record batch per tile: the rows of a few tiles are read without the
    others'. Arrow IPC rather than Parquet: scratch is written once and read once or twice,
    and IPC costs neither encoding nor a row group per tile.

    Rows get a `_row` position when appended; `exclude` takes rows back out (duplicates found
    later in the stream). The scratch folder is removed by `close` (or on leaving a `with`).
    """

    def __init__(self, scratch: str | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="jnft-spool-", dir=scratch))
        # Per part: its file and the record batches of each tile; small, kept in memory.
        self.parts: list[tuple[Path, dict[str, list[int]]]] = []
        self.counts: dict[str, int] = {}
        self.excluded = np.zeros(0, np.int64)
        self.next_row = 0  # the first `_row` position not yet given to a row
        self._schema: pa.Schema | None = None
        self._tiles: set[str] | None = None  # the tiles `within` restricts to

    def __enter__(self) -> SpooledRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def schema(self) -> pa.Schema:
        if self._schema is None:
            return pa.schema(
                [("feature_id", pa.string()), ("row_hash", pa.int64()), ("tile", pa.string())]
            )
        return self._schema.remove(self._schema.get_field_index(ROW))

    def mark(self) -> int:
        """Where the parts stand now, to `rollback` to (a file that fails midway)."""
        return len(self.parts)

    def rollback(self, mark: int) -> None:
        for path, groups in self.parts[mark:]:
            for tile, count in _tile_rows(path, groups).items():
                self.counts[tile] -= count
            path.unlink(missing_ok=True)
        del self.parts[mark:]
        self.counts = {t: n for t, n in self.counts.items() if n}

    def append(self, table: pa.Table) -> None:
        """Spool a batch; it carries its `_row` positions (int64, unique in the vintage)."""
        if self._schema is None:
            self._schema = table.schema
        if table.num_rows == 0:
            return
        order = pc.sort_indices(table, [("tile", "ascending")])
        table = table.take(order)
        if table.schema != self._schema:
            table = table.cast(self._schema)
        tiles = table["tile"].combine_chunks()
        runs = pc.run_end_encode(tiles)
        ends = runs.run_ends.to_numpy()
        starts = np.concatenate([[0], ends[:-1]])
        path = self.folder / f"part-{len(self.parts):06d}.arrow"
        groups: dict[str, list[int]] = {}
        batch = table.combine_chunks().to_batches()[0]
        with pa.ipc.new_file(path, table.schema) as writer:
            for index, (tile, start, end) in enumerate(
                zip(runs.values.to_pylist(), starts.tolist(), ends.tolist(), strict=True)
            ):
                writer.write_batch(batch.slice(start, end - start))
                groups.setdefault(tile, []).append(index)
                self.counts[tile] = self.counts.get(tile, 0) + end - start
        self.parts.append((path, groups))

    def exclude(self, rows: np.ndarray) -> None:
        """Take these `_row` positions back out of the vintage."""
        if not len(rows):
            return
        taken = self._read(self.tiles(), [ROW, "tile"])
        hit = taken.filter(pl.col(ROW).is_in(pl.Series(rows, dtype=pl.Int64).implode()))
        for tile, count in hit["tile"].value_counts().iter_rows():
            self.counts[tile] -= count
        self.counts = {t: n for t, n in self.counts.items() if n}
        self.excluded = np.union1d(self.excluded, hit[ROW].to_numpy())

    def tiles(self) -> list[str]:
        return sorted(t for t in self.counts if self._tiles is None or t in self._tiles)

    def tile_counts(self) -> dict[str, int]:
        return {t: self.counts[t] for t in self.tiles()}

    def within(self, tiles: list[str]) -> SpooledRows:
        view = object.__new__(SpooledRows)
        view.__dict__.update(self.__dict__)
        view._tiles = set(tiles) if self._tiles is None else self._tiles & set(tiles)
        return view

    def _read(self, tiles: list[str], columns: list[str]) -> pl.DataFrame:
        tables = list(self._tables(tiles, columns))
        empty = (self._schema or _NO_ROWS).empty_table().select(columns)
        return frame_of(pa.concat_tables(tables) if tables else empty)

    def _tables(self, tiles: list[str], columns: list[str] | None) -> Iterator[pa.Table]:
        wanted = set(tiles)
        for path, groups in self.parts:
            chosen = sorted(i for t, g in groups.items() if t in wanted for i in g)
            if not chosen:
                continue
            with pa.OSFile(str(path)) as file:
                reader = pa.ipc.open_file(file)
                batches = [reader.get_batch(i) for i in chosen]
            table = pa.Table.from_batches(batches)
            table = table.select(columns) if columns is not None else table.combine_chunks()
            if len(self.excluded):
                kept = ~np.isin(table[ROW].to_numpy(), self.excluded)
                if not kept.all():
                    table = table.filter(pa.array(kept))
            yield table

    def ids_at(self, rows: np.ndarray) -> pl.DataFrame:
        """feature_id and `_row` of the rows at these positions."""
        wanted = pl.Series(rows, dtype=pl.Int64).implode()
        frames = [
            frame_of(t).filter(pl.col(ROW).is_in(wanted))
            for t in self._tables(self.tiles(), ["feature_id", ROW])
        ]
        return (
            pl.concat(frames)
            if frames
            else pl.DataFrame(schema={"feature_id": pl.String, ROW: pl.Int64})
        )

    def ordered(self, tiles: list[str] | None = None) -> pa.Table:
        """The rows (in `tiles`), in the order they were appended: a small layer in memory."""
        parts = list(self._tables(self.tiles() if tiles is None else tiles, None))
        table = pa.concat_tables(parts) if parts else (self._schema or _NO_ROWS).empty_table()
        return table.take(pc.sort_indices(table[ROW])).drop_columns(ROW)

    def keys(self) -> pl.DataFrame:
        keys = self._read(self.tiles(), [*KEY_COLUMNS, ROW])
        return keys.rename({ROW: "row"})

    def duplicated_ids(self) -> pl.Series:
        # 64-bit hashes of the ids (8 bytes a row), the strings read back only on a repeat.
        hashes = [
            hash_columns(t, ["feature_id"]) for t in self._tables(self.tiles(), ["feature_id", ROW])
        ]
        every = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
        values, counts = np.unique(every, return_counts=True)
        repeated = values[counts > 1]
        if not len(repeated):
            return pl.Series("feature_id", [], pl.String)
        ids = [
            t.filter(pa.array(np.isin(hash_columns(t, ["feature_id"]), repeated)))["feature_id"]
            for t in self._tables(self.tiles(), ["feature_id", ROW])
        ]
        suspects = pl.Series(
            "feature_id", pa.chunked_array(ids, pa.string()).to_pylist(), pl.String
        )
        return _duplicated(suspects)

    def batches(self, tiles: list[str], rows: np.ndarray | None = None) -> Iterator[pa.Table]:
        for table in self._tables(tiles, None):
            if rows is not None:
                table = table.filter(pa.array(np.isin(table[ROW].to_numpy(), rows)))
            if table.num_rows:
                yield table.drop_columns(ROW)


def _tile_rows(path: Path, groups: dict[str, list[int]]) -> dict[str, int]:
    with pa.OSFile(str(path)) as file:
        reader = pa.ipc.open_file(file)
        return {t: sum(reader.get_batch(i).num_rows for i in g) for t, g in groups.items()}

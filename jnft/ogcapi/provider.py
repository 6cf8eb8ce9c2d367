"""A pygeoapi feature provider over `lakehouse.duckdb`: one concept's `<concept>` view for the
current territory, its `<concept>_history` view when a client asks for a `datetime` (an instant:
the versions valid then; an interval: those valid at some time during it).

pygeoapi builds a provider per request from its definition (`data`: the DuckDB file; `table`:
the current view; `history`: the view of every version; `valid_from` / `valid_to`: the columns
of a version's validity). Geometries are stored in Lambert-93 (`storage_crs`); pygeoapi turns a
`bbox` into it before the query, and `crs_transform` turns the features into the requested CRS.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any

import duckdb
from dateutil.parser import isoparse
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)
from pygeoapi.util import crs_transform

from jnft.lakehouse.database import connect

# Columns of the lakehouse's bookkeeping, not properties of a feature.
HIDDEN = {"geometry", "bbox_xmin", "bbox_ymin", "bbox_xmax", "bbox_ymax", "row_hash"}
HIDDEN |= {"source_sha256", "run_id"}
_JSON_TYPES = {
    "VARCHAR": {"type": "string"},
    "BOOLEAN": {"type": "boolean"},
    "DATE": {"type": "string", "format": "date"},
    "TIMESTAMP WITH TIME ZONE": {"type": "string", "format": "date-time"},
    "TIMESTAMP": {"type": "string", "format": "date-time"},
}
_INTEGERS = (
    *("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"),
    *("UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"),
)
_NUMBERS = ("FLOAT", "DOUBLE", "DECIMAL")


_SHARED: dict[Path, tuple[tuple[int, int], duckdb.DuckDBPyConnection]] = {}
_SHARING = threading.Lock()


def cursor(database: Path) -> duckdb.DuckDBPyConnection:
    """A cursor on a read-only connection shared per database file: loading the extensions
    costs more than most queries. A rebuilt file (swapped in by `lakehouse_duckdb`) gets a new
    connection; the old one closes with its last cursor. The file is attached to an in-memory
    database: DuckDB would hand a second `connect` of the same path the stale instance."""
    path = Path(database).resolve()
    stat = os.stat(path)
    version = (stat.st_ino, stat.st_mtime_ns)
    with _SHARING:
        known = _SHARED.get(path)
        if known is None or known[0] != version:
            con = connect()
            con.execute(f"ATTACH '{path}' AS lakehouse (READ_ONLY)")
            known = version, con
            _SHARED[path] = known
        shared = known[1].cursor()
    return shared.execute("USE lakehouse")


def json_type(duckdb_type: str) -> dict[str, str]:
    """The JSON Schema of a DuckDB column type (strings for what JSON has no type for)."""
    if duckdb_type.startswith(_INTEGERS):
        return {"type": "integer"}
    if duckdb_type.startswith(_NUMBERS):
        return {"type": "number"}
    return dict(_JSON_TYPES.get(duckdb_type, {"type": "string"}))


def _instant(text: str) -> dt.datetime | None:
    """A bound of a `datetime` parameter (`..` or empty: open); naive times are UTC."""
    if text in ("", ".."):
        return None
    try:
        value = isoparse(text)
    except ValueError as error:
        raise ProviderInvalidQueryError(
            user_msg=f"datetime: {text!r} is not an RFC 3339 date or date-time"
        ) from error
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def validity(datetime_: str | None) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    """(start, end) of a `datetime` parameter, an instant giving start == end; None when
    absent (the current territory)."""
    if not datetime_:
        return None
    if "/" not in datetime_:
        instant = _instant(datetime_)
        return instant, instant
    start, end = datetime_.split("/", 1)
    return _instant(start), _instant(end)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _plain(value: Any) -> Any:
    """A DuckDB value as JSON has it (dates and times in ISO 8601)."""
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


class LakehouseProvider(BaseProvider):
    """Features of one concept of the lakehouse, current or as of a date."""

    id_field: str
    _fields: dict[str, dict[str, str]]

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.table: str = provider_def["table"]
        self.history: str = provider_def.get("history", self.table)
        self.valid_from: str = provider_def.get("valid_from", "valid_from")
        self.valid_to: str = provider_def.get("valid_to", "valid_to")
        self.id_field = self.id_field or "feature_id"
        self.get_fields()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        return cursor(Path(self.data))

    def get_fields(self) -> dict[str, dict[str, str]]:
        """The history view's columns (a version's validity included), bookkeeping aside."""
        if not self._fields:
            with self._connect() as con:
                columns = con.execute(f"DESCRIBE {_quoted(self.history)}").fetchall()
            self._fields = {
                name: json_type(kind) for name, kind, *_ in columns if name not in HIDDEN
            }
        return self._fields

    def _where(
        self,
        bbox: list[float],
        datetime_: str | None,
        properties: list[tuple[str, str]],
    ) -> tuple[str, str, list[Any]]:
        """(view, WHERE clause, parameters) of a query."""
        clauses: list[str] = ["TRUE"]
        params: list[Any] = []
        period = validity(datetime_)
        view = self.table if period is None else self.history
        if period is None and self.history != self.table:
            # The current rows as the `<concept>` view has them, with their (null) valid_to.
            view = self.history
            clauses.append(f"{_quoted(self.valid_to)} IS NULL")
        if period is not None:
            start, end = period
            if end is not None:
                clauses.append(f"{_quoted(self.valid_from)} <= ?")
                params.append(end)
            if start is not None:  # an instant is valid at `start` itself: valid_to excluded
                clauses.append(
                    f"({_quoted(self.valid_to)} IS NULL OR {_quoted(self.valid_to)} > ?)"
                )
                params.append(start)
        if bbox:
            x0, y0, x1, y1 = bbox[:2] + bbox[3:5] if len(bbox) == 6 else bbox  # z aside
            # The stored boxes prune before the exact test.
            clauses.append(
                "bbox_xmax >= ? AND bbox_xmin <= ? AND bbox_ymax >= ? AND bbox_ymin <= ? "
                "AND ST_Intersects(geometry, ST_MakeEnvelope(?, ?, ?, ?))"
            )
            params += [x0, x1, y0, y1, x0, y0, x1, y1]
        for name, value in properties:
            if name not in self.fields:
                raise ProviderInvalidQueryError(user_msg=f"unknown property {name!r}")
            clauses.append(f"CAST({_quoted(name)} AS VARCHAR) = ?")
            params.append(value)
        return view, " AND ".join(clauses), params

    def _features(
        self,
        con: duckdb.DuckDBPyConnection,
        sql: str,
        params: list[Any],
        select_properties: list[str],
        skip_geometry: bool,
    ) -> list[dict[str, Any]]:
        names = [n for n in self.fields if not select_properties or n in select_properties]
        names = list(dict.fromkeys([self.id_field, *names]))
        columns = ", ".join(_quoted(n) for n in names)
        geometry = "NULL" if skip_geometry else "ST_AsGeoJSON(geometry)"
        rows = con.execute(f"SELECT {columns}, {geometry} AS _geometry FROM ({sql})", params)
        features = []
        for row in rows.fetchall():
            values = dict(zip(names, row[:-1], strict=True))
            features.append(
                {
                    "type": "Feature",
                    "id": values[self.id_field],
                    "geometry": json.loads(row[-1]) if row[-1] else None,
                    "properties": {k: _plain(v) for k, v in values.items()},
                }
            )
        return features

    @crs_transform
    def query(
        self,
        offset: int = 0,
        limit: int = 10,
        resulttype: str = "results",
        bbox: list[float] | None = None,
        datetime_: str | None = None,
        properties: list[tuple[str, str]] | None = None,
        sortby: list[dict[str, str]] | None = None,
        select_properties: list[str] | None = None,
        skip_geometry: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """A page of the features matching bbox (storage CRS), datetime and properties."""
        view, where, params = self._where(bbox or [], datetime_, properties or [])
        order = [
            f"{_quoted(s['property'])} {'DESC' if s['order'] == '-' else 'ASC'}"
            for s in sortby or []
        ]
        # Paging needs a total order: the feature, then its version.
        order += [_quoted(self.id_field)]
        if view == self.history:
            order.append(_quoted(self.valid_from))
        selected = f"SELECT * FROM {_quoted(view)} WHERE {where}"
        try:
            with self._connect() as con:
                count = con.execute(f"SELECT count(*) FROM ({selected})", params).fetchone()
                matched = count[0] if count else 0
                features = []
                if resulttype != "hits":
                    page = f"{selected} ORDER BY {', '.join(order)} LIMIT {int(limit)} "
                    page += f"OFFSET {int(offset)}"
                    features = self._features(
                        con, page, params, select_properties or [], skip_geometry
                    )
        except duckdb.Error as error:
            raise ProviderQueryError(user_msg=f"{self.table}: {error}") from error
        return {
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": matched,
            "numberReturned": len(features),
        }

    @crs_transform
    def get(self, identifier: str, **kwargs: Any) -> dict[str, Any]:
        """A feature: its current version, else its last one (a feature since removed)."""
        sql = (
            f"SELECT * FROM {_quoted(self.history)} WHERE {_quoted(self.id_field)} = ? "
            f"ORDER BY {_quoted(self.valid_to)} IS NULL DESC, {_quoted(self.valid_from)} DESC "
            "LIMIT 1"
        )
        with self._connect() as con:
            features = self._features(con, sql, [identifier], [], False)
        if not features:
            raise ProviderItemNotFoundError(user_msg=f"no feature {identifier!r} in {self.table}")
        return features[0]

    def __repr__(self) -> str:
        return f"<LakehouseProvider> {self.table}"

"""A pygeoapi EDR provider over a series concept's views: `<concept>_stations` (where) and
`<concept>` (the current value of each station, variable and time).

EDR rather than Features for the observations: a series is a value per time at a fixed place,
which EDR's queries ask for directly (`locations/{station}`, `position`, `area`, with
`datetime` and `parameter-name`) and CoverageJSON's `PointSeries` carries without repeating the
station on every row; the stations stay a Features collection (the same collection's `items`).
The answer is a CoverageCollection with one coverage per station and variable, each on its own
time axis (a stage every few minutes and a daily mean discharge do not share one).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
from pygeoapi.provider.base import (
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
    ProviderQueryError,
    ProviderRequestEntityTooLargeError,
)
from pygeoapi.provider.base_edr import BaseEDRProvider
from shapely.geometry.base import BaseGeometry

from jnft.ogcapi.provider import cursor, validity
from jnft.tiles import TARGET_CRS

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# A `position` finds the stations within this distance of the point (a click on a map).
SNAP_M = 100.0
# EDR has no paging: a longer answer is refused, asking for a shorter datetime window.
MAX_VALUES = 200_000
_LONLAT = f"ST_Transform(geometry, '{TARGET_CRS}', 'OGC:CRS84')"


def provider_definition(
    database: Path, concept: str, parameters: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The EDR provider entry of a series concept; `parameters`: variable -> title, unit."""
    return {
        "type": "edr",
        "name": "jnft.ogcapi.series.SeriesProvider",
        "data": str(database),
        "stations": f"{concept}_stations",
        "observations": concept,
        "parameters": parameters,
    }


def parameters_of(con: duckdb.DuckDBPyConnection, concept: str) -> dict[str, dict[str, Any]]:
    """The variables a series holds and their units (from every row ever ingested)."""
    rows = con.execute(
        f'SELECT variable, any_value(unit) FROM "{concept}_history" GROUP BY ALL ORDER BY ALL'
    ).fetchall()
    return {variable: {"title": variable, "unit": unit} for variable, unit in rows}


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


class SeriesProvider(BaseEDRProvider):
    """The observations of a series concept's stations, by station, point or area."""

    _fields: dict[str, dict[str, Any]]

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.stations: str = provider_def["stations"]
        self.observations: str = provider_def["observations"]
        self.parameters: dict[str, dict[str, Any]] = provider_def["parameters"]
        self.get_fields()

    def get_fields(self) -> dict[str, dict[str, Any]]:
        """The variables, as EDR parameters (pygeoapi's description reads `x-ogc-unit`)."""
        if not self._fields:
            self._fields = {
                name: {"title": p["title"], "type": "number", "x-ogc-unit": p["unit"] or ""}
                for name, p in self.parameters.items()
            }
        return self._fields

    def _stations(
        self, where: str, params: list[Any], datetime_: str | None
    ) -> list[dict[str, Any]]:
        """Stations (lon/lat) matching a clause, and observing during `datetime_` if given."""
        period = validity(datetime_)
        if period is not None:
            start, end = period
            if end is not None:
                where += " AND first_time <= ?"
                params = [*params, end]
            if start is not None:
                where += " AND last_time >= ?"
                params = [*params, start]
        sql = (
            f"SELECT feature_id, name, variables, first_time, last_time, observations, "
            f'ST_AsGeoJSON({_LONLAT}) FROM "{self.stations}" '
            f"WHERE geometry IS NOT NULL AND {where} ORDER BY feature_id"
        )
        with cursor(Path(self.data)) as con:
            rows = con.execute(sql, params).fetchall()
        names = ("id", "name", "variables", "first_time", "last_time", "observations")
        return [
            {**dict(zip(names, row[:-1], strict=True)), "geometry": json.loads(row[-1])}
            for row in rows
        ]

    def _series(
        self, stations: list[dict[str, Any]], datetime_: str | None, variables: list[str]
    ) -> dict[str, Any]:
        """The CoverageCollection of the stations' observations."""
        unknown = sorted(set(variables) - set(self.parameters))
        if unknown:
            raise ProviderInvalidQueryError(
                user_msg=f"parameter-name: no variable {unknown[0]!r}; "
                f"this series has {', '.join(self.parameters)}"
            )
        coverages: list[dict[str, Any]] = []
        if not stations:
            return self._collection(coverages, variables)
        clauses = [f"station IN ({', '.join('?' * len(stations))})"]
        params: list[Any] = [s["id"] for s in stations]
        period = validity(datetime_)
        if period is not None:
            start, end = period
            if start is not None:
                clauses.append('"time" >= ?')
                params.append(start)
            if end is not None:
                clauses.append('"time" <= ?')
                params.append(end)
        if variables:
            clauses.append(f"variable IN ({', '.join('?' * len(variables))})")
            params += variables
        selected = f'FROM "{self.observations}" WHERE {" AND ".join(clauses)}'
        try:
            with cursor(Path(self.data)) as con:
                found = con.execute(f"SELECT count(*) {selected}", params).fetchone()
                count = found[0] if found else 0
                if count > MAX_VALUES:
                    raise ProviderRequestEntityTooLargeError(
                        user_msg=f"{count} observations match, at most {MAX_VALUES} in one "
                        "answer: ask a shorter datetime interval or fewer parameter-name"
                    )
                rows = con.execute(
                    f'SELECT station, variable, list("time" ORDER BY "time"), '
                    f'list(value ORDER BY "time") {selected} GROUP BY ALL ORDER BY ALL',
                    params,
                ).fetchall()
        except duckdb.Error as error:
            raise ProviderQueryError(user_msg=f"{self.observations}: {error}") from error
        where = {s["id"]: s["geometry"]["coordinates"] for s in stations}
        for station, variable, times, values in rows:
            lon, lat = where[station]
            coverages.append(
                {
                    "type": "Coverage",
                    "id": f"{station}/{variable}",
                    "domain": {
                        "type": "Domain",
                        "domainType": "PointSeries",
                        "axes": {
                            "x": {"values": [lon]},
                            "y": {"values": [lat]},
                            "t": {"values": [_iso(t) for t in times]},
                        },
                        "referencing": [
                            {
                                "coordinates": ["x", "y"],
                                "system": {"type": "GeographicCRS", "id": CRS84},
                            },
                            {
                                "coordinates": ["t"],
                                "system": {"type": "TemporalRS", "calendar": "Gregorian"},
                            },
                        ],
                    },
                    "ranges": {
                        variable: {
                            "type": "NdArray",
                            "dataType": "float",
                            "axisNames": ["t"],
                            "shape": [len(values)],
                            "values": values,
                        }
                    },
                }
            )
        return self._collection(coverages, variables)

    def _collection(self, coverages: list[dict[str, Any]], variables: list[str]) -> dict[str, Any]:
        parameters = {}
        for name in variables or self.parameters:
            unit = self.parameters[name]["unit"]
            parameters[name] = {
                "type": "Parameter",
                "description": {"fr": self.parameters[name]["title"]},
                "observedProperty": {"id": name, "label": {"fr": self.parameters[name]["title"]}},
                **({"unit": {"symbol": unit}} if unit else {}),
            }
        return {
            "type": "CoverageCollection",
            "domainType": "PointSeries",
            "parameters": parameters,
            "coverages": coverages,
        }

    def locations(
        self,
        location_id: str | None = None,
        datetime_: str | None = None,
        select_properties: list[str] | None = None,
        bbox: list[float] | None = None,
        limit: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Without an id, the stations (GeoJSON, lon/lat); with one, its observations."""
        if location_id is None:
            where, params = "TRUE", []
            if bbox:
                x0, y0, x1, y1 = bbox[:2] + bbox[3:5] if len(bbox) == 6 else bbox
                where = f"ST_Intersects({_LONLAT}, ST_MakeEnvelope(?, ?, ?, ?))"
                params = [x0, y0, x1, y1]
            stations = self._stations(where, params, datetime_)[: limit or None]
            return {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": s["id"],
                        "geometry": s["geometry"],
                        "properties": {
                            "name": s["name"] or s["id"],
                            "variables": s["variables"],
                            "first_time": _iso(s["first_time"]),
                            "last_time": _iso(s["last_time"]),
                            "observations": s["observations"],
                        },
                    }
                    for s in stations
                ],
            }
        stations = self._stations("feature_id = ?", [location_id], None)
        if not stations:
            raise ProviderItemNotFoundError(
                user_msg=f"no station {location_id!r} in {self.stations} (see …/locations)"
            )
        return self._series(stations, datetime_, select_properties or [])

    def position(
        self,
        wkt: BaseGeometry,
        datetime_: str | None = None,
        select_properties: list[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The observations of the stations within SNAP_M of a point (lon/lat)."""
        if wkt.geom_type != "Point":
            raise ProviderInvalidQueryError(user_msg="coords: a position is a POINT(lon lat)")
        where = (
            f"ST_DWithin(geometry, ST_Transform(ST_Point(?, ?), 'OGC:CRS84', '{TARGET_CRS}'), "
            f"{SNAP_M})"
        )
        stations = self._stations(where, [wkt.x, wkt.y], None)
        return self._series(stations, datetime_, select_properties or [])

    def area(
        self,
        wkt: BaseGeometry,
        datetime_: str | None = None,
        select_properties: list[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The observations of the stations within a polygon (lon/lat)."""
        if wkt.geom_type not in ("Polygon", "MultiPolygon"):
            raise ProviderInvalidQueryError(user_msg="coords: an area is a POLYGON((lon lat, …))")
        where = f"ST_Within({_LONLAT}, ST_GeomFromText(?))"
        stations = self._stations(where, [wkt.wkt], None)
        return self._series(stations, datetime_, select_properties or [])

    def __repr__(self) -> str:
        return f"<SeriesProvider> {self.observations}"

"""What the viewer reads from the lakehouse: the public concepts (fiches, latest C1–C10
checks), their gold snapshots and the buildings' history in web mercator for vector tiles
(DuckDB spatial's ST_AsMVT), their PMTiles archives, the DEM and flood-map COGs, the point
cloud's files, a building's depth in each scenario and a commune's exposure by depth class.
Restricted concepts are never loaded.

The current layers are drawn from their PMTiles archives (gold/<concept>.pmtiles, made by the
`tiles/<concept>` assets) where they exist; the tiles made on request serve the buildings as
of a past date (the archives hold the current features only) and layers without archive."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import duckdb
import numpy as np
import pyproj

from jnft.kinds import kind_of
from jnft.lakehouse.database import connect, load_extensions
from jnft.lakehouse.read import layer
from jnft.lakehouse.store import Lakehouse
from jnft.publish.pmtiles import HIDDEN_COLUMNS as _HIDDEN
from jnft.publish.pmtiles import pmtiles_path
from jnft.quality.checks import evaluate
from jnft.quality.fiche import Fiche, filling, load_fiches
from jnft.quality.observe import observe
from jnft.settings import Settings
from jnft.simulation.exposure import depth_class
from jnft.simulation.scenario import load_scenarios
from jnft.tiles import TARGET_CRS
from jnft.viewer.pointcloud import CloudTile
from jnft.viewer.raster import sample_depth

MVT_EXTENT = 4096
_MVT_TYPES = {"VARCHAR", "FLOAT", "DOUBLE", "INTEGER", "BIGINT", "BOOLEAN", "SMALLINT"}
_AS_TEXT = {"DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"}


class NotFound(LookupError):
    """A concept, scenario or feature the viewer does not have (or must not show)."""


@dataclass(frozen=True)
class VectorSource:
    """A vector concept's rows in web mercator, in an in-memory table, with the expressions
    of the properties its tiles carry."""

    concept: str
    table: str
    properties: tuple[str, ...]  # quoted column names of the table
    history: bool  # rows carry valid_from / valid_to: tiles can be drawn as of a date


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Territory:
    """The lakehouse as the viewer sees it. Built once per server: a re-materialized
    lakehouse is seen after a restart."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Lakehouse.of(settings)
        if not self.store.exists(self.store.duckdb_path):
            raise FileNotFoundError(
                f"{self.store.uri(self.store.duckdb_path)} does not exist: materialize the "
                "lakehouse first (jnft run)"
            )
        self.fiches = {f.id: f for f in load_fiches(settings.concepts) if f.is_public}
        public = list(self.fiches.values())
        self.buildings = filling(public, "buildings", required=False)
        self.communes = filling(public, "admin_units", required=False)
        self.terrain = filling(public, "terrain", required=False)
        self.pointcloud = next((f for f in public if f.kind == "pointcloud"), None)
        # One in-memory database, read by a cursor per request (DuckDB cursors are
        # thread-safe; the lakehouse file is attached read-only, so `jnft run` may go on).
        self._con = load_extensions(duckdb.connect())
        database = self.store.fetch(self.store.duckdb_path)
        self._con.execute(f"ATTACH '{database}' AS lh (READ_ONLY)")
        self.vectors: dict[str, VectorSource] = {}
        self.history: VectorSource | None = None
        for fiche in public:
            gold = self.store.gold_path(fiche.id)
            if fiche.kind == "vector" and self.store.exists(gold):
                source = f"read_parquet('{self.store.fetch(gold)}')"
                self.vectors[fiche.id] = self._load(fiche.id, source, False)
        if self.buildings is not None and self.buildings.id in self.vectors:
            source = f"lh.main.{self.buildings.id}_history"
            self.history = self._load(self.buildings.id, source, True)

    def _load(self, concept: str, source: str, history: bool) -> VectorSource:
        table = f"{'history' if history else 'gold'}_{concept}"
        columns = self._con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
        properties, names = [], []
        for name, kind, *_ in columns:
            if name in _HIDDEN or kind not in _MVT_TYPES | _AS_TEXT:
                continue
            names.append(_quote(name))
            # ST_AsMVT takes numbers, text and booleans: dates travel as ISO text.
            properties.append(
                f"CAST({_quote(name)} AS VARCHAR) AS {_quote(name)}"
                if kind in _AS_TEXT
                else _quote(name)
            )
        extra = ", valid_from AS _from, valid_to AS _to" if history else ""
        self._con.execute(
            f"""CREATE TABLE {table} AS
            SELECT * EXCLUDE (geometry), ST_XMin(geom) AS _xmin, ST_YMin(geom) AS _ymin,
                   ST_XMax(geom) AS _xmax, ST_YMax(geom) AS _ymax
            FROM (SELECT {", ".join(properties)}{extra},
                         ST_Transform(geometry, '{TARGET_CRS}', 'EPSG:3857', always_xy := true)
                             AS geom, geometry
                  FROM {source} WHERE geometry IS NOT NULL)"""
        )
        return VectorSource(concept, table, tuple(names), history)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        return self._con.cursor()

    def fiche(self, concept: str) -> Fiche:
        if concept not in self.fiches:
            raise NotFound(f"no public concept {concept!r}")
        return self.fiches[concept]

    # -- vector tiles ---------------------------------------------------------------------

    def vector_tile(
        self, concept: str, bounds: tuple[float, float, float, float], asof: dt.date | None
    ) -> bytes:
        """A Mapbox Vector Tile of a concept's features over web-mercator `bounds` (its
        gold snapshot; its history as of a date when `asof` is given)."""
        if asof is not None:
            if self.history is None or concept != self.history.concept:
                raise NotFound(f"{concept} has no history in the viewer")
            source = self.history
            when = " AND _from <= ?::TIMESTAMPTZ AND (_to IS NULL OR _to > ?::TIMESTAMPTZ)"
            extra: list[object] = [asof, asof]
        elif concept in self.vectors:
            source, when, extra = self.vectors[concept], "", []
        else:
            raise NotFound(f"no vector layer {concept!r}")
        xmin, ymin, xmax, ymax = bounds
        # A margin of 64/4096 of the tile keeps outlines from being cut at tile edges.
        margin = (xmax - xmin) * 64 / MVT_EXTENT
        row = (
            self._cursor()
            .execute(
                f"""SELECT ST_AsMVT(t, ?, {MVT_EXTENT}, 'geom') FROM (
                    SELECT {", ".join(source.properties)},
                           ST_AsMVTGeom(geom, ST_Extent(ST_MakeEnvelope(?, ?, ?, ?)),
                                        {MVT_EXTENT}, 64, true) AS geom
                    FROM {source.table}
                    WHERE _xmax >= ? AND _xmin <= ? AND _ymax >= ? AND _ymin <= ?{when}
                ) AS t WHERE geom IS NOT NULL""",
                [
                    concept,
                    xmin,
                    ymin,
                    xmax,
                    ymax,
                    xmin - margin,
                    xmax + margin,
                    ymin - margin,
                    ymax + margin,
                    *extra,
                ],
            )
            .fetchone()
        )
        return bytes(row[0]) if row and row[0] is not None else b""

    @cached_property
    def archives(self) -> dict[str, Path]:
        """The PMTiles archive of each vector layer that has one (its current features)."""
        paths = {c: pmtiles_path(self.store, c) for c in self.vectors}
        return {c: self.store.fetch(p) for c, p in paths.items() if self.store.exists(p)}

    def archive(self, concept: str) -> Path:
        """The local copy of a layer's PMTiles archive (NotFound: none, or not public)."""
        if concept not in self.archives:
            raise NotFound(f"no PMTiles archive of {concept!r}")
        return self.archives[concept]

    # -- point clouds ---------------------------------------------------------------------

    @cached_property
    def cloud_tiles(self) -> dict[str, CloudTile]:
        """The point cloud's tiles (current index rows) with their files in bronze."""
        fiche = self.pointcloud
        if fiche is None or not kind_of(fiche).exists(self.store, fiche):
            return {}
        rows = layer(self.store, fiche.id, ["tile", "source_sha256", "point_count"])
        bronze = self.store.bronze_dir(fiche.source.name)

        def landed(sha: str) -> Path:
            """The point file landed in bronze under its hash (not its JSON sidecar)."""
            found = [p for p in self.store.listing(bronze, f"{sha}.*") if p.suffix != ".json"]
            if not found:
                raise FileNotFoundError(f"{bronze}: no point file {sha}.* (its index row's)")
            return self.store.fetch(min(found))

        return {
            tile: CloudTile(
                tile, tuple(landed(s) for s in sources.split(",")), fiche.source.crs, points
            )
            for tile, sources, points in zip(*(c.to_pylist() for c in rows.columns), strict=True)
        }

    def cloud_tile(self, tile: str) -> CloudTile:
        """A tile of the point cloud (NotFound: the cloud has no such tile)."""
        if tile not in self.cloud_tiles:
            raise NotFound(f"no point-cloud tile {tile!r}")
        return self.cloud_tiles[tile]

    # -- what the front-end is told -------------------------------------------------------

    @cached_property
    def vintages(self) -> list[str]:
        """The buildings' vintages (the dates their versions start), oldest first."""
        if self.history is None:
            return []
        rows = self._cursor().sql(
            f"SELECT DISTINCT CAST(_from AS DATE) FROM {self.history.table} ORDER BY 1"
        )
        return [d.isoformat() for (d,) in rows.fetchall()]

    @cached_property
    def scenarios(self) -> list[dict]:
        """The scenarios that have depth maps, with their title and deepest water."""
        titles = {s.id: s.title for s in load_scenarios(self.settings.scenarios)}
        rows = self._cursor().sql(
            "SELECT scenario, max(maximum) FROM lh.main.flood_maps "
            "WHERE product = 'max_depth' GROUP BY scenario ORDER BY scenario"
        )
        return [
            {"id": s, "title": titles.get(s, s), "max_depth_m": deepest}
            for s, deepest in rows.fetchall()
        ]

    def flood_maps(self, scenario: str, product: str) -> list[Path]:
        """The local COGs of a scenario's flood map `product` (max_depth, max_speed,
        arrival…), one per tile (NotFound: the scenario has none)."""
        paths = [
            self.store.local(href)
            for (href,) in self._cursor()
            .execute(
                "SELECT href FROM lh.main.flood_maps WHERE product = ? "
                "AND scenario = ? ORDER BY tile",
                [product, scenario],
            )
            .fetchall()
        ]
        if not paths:
            raise NotFound(f"no {product} map of scenario {scenario!r}")
        return paths

    def depth_maps(self, scenario: str) -> list[Path]:
        """The local COGs of a scenario's max depth, one per tile."""
        return self.flood_maps(scenario, "max_depth")

    @cached_property
    def dem(self) -> tuple[list[Path], float | None, float | None]:
        """(COG paths, lowest, highest elevation in m) of the terrain when it is a raster."""
        if self.terrain is None or self.terrain.kind != "raster":
            return [], None, None
        rows = layer(self.store, self.terrain.id, ["path", "minimum", "maximum"])
        paths = [self.store.file(p) for p in rows["path"].to_pylist()]
        lows = [v for v in rows["minimum"].to_pylist() if v is not None]
        highs = [v for v in rows["maximum"].to_pylist() if v is not None]
        return paths, min(lows, default=None), max(highs, default=None)

    @cached_property
    def bounds(self) -> list[float]:
        """The territory's extent in longitude / latitude (of its vector layers)."""
        parts = [
            f"SELECT min(_xmin) a, min(_ymin) b, max(_xmax) c, max(_ymax) d FROM {v.table}"
            for v in self.vectors.values()
        ]
        if not parts:
            return [-5.0, 41.0, 10.0, 51.5]  # metropolitan France
        row = (
            self._cursor()
            .sql(f"SELECT min(a), min(b), max(c), max(d) FROM ({' UNION ALL '.join(parts)})")
            .fetchone()
        )
        assert row is not None
        to_lonlat = pyproj.Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
        return [round(v, 6) for v in to_lonlat.transform_bounds(*row)]

    def layers(self) -> list[dict]:
        """The public concepts, each with its kind, licence, tiles and latest checks."""
        return [self._layer(fiche) for fiche in self.fiches.values()]

    def _layer(self, fiche: Fiche) -> dict:
        outcomes = self._checks.get(fiche.id)
        return {
            "id": fiche.id,
            "title": fiche.title,
            "kind": fiche.kind,
            "theme": fiche.theme,
            "geometry_type": fiche.criteria.c01_nature.geometry_type,
            "licence": fiche.criteria.c05_licence.licence,
            "roles": sorted(fiche.roles),
            "vector_tiles": f"/tiles/{fiche.id}/{{z}}/{{x}}/{{y}}.mvt"
            if fiche.id in self.vectors
            else None,
            "pmtiles": f"/pmtiles/{fiche.id}.pmtiles" if fiche.id in self.archives else None,
            "checks": outcomes,
        }

    @cached_property
    def _checks(self) -> dict[str, dict[str, dict] | None]:
        """C1–C10 of every public concept as the data shows them now (None before its first
        landing); computed once, at the first request that needs them."""
        checks: dict[str, dict[str, dict] | None] = {}
        for fiche in self.fiches.values():
            if not kind_of(fiche).exists(self.store, fiche):
                checks[fiche.id] = None
                continue
            outcomes = evaluate(fiche, observe(self.store, fiche, None))
            checks[fiche.id] = {
                name: {"passed": o.passed, "warning": o.warning, "description": o.description}
                for name, o in outcomes.items()
            }
        return checks

    # -- as of a date, feature info ------------------------------------------------------

    def asof(self, concept: str, when: dt.date) -> dict:
        """How many features a concept had at a date, through the lakehouse's `asof()`."""
        self.fiche(concept)
        if self.buildings is None or concept != self.buildings.id:
            raise NotFound(f"{concept} has no history in the viewer")
        stamp = when.isoformat()
        with connect(self.store.fetch(self.store.duckdb_path)) as con:
            row = con.sql(f"SELECT count(*) FROM asof('{concept}', TIMESTAMP '{stamp}')").fetchone()
        return {
            "concept": concept,
            "date": stamp,
            "features": row[0] if row else 0,
            "vector_tiles": f"/tiles/{concept}/{{z}}/{{x}}/{{y}}.mvt?asof={stamp}",
        }

    def building(self, feature_id: str) -> dict:
        """A building's attributes (its latest version), its max depth and depth class in
        each scenario (at its centroid, as the exposure counts it)."""
        if self.buildings is None:
            raise NotFound("no concept fills the buildings role")
        cursor = self._cursor().execute(
            f"""SELECT * EXCLUDE (geometry), ST_X(ST_Centroid(geometry)) AS _x,
                       ST_Y(ST_Centroid(geometry)) AS _y
                FROM lh.main.{self.buildings.id}_history WHERE feature_id = ?
                ORDER BY valid_from DESC LIMIT 1""",
            [feature_id],
        )
        row = cursor.fetchone()
        if row is None:
            raise NotFound(f"no building {feature_id!r}")
        names = [d[0] for d in cursor.description]
        record = dict(zip(names, row, strict=True))
        x, y = record.pop("_x"), record.pop("_y")
        attributes = {
            k: v.isoformat() if isinstance(v, dt.date) else v
            for k, v in record.items()
            if k not in _HIDDEN or k == "valid_to"
        }
        flooding = []
        for scenario in self.scenarios:
            depths = [sample_depth(p, x, y) for p in self.depth_maps(scenario["id"])]
            depth = next((d for d in depths if d is not None), None)
            label = depth_class(np.array([np.nan if depth is None else depth]))[0]
            flooding.append(
                {
                    "scenario": scenario["id"],
                    "title": scenario["title"],
                    "depth_m": round(depth, 3) if depth is not None else None,
                    "depth_class": label,
                }
            )
        return {
            "concept": self.buildings.id,
            "feature_id": feature_id,
            "attributes": attributes,
            "x": x,
            "y": y,
            "crs": TARGET_CRS,
            "flooding": flooding,
        }

    def commune_exposure(self, code: str) -> dict:
        """A commune's buildings, dwellings and residents by scenario and depth class."""
        cursor = self._cursor().execute(
            """SELECT scenario, any_value(commune), depth_class, sum(buildings)::BIGINT,
                      sum(dwellings)::BIGINT, round(sum(residents))
               FROM lh.main.exposure WHERE insee_com = ? GROUP BY scenario, depth_class
               ORDER BY scenario, depth_class""",
            [code],
        )
        rows = cursor.fetchall()
        return {
            "code": code,
            "name": rows[0][1] if rows else None,
            "exposure": [
                {
                    "scenario": s,
                    "depth_class": c,
                    "buildings": b,
                    "dwellings": d,
                    "residents": r,
                }
                for s, _, c, b, d, r in rows
            ],
        }

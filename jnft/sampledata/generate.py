"""Write the sample territory into a sources folder, laid out like the real deliveries."""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
import pyproj
import shapely
import yaml
from rasterio.transform import from_origin

from jnft.formats.raster import write_ascii_grid
from jnft.sampledata import features, sensors
from jnft.sampledata.terrain import cell_centres, elevation, sample_elevation
from jnft.sampledata.territory import SampleTerritory
from jnft.tiles import tiles_covering

log = logging.getLogger(__name__)

VINTAGES = (dt.date(2023, 3, 15), dt.date(2025, 3, 15))
LIDAR_VINTAGE = dt.date(2024, 6, 30)  # acquisition of the LiDAR HD block
DEM_TILE_M = 5_000  # RGE ALTI 5 m is delivered in 5 km tiles
PERSONS_PER_HOUSEHOLD = 2.2


def _bdtopo_path(root: Path, vintage: dt.date) -> Path:
    name = f"BDTOPO_3-4_TOUSTHEMES_GPKG_LAMB93_R75_{vintage.isoformat()}"
    return root / "bdtopo" / name / f"{name}.gpkg"


def write_dem_tiles(folder: Path, t: SampleTerritory, dem: np.ndarray) -> list[Path]:
    """RGE ALTI-style ESRI ASCII grids: 5 km tiles, cell centres on multiples of 5 m, no CRS."""
    folder.mkdir(parents=True, exist_ok=True)
    r = t.resolution
    per_tile = int(DEM_TILE_M / r)
    xmin, _, _, ymax = t.bounds
    paths = []
    for row0 in range(0, dem.shape[0], per_tile):
        for col0 in range(0, dem.shape[1], per_tile):
            block = dem[row0 : row0 + per_tile, col0 : col0 + per_tile]
            x0 = xmin + col0 * r  # first cell centre
            y0 = ymax - row0 * r
            km = f"{round(x0) // 1000:04d}_{round(y0 / 1000):04d}"
            name = f"RGEALTI_FXX_{km}_MNT_LAMB93_IGN69.asc"
            transform = from_origin(x0 - r / 2, y0 + r / 2, r, r)
            write_ascii_grid(block, transform, folder / name, nodata=-99999.0)
            paths.append(folder / name)
    return paths


def _write_gpkg_layer(
    path: Path, layer: str, table: pa.Table, geometry: np.ndarray, geometry_type: str
) -> None:
    data = table.append_column("geometry", pa.array(list(shapely.to_wkb(geometry)), pa.binary()))
    pyogrio.write_arrow(
        data,
        path,
        layer=layer,
        driver="GPKG",
        geometry_name="geometry",
        geometry_type=geometry_type,
        crs="EPSG:2154",
        append=path.exists(),
    )


def population_grid(t: SampleTerritory, buildings: features.Buildings) -> pa.Table:
    """INSEE Filosofi-style 200 m grid (EPSG:3035 cell ids) from the dwellings of buildings."""
    dwellings = buildings.table["nombre_de_logements"].to_numpy()
    centres = shapely.centroid(buildings.footprints[dwellings > 0])
    to_laea = pyproj.Transformer.from_crs(2154, 3035, always_xy=True)
    east, north = to_laea.transform(shapely.get_x(centres), shapely.get_y(centres))
    cell_e = (np.floor(np.asarray(east) / 200) * 200).astype(np.int64)
    cell_n = (np.floor(np.asarray(north) / 200) * 200).astype(np.int64)
    keys, inverse = np.unique(np.column_stack([cell_n, cell_e]), axis=0, return_inverse=True)
    households = np.bincount(inverse.ravel(), weights=dwellings[dwellings > 0] * 0.92)
    ids = [f"CRS3035RES200mN{n}E{e}" for n, e in keys]
    km = [f"CRS3035RES1000mN{n // 1000 * 1000}E{e // 1000 * 1000}" for n, e in keys]
    return pa.table(
        {
            "Idcar_200m": ids,
            "Idcar_1km": km,
            "I_est_200": pa.array((households >= 11).astype(np.int32)),
            "Ind": pa.array(np.round(households * PERSONS_PER_HOUSEHOLD, 1)),
            "Men": pa.array(np.round(households, 1)),
            "Log_soc": pa.array(np.round(households * 0.12, 1)),
        }
    )


def write_legal_populations(out: Path, population: list[int]) -> Path:
    """INSEE legal populations in the national file's layout (`;`, codes with leading zeros,
    Corsican 2A/2B codes): the sample's communes and a few others of France."""
    folder = out / "insee" / "populations-legales-2021_2024-01-01"
    folder.mkdir(parents=True, exist_ok=True)
    header = "REG;Région;DEP;CODARR;CODCAN;CODCOM;COM;Commune;PMUN;PCAP;PTOT"
    others = [
        "84;Auvergne-Rhône-Alpes;01;2;08;001;01001;L'Abergement-Clémenciat;832;16;848",
        "94;Corse;2A;1;01;004;2A004;Ajaccio;71361;1189;72550",
        "75;Nouvelle-Aquitaine;17;3;10;300;17300;La Rochelle;79961;1764;81725",
    ]
    ours = [
        f"75;Nouvelle-Aquitaine;17;3;10;{code[2:]};{code};{name};{p};{round(p * 0.02)};"
        f"{p + round(p * 0.02)}"
        for (name, code), p in zip(features.COMMUNES, population, strict=True)
    ]
    path = folder / "donnees_communes.csv"
    path.write_text("\n".join([header, *others, *ours]) + "\n", encoding="utf-8")
    return path


def generate(out: Path, territory: SampleTerritory | None = None) -> dict:
    """Generate every source of the territory under `out`; returns the territory manifest."""
    t = territory or SampleTerritory()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(t.seed)
    started = time.perf_counter()

    x, y = cell_centres(t)
    dem = elevation(t, x, y, rng)

    def dem_at(px, py):
        return sample_elevation(dem, t, px, py)

    rge_alti = out / "rge_alti" / "RGEALTI_2-0_5M_ASC_LAMB93-IGN69_R75_2021-06-15"
    write_dem_tiles(rge_alti, t, dem)
    log.info("DEM written (%d × %d cells)", *dem.shape)

    first = features.generate_buildings(t, rng, dem_at)
    second = features.next_vintage(first, t, rng, dem_at, VINTAGES[1] - dt.timedelta(days=90))
    hydro = features.watercourses(t, dem_at)
    road = features.roads(t, rng)
    zones = features.equipment(first, t, rng)
    for vintage, bati in zip(VINTAGES, (first, second), strict=True):
        path = _bdtopo_path(out, vintage)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        ground = bati.table["altitude_minimale_sol"].to_numpy()
        _write_gpkg_layer(
            path,
            "batiment",
            bati.table,
            shapely.force_3d(bati.footprints, ground),
            "MultiPolygon Z",
        )
        for layer, table, kind in (
            ("troncon_hydrographique", hydro, "LineString Z"),
            ("troncon_de_route", road, "LineString"),
            ("zone_d_activite_ou_d_interet", zones, "MultiPolygon"),
        ):
            geometry = shapely.from_wkb(table["geometry"].to_numpy(zero_copy_only=False))
            _write_gpkg_layer(path, layer, table.drop_columns("geometry"), geometry, kind)
    log.info("BD TOPO written: %d then %d buildings", first.table.num_rows, second.table.num_rows)

    grid = population_grid(t, second)
    filosofi = out / "filosofi" / "Filosofi2019_carreaux_200m_csv_2019-01-01"
    filosofi.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(grid, filosofi / "carreaux_200m_met.csv")

    shapes = features.communes(t, rng)
    residents = second.table["nombre_de_logements"].to_numpy() * 0.92 * PERSONS_PER_HOUSEHOLD
    centres = shapely.centroid(second.footprints)
    population = [round(residents[shapely.contains(s, centres)].sum()) for s in shapes]
    commune_table = pa.table(
        {
            "ID": [f"COMMUNE_{i:016d}" for i in range(1, len(shapes) + 1)],
            "NOM": [n for n, _ in features.COMMUNES],
            "NOM_M": [n.upper() for n, _ in features.COMMUNES],
            "INSEE_COM": [c for _, c in features.COMMUNES],
            "STATUT": ["Commune simple"] * len(shapes),
            "POPULATION": pa.array(population, pa.int64()),
            "INSEE_DEP": ["17"] * len(shapes),
            "INSEE_REG": ["75"] * len(shapes),
        }
    )
    write_legal_populations(out, population)
    admin = out / "admin_express" / "ADMIN-EXPRESS_3-2__SHP_LAMB93_FXX_2025-01-20"
    admin.mkdir(parents=True, exist_ok=True)
    for old in admin.glob("COMMUNE.*"):
        old.unlink()
    pyogrio.write_arrow(
        commune_table.append_column("geometry", pa.array(list(shapely.to_wkb(shapes)))),
        admin / "COMMUNE.shp",
        driver="ESRI Shapefile",
        geometry_name="geometry",
        geometry_type="MultiPolygon",
        crs="EPSG:2154",
        encoding="UTF-8",
    )

    tx, ty = t.town_centre()
    lidar_x = np.floor(tx / 1000) * 1000
    lidar_y = np.floor(ty / 1000) * 1000
    lidar = out / "lidar_hd" / f"LIDARHD_1-0_LAZ_LAMB93_{LIDAR_VINTAGE.isoformat()}"
    lidar.mkdir(parents=True, exist_ok=True)
    # LiDAR HD tiles are named by the km of their west and north edges.
    name = f"LHD_FXX_{round(lidar_x) // 1000:04d}_{round(lidar_y) // 1000 + 1:04d}"
    laz = lidar / f"{name}_PTS_O_LAMB93_IGN69.laz"
    points = sensors.write_lidar_tile(
        laz, t, rng, dem_at, second.footprints, second.table["hauteur"].to_numpy(), lidar_x, lidar_y
    )

    hubeau = out / "hubeau"
    hubeau.mkdir(parents=True, exist_ok=True)
    sensors.write_hubeau(hubeau, t, rng)
    sensors.write_gaugings(hubeau / f"jaugeages_{sensors.STATION}_2025-12-31.csv", rng)
    refmar = out / "refmar"
    refmar.mkdir(parents=True, exist_ok=True)
    sensors.write_tide_gauge(refmar / "port-des-jumeaux_2025.txt", rng)

    manifest = {
        "name": t.name,
        "crs": "EPSG:2154",
        "bounds": list(t.bounds),
        "tiles": tiles_covering(t.bounds),
        "seed": t.seed,
        "buildings": {
            v.isoformat(): b.table.num_rows for v, b in zip(VINTAGES, (first, second), strict=True)
        },
        "lidar_points": points,
    }
    (out / "territory.yaml").write_text(
        yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    log.info("sample territory %s generated in %.1f s", t.name, time.perf_counter() - started)
    return manifest

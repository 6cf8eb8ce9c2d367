"""Small deliveries in the exact layouts of IGN products, written in tmp_path."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely

from jnft.formats.raster import write_ascii_grid
from tests.factories import write_las

X0, Y0 = 388_000.0, 6_544_000.0  # inside tiles 0380_6550 and 0390_6550


def squares(n: int) -> list:
    return [shapely.box(X0 + 300 * i, Y0 + 100, X0 + 300 * i + 20, Y0 + 120) for i in range(n)]


def lines(n: int) -> list:
    return [
        shapely.LineString([(X0 + 300 * i, Y0 + 50), (X0 + 300 * i + 250, Y0 + 60)])
        for i in range(n)
    ]


def write_layer(path: Path, columns: dict, geometry: list, crs: str = "EPSG:2154") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame(columns, geometry=geometry, crs=crs).to_file(path, engine="pyogrio")


def _text(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:012d}" for i in range(n)]


def bdtopo3_shp_layers(n: int = 5) -> dict[str, tuple[dict, list]]:
    """BD TOPO 3 Shapefile layers (theme/NAME) with the descriptive document's field names."""
    ids = _text("BATIMENT", n)
    bati = {
        "ID": ids,
        "NATURE": ["Indifférenciée"] * n,
        "USAGE1": ["Résidentiel"] * n,
        "USAGE2": [None] * n,
        "PREC_PLANI": [1.5] * n,
        "PREC_ALTI": [1.0] * n,
        "NB_LOGTS": np.arange(n, dtype=np.int32),
        "NB_ETAGES": np.ones(n, np.int32),
        "MAT_MURS": ["01"] * n,
        "MAT_TOIT": ["10"] * n,
        "HAUTEUR": np.linspace(3, 12, n),
        "Z_MIN_SOL": [5.0] * n,
        "Z_MIN_TOIT": [8.0] * n,
        "Z_MAX_TOIT": [9.0] * n,
        "Z_MAX_SOL": [5.5] * n,
        "ORIGIN_BAT": ["Cadastre"] * n,
        "APP_FF": ["1"] * n,
        "DATE_CREAT": ["2010-01-01 00:00:00"] * n,
        "DATE_MAJ": ["2022-05-01 00:00:00"] * n,
        "ETAT": ["En service"] * n,
    }
    hydro = {
        "ID": _text("TRONHYDR", n),
        "NATURE": ["Cours d'eau"] * n,
        "ETAT": ["En service"] * n,
        "LARGEUR": ["Entre 0 et 15 m"] * n,
        "POS_SOL": ["0"] * n,
        "PERSISTANC": ["Permanent"] * n,
        "CPX_TOPONY": ["la Seudre"] * n,
    }
    surface = {
        "ID": _text("SURFHYDR", n),
        "NATURE": ["Ecoulement naturel"] * n,
        "POS_SOL": ["0"] * n,
        "PERSISTANC": ["Permanent"] * n,
        "SALINITE": ["Non"] * n,
        "ORIGINE": ["Naturel"] * n,
    }
    route = {
        "ID": _text("TRONROUT", n),
        "NATURE": ["Route à 1 chaussée"] * n,
        "IMPORTANCE": ["4"] * n,
        "NB_VOIES": np.full(n, 2, np.int32),
        "POS_SOL": ["0"] * n,
        "ETAT": ["En service"] * n,
    }
    zone = {
        "ID": _text("ZONACTIV", n),
        "CATEGORIE": ["Science et enseignement"] * n,
        "NATURE": ["Enseignement primaire"] * n,
        "TOPONYME": ["École"] * n,
        "ETAT": ["En service"] * n,
    }
    commune = {
        "ID": _text("COMMUNE_", n),
        "NOM": [f"Commune {i}" for i in range(n)],
        "INSEE_COM": [f"17{i:03d}" for i in range(n)],
        "INSEE_DEP": ["17"] * n,
        "INSEE_REG": ["75"] * n,
        "POPULATION": np.full(n, 1200, np.int64),
    }
    return {
        "BATI/BATIMENT": (bati, squares(n)),
        "HYDROGRAPHIE/TRONCON_HYDROGRAPHIQUE": (hydro, lines(n)),
        "HYDROGRAPHIE/SURFACE_HYDROGRAPHIQUE": (surface, squares(n)),
        "TRANSPORT/TRONCON_DE_ROUTE": (route, lines(n)),
        "SERVICES_ET_ACTIVITES/ZONE_D_ACTIVITE_OU_D_INTERET": (zone, squares(n)),
        "ADMINISTRATIF/COMMUNE": (commune, squares(n)),
    }


def bdtopo3_shp(root: Path, date: str, dep: str = "D017", version: str = "3-3") -> Path:
    """`BDTOPO_3-x_TOUSTHEMES_SHP_LAMB93_Dxxx_YYYY-MM-DD/BDTOPO/1_DONNEES_LIVRAISON_…/…`."""
    top = root / f"BDTOPO_{version}_TOUSTHEMES_SHP_LAMB93_{dep}_{date}"
    data = (
        top / "BDTOPO" / f"1_DONNEES_LIVRAISON_{date}" / f"BDT_{version}_SHP_LAMB93_{dep}-ED{date}"
    )
    for name, (columns, geometry) in bdtopo3_shp_layers().items():
        write_layer(data / f"{name}.shp", columns, geometry)
    (
        top
        / "BDTOPO"
        / f"1_DONNEES_LIVRAISON_{date}"
        / f"BDT_{version}_SHP_LAMB93_{dep}-ED{date}.md5"
    ).write_text("x")
    (top / "BDTOPO" / "2_METADONNEES_LIVRAISON").mkdir(parents=True)
    (top / "BDTOPO" / "2_METADONNEES_LIVRAISON" / "IGNF_BDTOPO_3-3.xml").write_text("<x/>")
    return top


def bdtopo2_shp(root: Path, date: str, dep: str = "D038", n: int = 4) -> Path:
    """`BDTOPO_2-2_TOUSTHEMES_SHP_LAMB93_Dxxx_…/…/E_BATI/BATI_INDIFFERENCIE.SHP` (upper case)."""
    top = root / f"BDTOPO_2-2_TOUSTHEMES_SHP_LAMB93_{dep}_{date}"
    data = top / "BDTOPO" / f"1_DONNEES_LIVRAISON_{date}" / f"BDT_2-2_SHP_LAMB93_{dep}-ED171"
    bati = {
        "ID": _text("BATIMENT", n),
        "PREC_PLANI": [2.5] * n,
        "PREC_ALTI": [1.5] * n,
        "ORIGIN_BAT": ["Cadastre"] * n,
        "HAUTEUR": np.full(n, 7, np.int32),
        "Z_MIN": [10.0] * n,
        "Z_MAX": [12.0] * n,
    }
    layers = {
        "E_BATI/BATI_INDIFFERENCIE": (bati, squares(n)),
        "E_BATI/BATI_REMARQUABLE": ({**bati, "NATURE": ["Eglise"] * n}, squares(n)),
        "E_BATI/BATI_INDUSTRIEL": ({**bati, "NATURE": ["Silo"] * n}, squares(n)),
        "D_HYDROGRAPHIE/TRONCON_COURS_EAU": (
            {
                "ID": _text("TRON_EAU", n),
                "NOM": ["le Drac"] * n,
                "REGIME": ["Permanent"] * n,
                "POS_SOL": ["0"] * n,
                "ARTIF": ["Naturel"] * n,
                "FICTIF": ["Non"] * n,
                "Z_INI": [210.0] * n,
                "Z_FIN": [205.0] * n,
            },
            lines(n),
        ),
    }
    for name, (columns, geometry) in layers.items():
        path = data / f"{name}.shp"
        write_layer(path, columns, geometry)
        for part in path.parent.glob(path.stem + ".*"):  # IGN delivered upper-case extensions
            part.rename(part.with_suffix(part.suffix.upper()))
    return top


def asc_tile(path: Path, xmin: float, ymax: float, size: int = 40, res: float = 5.0) -> None:
    """An RGE ALTI-like ESRI ASCII grid without CRS, cell centres on multiples of `res`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    transform = rasterio.Affine(res, 0, xmin - res / 2, 0, -res, ymax + res / 2)
    values = np.linspace(2, 30, size * size, dtype=np.float32).reshape(size, size)
    write_ascii_grid(values, transform, path, nodata=-99999)


def laz_tile(
    path: Path, xmin: float, ymin: float, n: int = 2000, crs: str | None = "EPSG:2154"
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    x = xmin + rng.uniform(0, 200, n)
    y = ymin + rng.uniform(0, 200, n)
    write_las(path, x, y, rng.uniform(5, 10, n), crs=crs)


VALLEY = (388_000.0, 6_544_000.0, 390_000.0, 6_545_000.0)  # 2 km × 1 km, in tile 0380_6550


def valley_dem(root: Path, date: str = "2021-06-15", res: float = 5.0) -> Path:
    """An RGE ALTI 5 m delivery of a valley falling 3 m/km eastwards, its floor along
    y = 6 544 500 and its sides rising 4 m per 100 m."""
    xmin, ymin, xmax, ymax = VALLEY
    # IGN's grids: cell centres on multiples of the resolution.
    x = np.arange(xmin, xmax, res)
    y = np.arange(ymax, ymin, -res)
    xx, yy = np.meshgrid(x, y)
    z = (20.0 - 0.003 * (xx - xmin) + 0.04 * np.abs(yy - 6_544_500.0)).astype(np.float32)
    folder = root / f"RGEALTI_2-0_5M_ASC_LAMB93-IGN69_D017_{date}"
    path = folder / "RGEALTI_FXX_0388_6545_MNT_LAMB93_IGN69.asc"
    path.parent.mkdir(parents=True, exist_ok=True)
    transform = rasterio.Affine(res, 0, xmin - res / 2, 0, -res, ymax + res / 2)
    write_ascii_grid(z, transform, path, nodata=-99999)
    return path


def valley_layers(n: int = 12) -> dict[str, list]:
    """Geometries of a valley territory: buildings on the floor and up the sides, the river
    along the floor from the west edge, schools beside buildings, one commune over all."""
    xs = VALLEY[0] + 150.0 * (np.arange(n) + 1)
    offsets = np.where(np.arange(n) % 2 == 0, 20.0, 300.0)  # floor, then up the side
    buildings = [
        shapely.box(x, 6_544_500 + d, x + 15, 6_544_500 + d + 12)
        for x, d in zip(xs, offsets, strict=True)
    ]
    river = shapely.LineString([(VALLEY[0], 6_544_500), (VALLEY[2], 6_544_500)])
    return {
        "buildings": buildings,
        "rivers": [river] * n,  # one section per row, the same line (fields vary)
        "zones": buildings,
        "communes": [shapely.box(*VALLEY)] * n,
    }


def valley_bdtopo3_shp(root: Path, date: str = "2024-03-15") -> Path:
    """BD TOPO 3 Shapefile delivery of the valley (the descriptive document's fields)."""
    top = bdtopo3_shp(root, date)
    geometries = valley_layers()
    where = {
        "BATI/BATIMENT": "buildings",
        "HYDROGRAPHIE/TRONCON_HYDROGRAPHIQUE": "rivers",
        "SERVICES_ET_ACTIVITES/ZONE_D_ACTIVITE_OU_D_INTERET": "zones",
        "ADMINISTRATIF/COMMUNE": "communes",
    }
    layers = bdtopo3_shp_layers(len(geometries["buildings"]))
    for path in top.rglob("*.shp"):
        name = f"{path.parent.name}/{path.stem}"
        columns, geometry = layers[name]
        write_layer(path, columns, geometries[where[name]] if name in where else geometry)
    return top


def valley_bdtopo2_shp(root: Path, date: str = "2016-06-15") -> Path:
    """BD TOPO 2 Shapefile delivery of the valley: buildings without dwellings."""
    top = bdtopo2_shp(root, date, n=12)
    geometries = valley_layers()
    for path in top.rglob("*.SHP"):
        if path.stem in ("BATI_INDIFFERENCIE", "TRONCON_COURS_EAU"):
            columns = gpd.read_file(path, engine="pyogrio").drop(columns="geometry")
            kind = "buildings" if path.stem.startswith("BATI") else "rivers"
            for part in path.parent.glob(path.stem + ".*"):
                part.unlink()
            lower = path.with_suffix(".shp")
            write_layer(lower, columns.to_dict("list"), geometries[kind])
            for part in lower.parent.glob(lower.stem + ".*"):
                part.rename(part.with_suffix(part.suffix.upper()))
    return top

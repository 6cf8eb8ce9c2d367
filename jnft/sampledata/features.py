"""Vector features of the sample territory, with BD TOPO / Admin Express attributes:
buildings (two vintages), watercourses, roads, equipment zones, communes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import shapely

from jnft.sampledata.territory import ElevationAt, SampleTerritory

USAGES = ["Résidentiel", "Commercial et services", "Industriel", "Agricole", "Religieux", "Sportif"]
EQUIPMENT = [  # (categorie, nature, how many)
    ("Science et enseignement", "Enseignement primaire", 4),
    ("Science et enseignement", "Enseignement secondaire", 2),
    ("Santé", "Hôpital", 1),
    ("Santé", "Maison de retraite", 2),
    ("Administratif ou militaire", "Caserne de pompiers", 1),
    ("Administratif ou militaire", "Mairie", 3),
    ("Administratif ou militaire", "Gendarmerie", 1),
    ("Industriel et commercial", "Station d'épuration", 1),
    ("Sport", "Terrain de sport", 2),
]


def cleabs(prefix: str, numbers: np.ndarray) -> list[str]:
    """BD TOPO identifiers: the class name padded to 24 characters with a serial number."""
    width = 24 - len(prefix)
    return [f"{prefix}{n:0{width}d}" for n in numbers]


@dataclass
class Buildings:
    """One vintage of buildings as Arrow columns plus shapely footprints."""

    table: pa.Table
    footprints: np.ndarray


def _intensity(t: SampleTerritory, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Probability that a building slot is built: town, villages, scattered farms."""
    tx, ty = t.town_centre()
    d2 = ((x - tx) ** 2 + (y - ty) ** 2) / t.town_radius**2
    p = 0.85 * np.exp(-d2 * 1.6)
    for vx, vy, radius in t.villages():
        p = np.maximum(p, 0.7 * np.exp(-((x - vx) ** 2 + (y - vy) ** 2) / radius**2 * 1.8))
    return np.maximum(p, 0.004)


def _slots(
    t: SampleTerritory, rng: np.random.Generator, dem_at: ElevationAt
) -> tuple[np.ndarray, np.ndarray]:
    """Centres of buildable lattice slots: on land, out of the channel, above the sea."""
    s = t.building_spacing
    xmin, ymin, xmax, ymax = t.bounds
    gx, gy = np.meshgrid(np.arange(xmin + s, xmax - s, s), np.arange(ymin + s, ymax - s, s))
    x, y = gx.ravel(), gy.ravel()
    keep = x > t.coast_x(y) + 0.012 * t.width
    keep &= np.abs(y - t.river_y(x)) > t.channel_half_width(x) + 2.5 * s
    x, y = x[keep], y[keep]
    keep = dem_at(x, y) > 1.0
    return x[keep], y[keep]


def generate_buildings(
    t: SampleTerritory, rng: np.random.Generator, dem_at: ElevationAt
) -> Buildings:
    """The first vintage of buildings: rectangles on a lattice, oriented by district."""
    x, y = _slots(t, rng, dem_at)
    built = rng.random(len(x)) < _intensity(t, x, y)
    x, y = x[built], y[built]
    n = len(x)
    tx, ty = t.town_centre()
    centrality = np.exp(-((x - tx) ** 2 + (y - ty) ** 2) / t.town_radius**2 * 2)
    s = t.building_spacing
    width = rng.uniform(0.28, 0.46, n) * s
    length = rng.uniform(0.34, 0.62, n) * s
    angle = np.where(centrality > 0.05, 0.35, rng.uniform(0, np.pi, n)) + rng.normal(0, 0.05, n)
    jitter = rng.uniform(-0.06, 0.06, (n, 2)) * s
    footprints = _rectangles(x + jitter[:, 0], y + jitter[:, 1], width, length, angle)

    roll = rng.random(n)
    usage = np.where(
        roll < 0.78,
        0,
        np.where(
            roll < 0.9,
            1,
            np.where(roll < 0.95, 2, np.where(roll < 0.985, 3, np.where(roll < 0.993, 4, 5))),
        ),
    )
    usage = np.where((centrality < 0.01) & (roll > 0.6), 3, usage)  # farms in the countryside
    storeys = np.clip(np.round(1 + centrality * rng.uniform(1, 5, n)), 1, 6).astype(np.int32)
    height = np.round(storeys * 2.9 + rng.uniform(0.5, 2.5, n), 1)
    per_floor = np.where(storeys >= 3, rng.integers(2, 5, n), 1)
    houses = storeys <= 2
    dwellings = np.where(usage == 0, np.where(houses, 1, storeys * per_floor), 0).astype(np.int32)
    created = np.datetime64("2008-01-01") + rng.integers(0, 5000, n).astype("timedelta64[D]")
    table = pa.table(
        {
            "cleabs": pa.array(
                cleabs("BATIMENT", np.arange(1, n + 1) * 7 + 1_000_000), pa.string()
            ),
            "nature": pa.array(["Indifférenciée"] * n, pa.string()),
            "usage_1": pa.array([USAGES[i] for i in usage], pa.string()),
            "nombre_de_logements": pa.array(dwellings, pa.int32()),
            "nombre_d_etages": pa.array(storeys, pa.int32()),
            "hauteur": pa.array(height, pa.float64()),
            "altitude_minimale_sol": pa.array(np.round(dem_at(x, y), 1), pa.float64()),
            "date_creation": pa.array(created.astype("datetime64[D]"), pa.date32()),
            "date_modification": pa.array(created.astype("datetime64[D]"), pa.date32()),
        }
    )
    return Buildings(table, footprints)


def _rectangles(
    x: np.ndarray, y: np.ndarray, width: np.ndarray, length: np.ndarray, angle: np.ndarray
) -> np.ndarray:
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    dx = corners[None, :, 0] * length[:, None]
    dy = corners[None, :, 1] * width[:, None]
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    rx = x[:, None] + dx * c - dy * s
    ry = y[:, None] + dx * s + dy * c
    rings = shapely.linearrings(np.stack([rx, ry], axis=-1))
    return shapely.multipolygons([[shapely.polygons(r)] for r in rings])


def next_vintage(
    first: Buildings,
    t: SampleTerritory,
    rng: np.random.Generator,
    dem_at: ElevationAt,
    modified_on: dt.date,
) -> Buildings:
    """A later vintage: ~3 % demolished, ~5 % changed (extension or new use), new buildings."""
    table, footprints = first.table, first.footprints.copy()
    n = table.num_rows
    fate = rng.random(n)
    demolished = fate < 0.03
    changed = (fate >= 0.03) & (fate < 0.08)
    usage = np.array(table["usage_1"].to_pylist(), dtype=object)
    height = table["hauteur"].to_numpy().copy()
    modified = table["date_modification"].to_numpy().copy()
    extend = changed & (rng.random(n) < 0.5)
    grown = shapely.buffer(footprints[extend], 1.0, join_style="mitre")
    footprints[extend] = shapely.multipolygons(
        shapely.get_parts(grown), indices=np.arange(len(grown))
    )
    height[changed & ~extend] += 3.0
    usage[changed & (usage == "Agricole")] = "Résidentiel"
    modified[changed] = np.datetime64(modified_on)
    kept = ~demolished
    updated = table.set_column(
        table.schema.get_field_index("usage_1"), "usage_1", pa.array(usage, pa.string())
    )
    updated = updated.set_column(
        updated.schema.get_field_index("hauteur"), "hauteur", pa.array(height, pa.float64())
    )
    updated = updated.set_column(
        updated.schema.get_field_index("date_modification"),
        "date_modification",
        pa.array(modified, pa.date32()),
    )
    updated = updated.filter(pa.array(kept))
    footprints = footprints[kept]

    fresh = generate_buildings(t, rng, dem_at)
    far = _clear_of(fresh.footprints, footprints)
    pick = np.flatnonzero(far)[: max(1, int(0.04 * n))]
    new_table = fresh.table.take(pa.array(pick))
    serial = np.arange(len(pick)) * 7 + 9_000_000
    new_table = new_table.set_column(0, "cleabs", pa.array(cleabs("BATIMENT", serial)))
    new_table = new_table.set_column(
        new_table.schema.get_field_index("date_creation"),
        "date_creation",
        pa.array([modified_on] * len(pick), pa.date32()),
    )
    new_table = new_table.set_column(
        new_table.schema.get_field_index("date_modification"),
        "date_modification",
        pa.array([modified_on] * len(pick), pa.date32()),
    )
    return Buildings(
        pa.concat_tables([updated, new_table]), np.concatenate([footprints, fresh.footprints[pick]])
    )


def _clear_of(candidates: np.ndarray, existing: np.ndarray, gap: float = 2.0) -> np.ndarray:
    tree = shapely.STRtree(existing)
    hits = tree.query(shapely.buffer(candidates, gap), predicate="intersects")
    clear = np.ones(len(candidates), dtype=bool)
    clear[hits[0]] = False
    return clear


def watercourses(t: SampleTerritory, dem_at: ElevationAt) -> pa.Table:
    """The river split in ~1 km reaches, and two tributaries from the plateau (LineString Z)."""
    xmin, _, xmax, _ = t.bounds
    mouth = float(t.coast_x(t.river_y(np.array([xmin])))[0]) - 0.01 * t.width
    xs = np.arange(mouth, xmax + 1, 20.0)
    ys = t.river_y(xs)
    reach = max(200.0, 0.05 * t.width)
    lines, names, widths = [], [], []
    edges = np.arange(xs[0], xs[-1], reach)
    for start in edges:
        sel = (xs >= start) & (xs <= start + reach + 20)
        if sel.sum() >= 2:
            lines.append(np.column_stack([xs[sel][::-1], ys[sel][::-1]]))  # drawn downstream
            names.append("La Jumelle")
            widths.append("Entre 15 et 50 mètres")
    for fu, side in ((0.62, 1), (0.3, -1)):
        x0 = xmin + fu * t.width
        y_river = float(t.river_y(np.array([x0]))[0])
        yy = np.linspace(y_river + side * 0.45 * t.height, y_river, 40)
        xx = x0 + 0.02 * t.width * np.sin(np.linspace(0, np.pi, 40))
        lines.append(np.column_stack([xx, yy]))
        names.append("Ruisseau du Moulin" if side > 0 else "Ruisseau des Prés")
        widths.append("Entre 0 et 5 mètres")
    geometry = [shapely.LineString(np.column_stack([c, dem_at(c[:, 0], c[:, 1])])) for c in lines]
    n = len(lines)
    return pa.table(
        {
            "cleabs": pa.array(cleabs("TRONC_HYDRO", np.arange(1, n + 1) + 500_000)),
            "nature": pa.array(["Ecoulement naturel"] * n),
            "etat": pa.array(["Permanent"] * n),
            "largeur": pa.array(widths),
            "cpx_toponyme_de_cours_d_eau": pa.array(names),
            "geometry": pa.array(list(shapely.to_wkb(geometry)), pa.binary()),
        }
    )


def roads(t: SampleTerritory, rng: np.random.Generator) -> pa.Table:
    """Town street grid, the valley road, the coast road and country lanes (LineString)."""
    lines, natures, importance = [], [], []
    tx, ty = t.town_centre()
    radius = t.town_radius
    step = max(60.0, 4 * t.building_spacing)
    angle = 0.35
    c, s = np.cos(angle), np.sin(angle)
    disc = shapely.Point(tx, ty).buffer(radius * 1.1)
    for offset in np.arange(-radius, radius + 1, step):
        for direction in ((c, s), (-s, c)):
            normal = (-direction[1], direction[0])
            cx, cy = tx + offset * normal[0], ty + offset * normal[1]
            line = shapely.LineString(
                [
                    (cx - direction[0] * radius * 1.2, cy - direction[1] * radius * 1.2),
                    (cx + direction[0] * radius * 1.2, cy + direction[1] * radius * 1.2),
                ]
            ).intersection(disc)
            if not line.is_empty and line.length > step:
                lines.append(line)
                natures.append("Route à 1 chaussée")
                importance.append("5")
    xmin, ymin, xmax, ymax = t.bounds
    xs = np.linspace(xmin + 0.08 * t.width, xmax, 200)
    offset = t.floodplain_half_width(xs) + 0.012 * t.height
    lines.append(shapely.LineString(np.column_stack([xs, t.river_y(xs) + offset])))
    natures.append("Route à 2 chaussées")
    importance.append("2")
    ys = np.linspace(ymin, ymax, 100)
    lines.append(shapely.LineString(np.column_stack([t.coast_x(ys) + 0.03 * t.width, ys])))
    natures.append("Route à 1 chaussée")
    importance.append("3")
    for vx, vy, _ in t.villages():
        lines.append(shapely.LineString([(vx, vy), (tx + rng.normal(0, 50), ty)]))
        natures.append("Chemin")
        importance.append("6")
    n = len(lines)
    return pa.table(
        {
            "cleabs": pa.array(cleabs("TRONROUT", np.arange(1, n + 1) + 2_000_000)),
            "nature": pa.array(natures),
            "importance": pa.array(importance),
            "nombre_de_voies": pa.array(
                [2 if nat != "Chemin" else 1 for nat in natures], pa.int32()
            ),
            "geometry": pa.array(list(shapely.to_wkb(lines)), pa.binary()),
        }
    )


def equipment(buildings: Buildings, t: SampleTerritory, rng: np.random.Generator) -> pa.Table:
    """Zones of interest (schools, hospital, fire station...) around buildings of the town."""
    tx, ty = t.town_centre()
    centroids = shapely.centroid(buildings.footprints)
    d = shapely.distance(centroids, shapely.Point(tx, ty))
    candidates = np.argsort(d)[: max(30, len(d) // 10)]
    chosen = rng.choice(candidates, size=sum(k for *_, k in EQUIPMENT), replace=False)
    rows = [(cat, nat) for cat, nat, k in EQUIPMENT for _ in range(k)]
    zones = shapely.buffer(
        buildings.footprints[chosen], 0.3 * t.building_spacing, join_style="mitre"
    )
    zones = shapely.multipolygons(shapely.get_parts(zones), indices=np.arange(len(zones)))
    n = len(rows)
    return pa.table(
        {
            "cleabs": pa.array(cleabs("SURFACTI", np.arange(1, n + 1) + 3_000_000)),
            "categorie": pa.array([r[0] for r in rows]),
            "nature": pa.array([r[1] for r in rows]),
            "toponyme": pa.array([f"{nat} {i + 1}" for i, (_, nat) in enumerate(rows)]),
            "geometry": pa.array(list(shapely.to_wkb(zones)), pa.binary()),
        }
    )


COMMUNES = [  # (name, INSEE code; fictitious codes in the Charente-Maritime numbering)
    ("Port-des-Jumeaux", "17950"),
    ("Saint-Gemme-sur-Jumelle", "17951"),
    ("Les Terrasses", "17952"),
    ("Plateau-le-Haut", "17953"),
]


def communes(t: SampleTerritory, rng: np.random.Generator) -> list[shapely.Geometry]:
    """Land partitioned into four communes (Voronoi cells of their centres, clipped to land)."""
    xmin, ymin, xmax, ymax = t.bounds
    tx, ty = t.town_centre()
    seeds = shapely.multipoints(
        [
            (xmin + 0.15 * t.width, ymin + 0.5 * t.height),
            (tx, ty),
            (xmin + 0.55 * t.width, ymin + 0.85 * t.height),
            (xmin + 0.85 * t.width, ymin + 0.3 * t.height),
        ]
    )
    ys = np.linspace(ymax, ymin, 200)
    land = shapely.Polygon(
        np.vstack([np.column_stack([t.coast_x(ys), ys]), [(xmax, ymin), (xmax, ymax)]])
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=shapely.box(*t.bounds)))
    order = [int(np.argmin([c.distance(p) for c in cells])) for p in shapely.get_parts(seeds)]
    return [shapely.MultiPolygon(shapely.get_parts(cells[i].intersection(land))) for i in order]

"""Small map previews (PNG) of layers, for materialization metadata and reports."""

from __future__ import annotations

import datetime as dt
import io
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import rasterio
import shapely
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import Polygon as PolygonPatch
from matplotlib.patches import Rectangle

if TYPE_CHECKING:
    import polars as pl
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_FEATURES = 20_000


def _figure(title: str) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=80)
    ax.set_title(title, fontsize=9)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=6)
    return fig, ax


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def vector_preview(wkb: np.ndarray, title: str, seed: int = 0) -> bytes:
    """Polygons filled, lines drawn, points scattered; at most MAX_FEATURES (sampled)."""
    if len(wkb) > MAX_FEATURES:
        wkb = np.random.default_rng(seed).choice(wkb, MAX_FEATURES, replace=False)
    geoms = shapely.from_wkb(wkb)
    fig, ax = _figure(title)
    parts = shapely.get_parts(geoms)
    kinds = shapely.get_type_id(parts)
    polygons = parts[kinds == shapely.GeometryType.POLYGON]
    if len(polygons):
        patches = [PolygonPatch(np.asarray(p.exterior.coords)[:, :2]) for p in polygons]
        ax.add_collection(PatchCollection(patches, facecolor="#c0392b", edgecolor="none"))
    lines = parts[kinds == shapely.GeometryType.LINESTRING]
    if len(lines):
        ax.add_collection(
            LineCollection(
                [np.asarray(g.coords)[:, :2] for g in lines], colors="#2c3e50", linewidths=0.6
            )
        )
    points = parts[kinds == shapely.GeometryType.POINT]
    if len(points):
        ax.scatter(shapely.get_x(points), shapely.get_y(points), s=1, color="#8e44ad")
    if len(parts):
        xmin, ymin, xmax, ymax = shapely.total_bounds(parts)
        pad = max(xmax - xmin, ymax - ymin, 1.0) * 0.02
        ax.set_xlim(xmin - pad, xmax + pad)
        ax.set_ylim(ymin - pad, ymax + pad)
    return _png(fig)


def raster_preview(
    paths: list[str], title: str, max_pixels: int = 600, cmap: str = "terrain"
) -> bytes:
    """The COG tiles side by side, read from their overviews; tiles without a valid cell are
    outlined (an empty DTM has no colour scale)."""
    fig, ax = _figure(title)
    low, high = np.inf, -np.inf
    images, empty = [], []
    for path in paths:
        with rasterio.open(path) as src:
            factor = max(1, int(np.ceil(max(src.width, src.height) / max_pixels)))
            data = src.read(1, out_shape=(src.height // factor, src.width // factor), masked=True)
            if data.count():
                images.append((data, src.bounds))
                low, high = min(low, float(data.min())), max(high, float(data.max()))
            else:
                empty.append(src.bounds)
    for bounds in empty:
        ax.add_patch(
            Rectangle(
                (bounds.left, bounds.bottom),
                bounds.right - bounds.left,
                bounds.top - bounds.bottom,
                fill=False,
                hatch="//",
                edgecolor="#7f8c8d",
            )
        )
    if empty and not images:
        ax.text(0.5, 0.5, "no valid cell", transform=ax.transAxes, ha="center", fontsize=8)
    for data, bounds in images:
        ax.imshow(
            data,
            extent=(bounds.left, bounds.right, bounds.bottom, bounds.top),
            cmap=cmap,
            vmin=low,
            vmax=high,
        )
    extents = [b for _, b in images] + empty
    if extents:
        ax.set_xlim(min(b.left for b in extents), max(b.right for b in extents))
        ax.set_ylim(min(b.bottom for b in extents), max(b.top for b in extents))
    return _png(fig)


def series_preview(frame: pl.DataFrame, title: str, last_days: int = 60) -> bytes:
    """The last `last_days` of each (station, variable) of a long series frame."""
    fig, ax = plt.subplots(figsize=(6, 3.0), dpi=80)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=6)
    end = frame["time"].max()
    assert isinstance(end, dt.datetime)  # a frame of observations, not empty
    recent = frame.filter(frame["time"] >= end - np.timedelta64(last_days, "D"))
    for (station, variable), part in recent.sort("time").group_by(
        ["station", "variable"], maintain_order=True
    ):
        unit = part["unit"][0]
        ax.plot(
            part["time"].to_numpy(),
            part["value"].to_numpy(),
            lw=0.8,
            label=f"{station} {variable} ({unit})",
        )
    ax.legend(fontsize=6)
    fig.autofmt_xdate()
    return _png(fig)

"""What the lakehouse shows the outside: gold GeoParquet snapshots, the STAC catalog, flood
maps and exposure tables. Restricted concepts never get here."""

"""Readers and writers of external formats (vector files, grids, LAS/LAZ/COPC, PDAL pipelines,
series files, delimited tables, GeoParquet, COG, PNG previews). No lakehouse knowledge here."""

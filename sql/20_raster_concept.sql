-- applies-to: raster
-- ${concept}_cog: the current COG tiles of a raster concept, with a readable href.
CREATE OR REPLACE VIEW ${concept}_cog AS
SELECT tile, vintage, '${root}/' || path AS href, crs, resolution, nodata, width, height,
       valid_fraction, valid_cells, minimum, maximum, mean, geometry
FROM ${concept};

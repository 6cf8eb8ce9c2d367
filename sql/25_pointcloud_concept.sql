-- applies-to: pointcloud
-- ${concept}_cog: one row per tile and product (DTM, DSM…) rasterized from a point cloud,
-- with a readable href, next to the tile's point index.
CREATE OR REPLACE VIEW ${concept}_cog AS
SELECT tile, vintage, product, '${root}/' || (products ->> product) AS href, crs, resolution,
       nodata, point_count, density, class_histogram, zmin, zmax, las_files, geometry
FROM (SELECT *, unnest(json_keys(products)) AS product FROM ${concept});

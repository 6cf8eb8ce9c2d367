-- applies-to: simulation
-- exposure: per scenario, tile, commune and depth class (0-0.5, 0.5-1, 1-2, >2 m): buildings,
-- dwellings and residents reached by the flood (max depth at the building's centroid).
CREATE OR REPLACE VIEW exposure AS SELECT * FROM delta_scan('${exposure}');

-- exposure_equipment: sensitive equipment (schools, hospitals, fire stations…) by kind.
CREATE OR REPLACE VIEW exposure_equipment AS SELECT * FROM delta_scan('${equipment}');

-- flood_maps: the COG maps of each scenario and tile (max_depth, max_speed, arrival,
-- screening_depth), with a readable href.
CREATE OR REPLACE VIEW flood_maps AS
SELECT * EXCLUDE (path), '${root}/' || path AS href FROM delta_scan('${maps}');

-- exposure_by_scenario: the territory's totals per scenario and depth class.
CREATE OR REPLACE VIEW exposure_by_scenario AS
SELECT scenario, depth_class, sum(buildings) AS buildings, sum(dwellings) AS dwellings,
       round(sum(residents)) AS residents
FROM exposure GROUP BY ALL ORDER BY scenario, depth_class;

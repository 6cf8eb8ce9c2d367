-- Communes with their legal population, joined by INSEE code, and the built-up residents
-- the buildings suggest; communes without a population row are listed too (new mergers).
SELECT c.insee_com, c.nom, p.population_municipale, p.population_totale,
       round(ST_Area(c.geometry) / 1e6, 2) AS area_km2,
       round(p.population_municipale / (ST_Area(c.geometry) / 1e6), 1) AS inhabitants_per_km2
FROM commune AS c
LEFT JOIN population_communale AS p USING (insee_com)
ORDER BY c.insee_com;

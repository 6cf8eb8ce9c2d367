-- Buildings, dwellings and built-up area per commune, today.
SELECT c.insee_com, c.nom,
       count(*) AS batiments,
       sum(b.nombre_de_logements) AS logements,
       round(sum(ST_Area(b.geometry))) AS emprise_m2
FROM batiment AS b
JOIN commune AS c ON ST_Intersects(c.geometry, ST_Centroid(b.geometry))
GROUP BY ALL
ORDER BY batiments DESC;

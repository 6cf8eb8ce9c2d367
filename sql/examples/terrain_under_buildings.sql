-- Buildings standing below 5 m of ground altitude (IGN69), the first suspects of a flood study.
SELECT usage_1, count(*) AS batiments, sum(nombre_de_logements) AS logements
FROM batiment
WHERE altitude_minimale_sol < 5
GROUP BY ALL
ORDER BY batiments DESC;

-- What changed in the buildings between two dates: demolished, new, modified.
WITH before AS (SELECT * FROM asof('batiment', TIMESTAMP '2024-01-01')),
     after AS (SELECT * FROM asof('batiment', TIMESTAMP '2025-06-01'))
SELECT CASE WHEN a.feature_id IS NULL THEN 'démoli'
            WHEN b.feature_id IS NULL THEN 'nouveau'
            ELSE 'modifié' END AS changement,
       count(*) AS batiments
FROM before AS b
FULL JOIN after AS a USING (feature_id)
WHERE a.feature_id IS NULL OR b.feature_id IS NULL OR a.row_hash <> b.row_hash
GROUP BY ALL
ORDER BY changement;

-- The 100-year against the 1000-year river flood, commune by commune: how many more homes
-- and residents the extreme event reaches.
SELECT coalesce(q100.commune, q1000.commune) AS commune,
       coalesce(q100.buildings, 0) AS buildings_q100,
       coalesce(q1000.buildings, 0) AS buildings_q1000,
       round(coalesce(q100.residents, 0)) AS residents_q100,
       round(coalesce(q1000.residents, 0)) AS residents_q1000
FROM (SELECT commune, sum(buildings) AS buildings, sum(residents) AS residents
      FROM exposure WHERE scenario = 'crue_q100' GROUP BY commune) AS q100
FULL JOIN (SELECT commune, sum(buildings) AS buildings, sum(residents) AS residents
           FROM exposure WHERE scenario = 'crue_q1000' GROUP BY commune) AS q1000
  USING (commune)
ORDER BY residents_q1000 DESC;

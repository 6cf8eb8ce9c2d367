-- applies-to: history
-- ${concept}_history: every version of every feature, with valid_to (NULL while current).
-- Versions and closures are two append-only Delta tables (see jnft/lakehouse/history.py),
-- whose rows are hidden while their merge is begun and not published in `commits`;
-- ${columns} reads the WKB geometry as GEOMETRY (attribute tables have none).
CREATE OR REPLACE VIEW ${concept}_history AS
WITH hidden AS (
  SELECT run_id, tile, vintage FROM delta_scan('${commits}') WHERE state = 'begun'
  EXCEPT SELECT run_id, tile, vintage FROM delta_scan('${commits}') WHERE state = 'published'
)
SELECT ${columns}, c.valid_to
FROM (SELECT * FROM delta_scan('${versions}') ANTI JOIN hidden USING (run_id, tile, vintage)) AS v
LEFT JOIN (
  SELECT * FROM delta_scan('${closures}') ANTI JOIN hidden USING (run_id, tile, vintage)
) AS c
  ON c.feature_id = v.feature_id AND c.valid_from = v.valid_from;

-- ${concept}: the current territory.
CREATE OR REPLACE VIEW ${concept} AS
SELECT * EXCLUDE (valid_to) FROM ${concept}_history WHERE valid_to IS NULL;

-- ${concept}_staged: deliveries written but kept out of the territory by a failed blocking
-- check (write-audit-publish), with the reasons; a corrected delivery publishes in a new run.
CREATE OR REPLACE VIEW ${concept}_staged AS
WITH published AS (
  SELECT DISTINCT run_id, tile, vintage FROM delta_scan('${commits}') WHERE state = 'published'
),
held AS (
  SELECT run_id, tile, vintage, any_value(reasons) AS reasons, max(staged_at) AS staged_at
  FROM delta_scan('${staged}') ANTI JOIN published USING (run_id, tile, vintage)
  GROUP BY ALL
)
SELECT h.reasons, h.staged_at, ${columns}
FROM delta_scan('${versions}') AS v JOIN held AS h USING (run_id, tile, vintage);

-- ${concept}_quarantine: rows of the sources that could not be kept, with the reason.
CREATE OR REPLACE VIEW ${concept}_quarantine AS
SELECT * FROM delta_scan('${quarantine}');

-- applies-to: history
-- ${concept}_history: every version of every feature, with valid_to (NULL while current).
-- Versions and closures are two append-only Delta tables (see jnft/lakehouse/history.py);
-- ${columns} reads the WKB geometry as GEOMETRY (attribute tables have none).
CREATE OR REPLACE VIEW ${concept}_history AS
SELECT ${columns}, c.valid_to
FROM delta_scan('${versions}') AS v
LEFT JOIN delta_scan('${closures}') AS c
  ON c.feature_id = v.feature_id AND c.valid_from = v.valid_from;

-- ${concept}: the current territory.
CREATE OR REPLACE VIEW ${concept} AS
SELECT * EXCLUDE (valid_to) FROM ${concept}_history WHERE valid_to IS NULL;

-- ${concept}_quarantine: rows of the sources that could not be kept, with the reason.
CREATE OR REPLACE VIEW ${concept}_quarantine AS
SELECT * FROM delta_scan('${quarantine}');

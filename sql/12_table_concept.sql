-- applies-to: table
-- ${concept}_history: every version of every row of an attribute table (no geometry).
CREATE OR REPLACE VIEW ${concept}_history AS
SELECT v.*, c.valid_to
FROM delta_scan('${versions}') AS v
LEFT JOIN delta_scan('${closures}') AS c
  ON c.feature_id = v.feature_id AND c.valid_from = v.valid_from;

-- ${concept}: the current rows.
CREATE OR REPLACE VIEW ${concept} AS
SELECT * EXCLUDE (valid_to) FROM ${concept}_history WHERE valid_to IS NULL;

-- ${concept}_quarantine: rows of the sources that could not be kept, with the reason.
CREATE OR REPLACE VIEW ${concept}_quarantine AS
SELECT * FROM delta_scan('${quarantine}');

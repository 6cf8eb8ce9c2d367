-- applies-to: timeseries
-- ${concept}_history: every observation row ever ingested (append-only: revisions included).
CREATE OR REPLACE VIEW ${concept}_history AS
SELECT * FROM delta_scan('${observations}');

-- ${concept}: the current value of each (station, variable, time): its latest ingested row.
CREATE OR REPLACE VIEW ${concept} AS
SELECT * EXCLUDE (rank) FROM (
    SELECT *, row_number() OVER (
        PARTITION BY station, variable, "time" ORDER BY ingested_at DESC) AS rank
    FROM ${concept}_history)
WHERE rank = 1;

-- ${concept}_stations: where the stations are (Lambert-93), their variables and time span.
CREATE OR REPLACE VIEW ${concept}_stations AS
SELECT * REPLACE (ST_GeomFromWKB(geometry) AS geometry) FROM delta_scan('${stations}');

-- ${concept}_quarantine: files and rows that could not be kept, with the reason.
CREATE OR REPLACE VIEW ${concept}_quarantine AS
SELECT * FROM delta_scan('${quarantine}');

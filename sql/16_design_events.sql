-- applies-to: timeseries_design
-- ${concept}_design_events: per station, variable and return period, the frequency analysis of
-- the series as its fiche samples it (annual maxima: GEV/Gumbel; peaks over a threshold: GPD/
-- exponential with a Poisson rate): law, fitted parameters (JSON), return level and its
-- bootstrap interval, years used; `problem` says why a series has none. Written at landing.
CREATE OR REPLACE VIEW ${concept}_design_events AS
SELECT '${concept}' AS concept, * FROM delta_scan('${design_events}');

-- design_events: every series concept's, gathered when lakehouse.duckdb is built (a copy: the
-- view above reads the Delta table live).
CREATE TABLE IF NOT EXISTS design_events AS SELECT * FROM ${concept}_design_events LIMIT 0;
INSERT INTO design_events BY NAME SELECT * FROM ${concept}_design_events;

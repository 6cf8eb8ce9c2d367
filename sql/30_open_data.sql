-- applies-to: public
-- open_data.<concept>: the concepts whose licence and access are not restricted; share this
-- schema, never main, with the public.
CREATE SCHEMA IF NOT EXISTS open_data;
CREATE OR REPLACE VIEW open_data.${concept} AS SELECT * FROM main.${concept};
CREATE OR REPLACE VIEW open_data.${concept}_history AS SELECT * FROM main.${concept}_history;

-- Lakehouse-wide macros. ASOF is a keyword (ASOF JOIN): the name is quoted here, not in use.
-- asof('batiment', TIMESTAMP '2024-01-01'): the concept's rows as they were at that instant.
CREATE OR REPLACE MACRO "asof"(concept, ts) AS TABLE
    SELECT * EXCLUDE (valid_to)
    FROM query_table(concept || '_history')
    WHERE valid_from <= ts::TIMESTAMPTZ
      AND (valid_to IS NULL OR valid_to > ts::TIMESTAMPTZ);

-- Operator-imported calendar years (`tousu calendar import`). Only the
-- exceptions to the Monday-to-Friday week are stored; years absent here fall
-- back to the built-in data or the provisional rule (shared/calendar).

CREATE TABLE IF NOT EXISTS calendar_years (
    year            integer PRIMARY KEY CHECK (year BETWEEN 1900 AND 2200),
    -- The notice the data was copied from, as given in the file.
    source_document text,
    imported_at     timestamptz NOT NULL DEFAULT now(),
    imported_by     text NOT NULL
);

CREATE TABLE IF NOT EXISTS calendar_days (
    day  date PRIMARY KEY,
    -- Re-importing a year deletes its row here and so all its days.
    year integer NOT NULL REFERENCES calendar_years (year) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('holiday', 'makeup_workday')),
    name text NOT NULL,
    CONSTRAINT calendar_days_in_year CHECK (extract(year FROM day) = year)
);

CREATE INDEX IF NOT EXISTS calendar_days_year_idx ON calendar_days (year);

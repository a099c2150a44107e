-- The metrics service's projections (case_view, kpi_facts) create their own
-- tables, so that a rebuild can build a new one beside the live one and swap
-- them. This table records, per projection, the schema its table was built
-- with (a newer one makes the service rebuild it) and how far into the
-- read_all order it has got.
CREATE TABLE projection_state (
    name           text        PRIMARY KEY,
    schema_version integer     NOT NULL,
    position       bigint      NOT NULL DEFAULT 0,
    rebuilt_at     timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Replaced by the case_view projection.
DROP TABLE case_index;

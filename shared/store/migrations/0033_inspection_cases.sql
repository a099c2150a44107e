-- The quality inspection's sample (定期检查/抽查, docs/quality-inspection.md),
-- owned by the metrics service (services/metrics/inspection/records.py writes
-- it, services/metrics/inspection/views.py reads it): one row per sampled
-- case, written in the transaction that appends the month's
-- InspectionSampleDrawn, and given its review in the transaction that appends
-- the case's InspectionReviewed. The streams (inspection-<YYYY-MM>) are the
-- record; the rows are what pages, the CLI and the appraisal read.
CREATE TABLE inspection_cases (
    period          text        NOT NULL CHECK (period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
    complaint_id    uuid        NOT NULL,
    tracking_no     text,
    department      text        NOT NULL,
    handler         text,
    -- Why it is in the sample: random, reopened, late_entry (one or more).
    reasons         text[]      NOT NULL CHECK (cardinality(reasons) >= 1),
    -- The month's window (Shanghai time) and when the draw was stored.
    window_from     timestamptz NOT NULL,
    window_to       timestamptz NOT NULL,
    drawn_at        timestamptz NOT NULL,
    draw_event_id   uuid        NOT NULL,
    -- The review, once there is one (one per case).
    review_event_id uuid        UNIQUE,
    score           double precision CHECK (score BETWEEN 0 AND 100),
    passed          boolean,
    action          text        CHECK (action IN ('none', 'supervise', 'reopen')),
    reviewer        text,
    reviewed_at     timestamptz,
    PRIMARY KEY (period, complaint_id),
    CHECK ((review_event_id IS NULL) = (reviewed_at IS NULL)),
    CHECK ((review_event_id IS NULL) = (score IS NULL))
);

-- The appraisal reads reviews by the month's start; the case page by case.
CREATE INDEX inspection_cases_window ON inspection_cases (window_from) WHERE reviewed_at IS NOT NULL;
CREATE INDEX inspection_cases_complaint ON inspection_cases (complaint_id);

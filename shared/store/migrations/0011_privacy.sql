-- Personal data protection (shared/privacy).
--
-- One data key per complainant. The personal fields of a ComplaintReceived
-- event are sealed with it (AES-GCM) before the event is stored; destroying
-- the key (tousu privacy erase) makes them unreadable in the event store, in
-- JetStream and in every backup, while the events themselves, and every KPI
-- computed from them, stay as they were.
CREATE TABLE complainant_keys (
    complainant_id uuid        PRIMARY KEY,
    -- Keyed digests of the normalised phone number and e-mail address: the
    -- same person's later complaints find this key. Cleared on erasure.
    phone_digest   bytea,
    email_digest   bytea,
    -- AES-256 key, wrapped with TOUSU_PRIVACY_KEY when ``wrapped``. NULL once erased.
    data_key       bytea,
    wrapped        boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    erased_at      timestamptz,
    erased_by      text,
    CHECK ((data_key IS NULL) = (erased_at IS NOT NULL))
);
CREATE UNIQUE INDEX complainant_keys_phone ON complainant_keys (phone_digest)
    WHERE erased_at IS NULL;
CREATE INDEX complainant_keys_email ON complainant_keys (email_digest)
    WHERE erased_at IS NULL;
-- A complainant's complaints (erasure, duplicate suggestions).
CREATE INDEX events_complainant_key ON events ((data -> 'complainant' ->> 'key'))
    WHERE type = 'ComplaintReceived';

-- Every view of a complainant's full personal data: who, when, which case,
-- which view. Append-only, and not an event: looking at a case must not
-- change its version.
CREATE TABLE personal_data_views (
    id           bigserial   PRIMARY KEY,
    viewed_at    timestamptz NOT NULL DEFAULT now(),
    viewer       text        NOT NULL,
    role         text        NOT NULL,
    complaint_id uuid        NOT NULL,
    view         text        NOT NULL
);
CREATE INDEX personal_data_views_complaint ON personal_data_views (complaint_id, viewed_at);

CREATE FUNCTION personal_data_views_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'personal_data_views is append-only';
END;
$$;
CREATE TRIGGER personal_data_views_append_only
    BEFORE UPDATE OR DELETE ON personal_data_views
    FOR EACH ROW EXECUTE FUNCTION personal_data_views_append_only();

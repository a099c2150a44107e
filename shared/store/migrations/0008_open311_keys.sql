-- Open311 GeoReport v2 (services/gateway/open311): the API keys of client
-- applications, and what such a client sent that the complaint facts have no
-- field for.

CREATE TABLE open311_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Who the key was given to (an app, a partner); it names the actor of the
    -- requests filed with it ("open311:<name>").
    name         text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    -- SHA-256 of the key, as for the staff tokens: 256 random bits need no salt.
    key_hash     bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- The complaint itself is in the event store (channel open311); this keeps
-- the GeoReport fields beside it: coordinates, the client's own ids, media.
CREATE TABLE open311_requests (
    complaint_id uuid PRIMARY KEY,
    key_id       uuid NOT NULL REFERENCES open311_keys (id),
    lat          double precision CHECK (lat BETWEEN -90 AND 90),
    long         double precision CHECK (long BETWEEN -180 AND 180),
    address_id   text,
    media_url    text,
    device_id    text,
    account_id   text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

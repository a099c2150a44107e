-- Staff accounts and their bearer tokens (services/gateway/auth). Complainants
-- have no account: they hold a tracking number and an access code instead.

CREATE TABLE IF NOT EXISTS users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Lower case, so that "Alice" and "alice" cannot be two people; it is
    -- also the actor id recorded on every event the user causes.
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    display_name  text NOT NULL,
    role          text NOT NULL
                  CHECK (role IN ('operator', 'handler', 'dept_head', 'supervisor', 'admin')),
    -- A NATS subject token (events are routed by it); "_" means "no department".
    department    text CHECK (department ~ '^[A-Za-z0-9_-]+$' AND department <> '_'),
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Handlers and department heads act for one department; nobody else has one.
    CONSTRAINT users_department_by_role
        CHECK ((role IN ('handler', 'dept_head')) = (department IS NOT NULL))
);

CREATE TABLE IF NOT EXISTS api_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the token: a leaked table does not let anyone in, and the
    -- token has 256 random bits, so no salt or slow hash is needed.
    token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_tokens_expire_after_creation CHECK (expires_at > created_at)
);

CREATE INDEX IF NOT EXISTS api_tokens_user_idx ON api_tokens (user_id);

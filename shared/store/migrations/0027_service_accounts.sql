-- Service accounts (`tousu users add --service`): a department's own system
-- answering back over the staff API with a long-lived token. One acts as a
-- handler of its department (the domain's department checks then confine it
-- to its department's cases) and never signs in: its password_hash is that
-- of a random secret nobody keeps.
ALTER TABLE users ADD COLUMN IF NOT EXISTS service boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD CONSTRAINT users_service_is_a_department_handler
    CHECK (NOT service OR role = 'handler');

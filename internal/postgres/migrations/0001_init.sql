-- Hashdrop metadata on PostgreSQL. Times are UTC unix nanoseconds (bigint),
-- as in the SQLite store: exact round trips, identical comparisons on both
-- engines, and a lossless SQLite -> PostgreSQL move. Read them with
-- to_timestamp(col / 1e9). IDs are the application's UUID strings.

CREATE TABLE users (
    id            text PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    verified      boolean NOT NULL DEFAULT false,
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL
);
CREATE INDEX users_unverified_created ON users (created_at) WHERE NOT verified;

CREATE TABLE otps (
    user_id      text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    code_hash    bytea NOT NULL,
    expires_at   bigint NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    sends        integer NOT NULL DEFAULT 0,
    window_start bigint NOT NULL
);
CREATE INDEX otps_expires ON otps (expires_at);

CREATE TABLE refresh_tokens (
    hash       bytea PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    rotated_at bigint,
    revoked_at bigint
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE files (
    id              text PRIMARY KEY,
    owner_id        text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    object_key      text NOT NULL UNIQUE,
    file_name       text NOT NULL,
    mime_type       text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'uploaded', 'failed', 'deleted')),
    key_mode        text NOT NULL CHECK (key_mode IN ('vault', 'passphrase')),
    declared_size   bigint NOT NULL,
    encrypted_size  bigint NOT NULL DEFAULT 0,
    plaintext_size  bigint NOT NULL DEFAULT 0,
    plaintext_hash  text NOT NULL DEFAULT '',
    passphrase_salt text NOT NULL DEFAULT '',
    created_at      bigint NOT NULL,
    updated_at      bigint NOT NULL
);
CREATE INDEX files_owner_created ON files (owner_id, created_at DESC);
CREATE INDEX files_pending_created ON files (created_at) WHERE status = 'pending';
CREATE INDEX files_gone_updated ON files (updated_at) WHERE status IN ('failed', 'deleted');

CREATE TABLE download_counts (
    file_id text NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    day     text NOT NULL, -- YYYY-MM-DD, so text order is day order
    count   integer NOT NULL,
    PRIMARY KEY (file_id, day)
);
CREATE INDEX download_counts_day ON download_counts (day);

-- Fixed-window rate-limit counters shared by every instance: one row per
-- key, reset when a newer window starts.
CREATE TABLE rate_limits (
    key          text PRIMARY KEY,
    window_start bigint NOT NULL,
    window_end   bigint NOT NULL,
    n            integer NOT NULL
);
CREATE INDEX rate_limits_window_end ON rate_limits (window_end);

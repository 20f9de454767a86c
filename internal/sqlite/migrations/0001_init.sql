-- Hashdrop metadata, version 1. Times are UTC unix nanoseconds (INTEGER):
-- exact, sortable and free of time-zone parsing.

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	verified      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);
CREATE INDEX users_unverified ON users (created_at) WHERE verified = 0;

CREATE TABLE otps (
	user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	code_hash    BLOB NOT NULL,
	expires_at   INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	sends        INTEGER NOT NULL,
	window_start INTEGER NOT NULL
);
CREATE INDEX otps_expires ON otps (expires_at);

CREATE TABLE refresh_tokens (
	hash       BLOB PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	family_id  TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	rotated_at INTEGER,
	revoked_at INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE files (
	id              TEXT PRIMARY KEY,
	owner_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	object_key      TEXT NOT NULL UNIQUE,
	file_name       TEXT NOT NULL,
	mime_type       TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('pending', 'uploaded', 'failed', 'deleted')),
	key_mode        TEXT NOT NULL CHECK (key_mode IN ('vault', 'passphrase')),
	declared_size   INTEGER NOT NULL,
	encrypted_size  INTEGER NOT NULL DEFAULT 0,
	plaintext_size  INTEGER NOT NULL DEFAULT 0,
	plaintext_hash  TEXT NOT NULL DEFAULT '',
	passphrase_salt TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);
CREATE INDEX files_owner ON files (owner_id, created_at);
CREATE INDEX files_status ON files (status, updated_at);

CREATE TABLE download_counts (
	file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
	day     TEXT NOT NULL, -- YYYY-MM-DD (UTC)
	count   INTEGER NOT NULL,
	PRIMARY KEY (file_id, day)
);
CREATE INDEX download_counts_day ON download_counts (day);

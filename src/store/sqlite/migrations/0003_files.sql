-- Files of packages, the parts they were uploaded in, and download links. Times are
-- milliseconds since the epoch (UTC); NULL means not set.
CREATE TABLE files (
    id            TEXT PRIMARY KEY,
    package_id    TEXT NOT NULL REFERENCES packages (id),
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    path          TEXT NOT NULL DEFAULT '',
    size          INTEGER,          -- declared until finalized (NULL: not declared), then exact
    chunk_size    INTEGER,          -- bytes of every part but the last; NULL until known
    last_modified INTEGER NOT NULL,
    upload_id     TEXT,             -- set when the upload is initiated
    done          INTEGER NOT NULL DEFAULT 0,
    crc32         INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX files_by_package ON files (package_id, created_at, id);

-- A part is listed once its bytes are durable. side: it waits in a side file for its place.
CREATE TABLE file_parts (
    file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    part    INTEGER NOT NULL,
    size    INTEGER NOT NULL,
    crc32   INTEGER NOT NULL,
    side    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (file_id, part)
) WITHOUT ROWID;

CREATE TABLE links (
    id            TEXT PRIMARY KEY,
    package_id    TEXT NOT NULL REFERENCES packages (id),
    secret_hash   BLOB NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    password_hash TEXT,
    access_limit  INTEGER NOT NULL DEFAULT 0,
    access_count  INTEGER NOT NULL DEFAULT 0,
    expiry        INTEGER,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX links_by_package ON links (package_id, created_at, id);

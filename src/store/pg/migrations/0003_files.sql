-- Files of packages, the parts they were uploaded in, and download links. Times are
-- milliseconds since the epoch (UTC); NULL means not set.
CREATE TABLE files (
    id            text COLLATE "C" PRIMARY KEY,
    package_id    text COLLATE "C" NOT NULL REFERENCES packages (id),
    kind          text COLLATE "C" NOT NULL,
    name          text COLLATE "C" NOT NULL,
    path          text COLLATE "C" NOT NULL DEFAULT '',
    size          bigint,          -- declared until finalized (NULL: not declared), then exact
    chunk_size    bigint,          -- bytes of every part but the last; NULL until known
    last_modified bigint NOT NULL,
    upload_id     text COLLATE "C", -- set when the upload is initiated
    done          boolean NOT NULL DEFAULT false,
    crc32         bigint NOT NULL DEFAULT 0,
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL
);
CREATE INDEX files_by_package ON files (package_id, created_at, id);

-- A part is listed once its bytes are durable. side: it waits in a side file for its place.
CREATE TABLE file_parts (
    file_id text COLLATE "C" NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    part    bigint NOT NULL,
    size    bigint NOT NULL,
    crc32   bigint NOT NULL,
    side    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (file_id, part)
);

CREATE TABLE links (
    id            text COLLATE "C" PRIMARY KEY,
    package_id    text COLLATE "C" NOT NULL REFERENCES packages (id),
    secret_hash   bytea NOT NULL,
    email         text COLLATE "C" NOT NULL DEFAULT '',
    password_hash text,
    access_limit  bigint NOT NULL DEFAULT 0,
    access_count  bigint NOT NULL DEFAULT 0,
    expiry        bigint,
    active        boolean NOT NULL DEFAULT true,
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL
);
CREATE INDEX links_by_package ON links (package_id, created_at, id);

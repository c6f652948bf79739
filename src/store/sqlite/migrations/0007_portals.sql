-- Portals: branded upload pages through which outsiders send packages to a team. Lists that the
-- API checks and writes itself (recipients, cloud connections, webhooks, file types) are JSON
-- arrays; the access list of a private portal is a table, so that visibility is a join. A
-- deleted portal keeps its row (its packages still name it) but loses its subdomain. The access
-- code is kept as given (managers read it back, as in MASV); the download password only as an
-- Argon2id hash, which its packages inherit. Times are milliseconds since the epoch (UTC);
-- NULL means not set.
CREATE TABLE portals (
    id                               TEXT PRIMARY KEY,
    team_id                          TEXT NOT NULL REFERENCES teams (id),
    created_by                       TEXT,
    name                             TEXT NOT NULL,
    subdomain                        TEXT NOT NULL,
    message                          TEXT NOT NULL DEFAULT '',
    active                           INTEGER NOT NULL DEFAULT 0,
    has_access_code                  INTEGER NOT NULL DEFAULT 0,
    access_code                      TEXT NOT NULL DEFAULT '',
    logo_url                         TEXT NOT NULL DEFAULT '',
    background_url                   TEXT NOT NULL DEFAULT '',
    primary_color                    TEXT NOT NULL DEFAULT '',
    recipients                       TEXT NOT NULL DEFAULT '[]',
    has_download_password            INTEGER NOT NULL DEFAULT 0,
    download_password_hash           TEXT,
    custom_expiry_days               INTEGER NOT NULL DEFAULT 0,
    cloud_connections                TEXT NOT NULL DEFAULT '[]',
    custom_webhooks                  TEXT NOT NULL DEFAULT '[]',
    disable_upload_receipt           INTEGER NOT NULL DEFAULT 0,
    tag_id                           TEXT, -- no foreign key: a deleted tag just stops showing
    access_level                     TEXT NOT NULL DEFAULT 'regular'
                                     CHECK (access_level IN ('regular', 'private')),
    teamspace_id                     TEXT REFERENCES teamspaces (id),
    terms_of_service_enabled         INTEGER NOT NULL DEFAULT 0,
    tos_checkbox_label               TEXT NOT NULL DEFAULT '',
    tos_checkbox_url                 TEXT NOT NULL DEFAULT '',
    tos_title                        TEXT NOT NULL DEFAULT '',
    tos_description                  TEXT NOT NULL DEFAULT '',
    package_size_restriction_enabled INTEGER NOT NULL DEFAULT 0,
    max_package_size                 INTEGER NOT NULL DEFAULT 0,
    max_file_size                    INTEGER NOT NULL DEFAULT 0,
    max_file_count                   INTEGER NOT NULL DEFAULT 0,
    file_type_restriction_enabled    INTEGER NOT NULL DEFAULT 0,
    file_type_restriction_exclude    INTEGER NOT NULL DEFAULT 0,
    file_types                       TEXT NOT NULL DEFAULT '[]',
    expiry_enabled                   INTEGER NOT NULL DEFAULT 0,
    expiry                           INTEGER,
    package_name_format_enabled      INTEGER NOT NULL DEFAULT 0,
    name_format_value                TEXT NOT NULL DEFAULT '',
    name_format_label                TEXT NOT NULL DEFAULT '',
    created_at                       INTEGER NOT NULL,
    updated_at                       INTEGER NOT NULL,
    deleted_at                       INTEGER
);
-- One live portal per subdomain across the server; a deleted one frees its subdomain.
CREATE UNIQUE INDEX portals_by_subdomain ON portals (subdomain) WHERE deleted_at IS NULL;
CREATE INDEX portals_by_team ON portals (team_id, created_at, id);

CREATE TABLE portal_access (
    portal_id     TEXT NOT NULL REFERENCES portals (id),
    membership_id TEXT NOT NULL REFERENCES memberships (id),
    PRIMARY KEY (portal_id, membership_id)
) WITHOUT ROWID;
CREATE INDEX portal_access_by_membership ON portal_access (membership_id);

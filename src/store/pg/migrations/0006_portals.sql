-- Portals: branded upload pages through which outsiders send packages to a team. Lists that the
-- API checks and writes itself (recipients, cloud connections, webhooks, file types) are JSON
-- arrays; the access list of a private portal is a table, so that visibility is a join. A
-- deleted portal keeps its row (its packages still name it) but loses its subdomain. The access
-- code is kept as given (managers read it back, as in MASV); the download password only as an
-- Argon2id hash, which its packages inherit. Times are milliseconds since the epoch (UTC);
-- NULL means not set. Text that is compared or sorted is COLLATE "C", as SQLite's BINARY.
CREATE TABLE portals (
    id                               text COLLATE "C" PRIMARY KEY,
    team_id                          text COLLATE "C" NOT NULL REFERENCES teams (id),
    created_by                       text COLLATE "C",
    name                             text COLLATE "C" NOT NULL,
    subdomain                        text COLLATE "C" NOT NULL,
    message                          text NOT NULL DEFAULT '',
    active                           boolean NOT NULL DEFAULT false,
    has_access_code                  boolean NOT NULL DEFAULT false,
    access_code                      text NOT NULL DEFAULT '',
    logo_url                         text NOT NULL DEFAULT '',
    background_url                   text NOT NULL DEFAULT '',
    primary_color                    text NOT NULL DEFAULT '',
    recipients                       text NOT NULL DEFAULT '[]',
    has_download_password            boolean NOT NULL DEFAULT false,
    download_password_hash           text,
    custom_expiry_days               bigint NOT NULL DEFAULT 0,
    cloud_connections                text NOT NULL DEFAULT '[]',
    custom_webhooks                  text NOT NULL DEFAULT '[]',
    disable_upload_receipt           boolean NOT NULL DEFAULT false,
    tag_id                           text COLLATE "C", -- no foreign key: a deleted tag just stops showing
    access_level                     text COLLATE "C" NOT NULL DEFAULT 'regular'
                                     CHECK (access_level IN ('regular', 'private')),
    teamspace_id                     text COLLATE "C" REFERENCES teamspaces (id),
    terms_of_service_enabled         boolean NOT NULL DEFAULT false,
    tos_checkbox_label               text NOT NULL DEFAULT '',
    tos_checkbox_url                 text NOT NULL DEFAULT '',
    tos_title                        text NOT NULL DEFAULT '',
    tos_description                  text NOT NULL DEFAULT '',
    package_size_restriction_enabled boolean NOT NULL DEFAULT false,
    max_package_size                 bigint NOT NULL DEFAULT 0,
    max_file_size                    bigint NOT NULL DEFAULT 0,
    max_file_count                   bigint NOT NULL DEFAULT 0,
    file_type_restriction_enabled    boolean NOT NULL DEFAULT false,
    file_type_restriction_exclude    boolean NOT NULL DEFAULT false,
    file_types                       text NOT NULL DEFAULT '[]',
    expiry_enabled                   boolean NOT NULL DEFAULT false,
    expiry                           bigint,
    package_name_format_enabled      boolean NOT NULL DEFAULT false,
    name_format_value                text NOT NULL DEFAULT '',
    name_format_label                text NOT NULL DEFAULT '',
    created_at                       bigint NOT NULL,
    updated_at                       bigint NOT NULL,
    deleted_at                       bigint
);
-- One live portal per subdomain across the server; a deleted one frees its subdomain.
CREATE UNIQUE INDEX portals_by_subdomain ON portals (subdomain) WHERE deleted_at IS NULL;
CREATE INDEX portals_by_team ON portals (team_id, created_at, id);

CREATE TABLE portal_access (
    portal_id     text COLLATE "C" NOT NULL REFERENCES portals (id),
    membership_id text COLLATE "C" NOT NULL REFERENCES memberships (id),
    PRIMARY KEY (portal_id, membership_id)
);
CREATE INDEX portal_access_by_membership ON portal_access (membership_id);

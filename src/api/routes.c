/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The whole HTTP surface of consign, as data: method, path, handler, credentials, body cap. */
/* clang-format off */
#include "core/compat.h"
#include "api/api.h"

#define ROUTE(m, p, h, a, l)                                                                       \
    {                                                                                              \
        .method = (m), .pattern = (p), .handler = (h), .auth = (a), .label = (l)                   \
    }
/* A route whose body streams to its handler (part uploads), up to @max bytes. */
#define STREAM(m, p, h, a, l, max)                                                                 \
    {                                                                                              \
        .method = (m), .pattern = (p), .handler = (h), .auth = (a), .label = (l),                  \
        .body_max = (max), .stream = true                                                          \
    }

const struct http_route api_routes[] = {
    ROUTE(HTTP_GET, "/healthz", api_health, API_AUTH_NONE, "health"),
    ROUTE(HTTP_POST, "/v1/auth", api_auth_login, API_AUTH_NONE, "auth.login"),
    ROUTE(HTTP_GET, "/v1/teams/{team_id}/members", api_members_list, API_AUTH_USER, "members.list"),
    ROUTE(HTTP_POST, "/v1/teams/{team_id}/api_keys", api_keys_create, API_AUTH_USER,
          "api_keys.create"),
    ROUTE(HTTP_GET, "/v1/teams/{team_id}/api_keys", api_keys_list, API_AUTH_USER, "api_keys.list"),
    ROUTE(HTTP_GET, "/v1/api_keys/{key_id}", api_keys_get, API_AUTH_USER, "api_keys.get"),
    ROUTE(HTTP_PUT, "/v1/api_keys/{key_id}", api_keys_update, API_AUTH_USER, "api_keys.update"),
    ROUTE(HTTP_DELETE, "/v1/api_keys/{key_id}", api_keys_delete, API_AUTH_USER, "api_keys.delete"),
    ROUTE(HTTP_POST, "/v1/teams/{team_id}/spaces", api_spaces_create, API_AUTH_USER,
          "spaces.create"),
    ROUTE(HTTP_GET, "/v1.1/teams/{team_id}/spaces", api_spaces_list, API_AUTH_USER, "spaces.list"),
    ROUTE(HTTP_POST, "/v1/teams/{team_id}/tags", api_tags_create, API_AUTH_USER, "tags.create"),
    ROUTE(HTTP_GET, "/v1/teams/{team_id}/tags", api_tags_list, API_AUTH_USER, "tags.list"),
    ROUTE(HTTP_DELETE, "/v1/tags/{tag_id}", api_tags_delete, API_AUTH_USER, "tags.delete"),
    ROUTE(HTTP_POST, "/v1/teams/{team_id}/custom_webhooks", api_webhooks_create, API_AUTH_USER, "webhooks.create"),
    ROUTE(HTTP_GET, "/v1/teams/{team_id}/custom_webhooks", api_webhooks_list, API_AUTH_USER, "webhooks.list"),
    ROUTE(HTTP_GET, "/v1/custom_webhooks/{webhook_id}", api_webhooks_get, API_AUTH_USER, "webhooks.get"),
    ROUTE(HTTP_PUT, "/v1/custom_webhooks/{webhook_id}", api_webhooks_update, API_AUTH_USER, "webhooks.update"),
    ROUTE(HTTP_DELETE, "/v1/custom_webhooks/{webhook_id}", api_webhooks_delete, API_AUTH_USER, "webhooks.delete"),
    ROUTE(HTTP_GET, "/v1/custom_webhooks/{webhook_id}/deliveries", api_webhooks_deliveries, API_AUTH_USER, "webhooks.deliveries"),
    ROUTE(HTTP_POST, "/v1/teams/{team_id}/packages", api_packages_create, API_AUTH_USER, "packages.create"),
    ROUTE(HTTP_GET, "/v1/teams/{team_id}/packages", api_packages_list_legacy, API_AUTH_USER, "packages.list_legacy"),
    ROUTE(HTTP_GET, "/v1.1/teams/{team_id}/packages", api_packages_list, API_AUTH_USER, "packages.list"),
    ROUTE(HTTP_GET, "/v1.1/teams/{team_id}/packages/{package_id}", api_packages_get, API_AUTH_USER, "packages.get"),
    /* Where a document's table says PUT and its example POST, both are served. */
    ROUTE(HTTP_PUT, "/v1/packages/{package_id}", api_package_update, API_AUTH_PACKAGE, "package.update"),
    ROUTE(HTTP_POST, "/v1/packages/{package_id}", api_package_update, API_AUTH_PACKAGE, "package.update"),
    ROUTE(HTTP_DELETE, "/v1/packages/{package_id}", api_package_delete, API_AUTH_PACKAGE, "package.delete"),
    ROUTE(HTTP_PUT, "/v1/packages/{package_id}/expiry", api_package_expiry, API_AUTH_PACKAGE, "package.expiry"),
    ROUTE(HTTP_POST, "/v1/packages/{package_id}/expiry", api_package_expiry, API_AUTH_PACKAGE, "package.expiry"),
    ROUTE(HTTP_PUT, "/v1/packages/{package_id}/archive", api_package_archive, API_AUTH_PACKAGE, "package.archive"),
    ROUTE(HTTP_POST, "/v1/packages/{package_id}/archive", api_package_archive, API_AUTH_PACKAGE, "package.archive"),
    ROUTE(HTTP_PUT, "/v1/packages/{package_id}/unarchive", api_package_unarchive, API_AUTH_PACKAGE, "package.unarchive"),
    ROUTE(HTTP_POST, "/v1/packages/{package_id}/unarchive", api_package_unarchive, API_AUTH_PACKAGE, "package.unarchive"),
    ROUTE(HTTP_PUT, "/v1/teams/{team_id}/archive", api_team_archive, API_AUTH_USER, "packages.archive"),
    ROUTE(HTTP_POST, "/v1/teams/{team_id}/archive", api_team_archive, API_AUTH_USER, "packages.archive"),
    ROUTE(HTTP_PUT, "/v1/teams/{team_id}/unarchive", api_team_unarchive, API_AUTH_USER, "packages.unarchive"),
    ROUTE(HTTP_POST, "/v1/teams/{team_id}/unarchive", api_team_unarchive, API_AUTH_USER, "packages.unarchive"),
    ROUTE(HTTP_PUT, "/v1/teams/{team_id}/inbox/archive", api_inbox_archive, API_AUTH_USER, "inbox.archive"),
    ROUTE(HTTP_POST, "/v1/teams/{team_id}/inbox/archive", api_inbox_archive, API_AUTH_USER, "inbox.archive"),
    ROUTE(HTTP_PUT, "/v1/teams/{team_id}/inbox/unarchive", api_inbox_unarchive, API_AUTH_USER, "inbox.unarchive"),
    ROUTE(HTTP_POST, "/v1/teams/{team_id}/inbox/unarchive", api_inbox_unarchive, API_AUTH_USER, "inbox.unarchive"),
    ROUTE(HTTP_POST, "/v1/teams/{team_id}/portals", api_portals_create, API_AUTH_USER, "portals.create"),
    ROUTE(HTTP_GET, "/v1/teams/{team_id}/portals", api_portals_list_legacy, API_AUTH_USER, "portals.list_legacy"),
    ROUTE(HTTP_GET, "/v1.1/teams/{team_id}/portals", api_portals_list, API_AUTH_USER, "portals.list"),
    ROUTE(HTTP_GET, "/v1.1/portals/{portal_id}", api_portals_get, API_AUTH_USER, "portals.get"),
    /* The update table says PUT; accepting POST too costs nothing, as for packages. */
    ROUTE(HTTP_PUT, "/v1/portals/{portal_id}", api_portal_update, API_AUTH_USER, "portals.update"),
    ROUTE(HTTP_POST, "/v1/portals/{portal_id}", api_portal_update, API_AUTH_USER, "portals.update"),
    ROUTE(HTTP_DELETE, "/v1/portals/{portal_id}", api_portal_delete, API_AUTH_USER, "portals.delete"),
    ROUTE(HTTP_GET, "/v1.1/portals/{portal_id}/packages", api_portal_packages, API_AUTH_USER, "portals.packages"),
    ROUTE(HTTP_GET, "/v1/portals/{portal_id}/packages", api_portal_packages_legacy, API_AUTH_USER, "portals.packages_legacy"),
    /* The public side: no credentials (an access code, when the portal has one). */
    ROUTE(HTTP_GET, "/v1/subdomains/portals/{subdomain}", api_portal_public_get, API_AUTH_NONE, "portals.public"),
    ROUTE(HTTP_POST, "/v1/portals/{portal_id}/packages", api_portal_packages_create, API_AUTH_NONE, "portals.package_create"),
    /* consign defines: an uploader's page checks the access code before any file is chosen. */
    ROUTE(HTTP_POST, "/v1/portals/{portal_id}/access", api_portal_access, API_AUTH_NONE, "portals.access"),
    /* Web pages, for people: HTML, CSS and JavaScript embedded in the binary (web/web.h). */
    ROUTE(HTTP_GET, "/", api_web_root, API_AUTH_NONE, "web.root"),
    ROUTE(HTTP_GET, "/portal/{subdomain}", api_web_portal_page, API_AUTH_NONE, "web.portal"),
    ROUTE(HTTP_GET, "/download/{link_id}", api_web_download_page, API_AUTH_NONE, "web.download"),
    ROUTE(HTTP_GET, "/assets/{name}", api_web_asset, API_AUTH_NONE, "web.asset"),
    /* The archive's table names a package, its example does not: both archive by expiry window,
     * the first only that package. Both methods, as for the team's archive. */
    ROUTE(HTTP_PUT, "/v1/portals/{portal_id}/packages/archive", api_portal_archive, API_AUTH_USER, "portals.archive"),
    ROUTE(HTTP_POST, "/v1/portals/{portal_id}/packages/archive", api_portal_archive, API_AUTH_USER, "portals.archive"),
    ROUTE(HTTP_PUT, "/v1/portals/{portal_id}/packages/unarchive", api_portal_unarchive, API_AUTH_USER, "portals.unarchive"),
    ROUTE(HTTP_POST, "/v1/portals/{portal_id}/packages/unarchive", api_portal_unarchive, API_AUTH_USER, "portals.unarchive"),
    ROUTE(HTTP_PUT, "/v1/portals/{portal_id}/packages/{package_id}/archive", api_portal_archive, API_AUTH_USER, "portals.archive"),
    ROUTE(HTTP_POST, "/v1/portals/{portal_id}/packages/{package_id}/archive", api_portal_archive, API_AUTH_USER, "portals.archive"),
    ROUTE(HTTP_PUT, "/v1/portals/{portal_id}/packages/{package_id}/unarchive", api_portal_unarchive, API_AUTH_USER, "portals.unarchive"),
    ROUTE(HTTP_POST, "/v1/portals/{portal_id}/packages/{package_id}/unarchive", api_portal_unarchive, API_AUTH_USER, "portals.unarchive"),
    ROUTE(HTTP_POST, "/v1/packages/{package_id}/finalize", api_package_finalize, API_AUTH_PACKAGE, "package.finalize"),
    ROUTE(HTTP_GET, "/v1/system/packages/spec", api_spec, API_AUTH_NONE, "spec"),
    ROUTE(HTTP_POST, "/v1/packages/{package_id}/files", api_files_create, API_AUTH_PACKAGE, "files.create"),
    ROUTE(HTTP_GET, "/v1/packages/{package_id}/files", api_files_list, API_AUTH_PACKAGE, "files.list"),
    ROUTE(HTTP_POST, "/v1/packages/{package_id}/files/{file_id}", api_files_blueprints, API_AUTH_PACKAGE, "files.blueprints"),
    ROUTE(HTTP_DELETE, "/v1/packages/{package_id}/files/{file_id}", api_files_delete, API_AUTH_PACKAGE, "files.delete"),
    ROUTE(HTTP_POST, "/v1/packages/{package_id}/files/{file_id}/finalize", api_files_finalize, API_AUTH_PACKAGE, "files.finalize"),
    ROUTE(HTTP_GET, "/v1/packages/{package_id}/files/{file_id}/download", api_files_download, API_AUTH_PACKAGE, "files.download"),
    ROUTE(HTTP_POST, "/v1/packages/{package_id}/links", api_links_create, API_AUTH_PACKAGE, "links.create"),
    ROUTE(HTTP_GET, "/v1/packages/{package_id}/links", api_links_list, API_AUTH_PACKAGE, "links.list"),
    ROUTE(HTTP_DELETE, "/v1/links/{link_id}", api_links_delete, API_AUTH_PACKAGE, "links.delete"),
    ROUTE(HTTP_GET, "/v1/links/{link_id}", api_links_resolve, API_AUTH_NONE, "links.resolve"),
    /* The embedded store's signed storage routes (the targets of blueprints). */
    ROUTE(HTTP_POST, "/storage/files/{file_id}", api_storage_initiate, API_AUTH_NONE, "storage.initiate"),
    STREAM(HTTP_PUT, "/storage/files/{file_id}", api_storage_part, API_AUTH_NONE, "storage.part", FILES_MAX_CHUNK_SIZE),
    ROUTE(HTTP_GET, "/storage/files/{file_id}", api_storage_get, API_AUTH_NONE, "storage.get"),
    ROUTE(HTTP_HEAD, "/storage/files/{file_id}", api_storage_get, API_AUTH_NONE, "storage.get"),
    ROUTE(HTTP_GET, "/storage/packages/{package_id}/{kind}", api_storage_zip, API_AUTH_NONE, "storage.zip"),
    ROUTE(HTTP_HEAD, "/storage/packages/{package_id}/{kind}", api_storage_zip, API_AUTH_NONE, "storage.zip"),
};

/* clang-format on */

const size_t api_routes_count = ARRAY_LEN(api_routes);

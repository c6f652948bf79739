/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The whole HTTP surface of consign, as data: method, path, handler, credentials, body cap. */
#include "core/compat.h"
#include "api/api.h"

#define ROUTE(m, p, h, a, l)                                                                       \
    {                                                                                              \
        .method = (m), .pattern = (p), .handler = (h), .auth = (a), .label = (l)                   \
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
};

const size_t api_routes_count = ARRAY_LEN(api_routes);

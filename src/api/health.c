/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* GET /healthz: whether this server can answer, and with which database. */
#include "core/compat.h"
#include "api/api.h"

void api_health(struct req *rq)
{
    struct store *s;

    if (!api_store_or_reply(rq, &s))
        return;
    resp_json(rq, 200,
              json_pack("{s:s, s:s, s:s, s:i}", "status", "ok", "version", api_env(rq)->version,
                        "database", store_backend_name(s), "schema_version",
                        store_schema_version(s)));
}

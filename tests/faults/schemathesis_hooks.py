"""schemathesis hooks for tests/faults/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

NDJSON (`POST /v1/imports`) goes on the wire as text, as schemathesis sends any other textual
media type: it has no serializer of its own for `application/x-ndjson`, and skipped the operation.

One hook, for the documented client contract of `POST /v1/assessments`: an Idempotency-Key
names ONE logical request, so a client sends a fresh key with every new request and the same key
only when it retries the same body (docs/operating.md). The service answers the same key with
another body with 422 (required behaviour). schemathesis draws header values independently of
bodies and reuses a drawn key across cases, so without this hook it reports that 422 as a
schema-valid request refused. Each call gets a fresh key instead; no check is skipped, and the
status codes the checks expect are unchanged.

Only values the schema allows are replaced: a key the schema forbids (empty, too long, not
printable ASCII) is left as generated and still has to be refused, as the negative-data checks
expect; an absent key stays absent.
"""

import re
import uuid

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")

HEADER = "idempotency-key"
# The header's schema pattern in openapi/openapi.json.
VALID = re.compile(r"[!-~]{1,255}")


@schemathesis.hook
def before_call(context, case, **kwargs):
    headers = case.headers or {}
    for name, value in headers.items():
        if name.lower() == HEADER and isinstance(value, str) and VALID.fullmatch(value):
            headers[name] = f"schemathesis-{uuid.uuid4()}"

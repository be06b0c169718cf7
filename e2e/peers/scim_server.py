"""A SCIM 2.0 server for tests that stands in for Atlassian's user-provisioning API.

    python e2e/peers/scim_server.py <port> <directoryId> <bearer-key>

Built on PyPI scim2-server (0.8.3, pinned in e2e/requirements.txt): its in-memory storage,
service and WSGI application do the SCIM protocol of RFC 7643/7644 (resource JSON, `meta`,
ListResponse, PatchOp, PUT, error bodies), and the subclasses below add what Atlassian
documents on top of it. A hand-written server would redo that protocol work, and less
faithfully. The HTTP server is Werkzeug's, which is pinned already.

The SCIM API is served under http://127.0.0.1:<port>/scim/directory/<directoryId>, as
https://api.atlassian.com/scim/directory/<directoryId> is: /Users, /Groups,
/ServiceProviderConfig, /Schemas, /ResourceTypes. What Atlassian does differently from a
plain RFC 7644 server:

- Every request, discovery included, needs `Authorization: Bearer <bearer-key>`; otherwise
  401 with a SCIM error body and `WWW-Authenticate: Bearer`.
- A user's `userName` must equal its primary email (the email marked primary, else the
  first): 400 `invalidValue` otherwise, on POST, PUT and PATCH alike. A user whose userName
  or primary email another user already has: 409 `uniqueness` (also when that user is
  deactivated). A user without `active` (a POST, or a PUT that leaves it out) is active.
- `DELETE /Users/{id}` deactivates: `active` becomes false, the user stays readable and
  listed (204). `DELETE /Groups/{id}` removes the group.
- Filters: one `eq` on `userName` or `externalId` (Users), on `displayName` (Groups), the
  value a quoted string, e.g. `userName eq "ada@corp.example"`; any other filter is 400
  `invalidFilter`. No sorting (501), no bulk, no `/.search`, no `/Me` (404).
- PATCH answers 200 with the resource (scim2-server would answer 204).
- Pages of at most 100 resources (`startIndex`, `count`).

Test controls: no authentication, loopback clients only, JSON in and out:

    POST /__test/fail-next   {"count": N, "retry_after": S}  the next N SCIM requests answer
                             429 with `Retry-After: S` (before any other check)
    POST /__test/reject-key  {"on": true|false}  while on, every SCIM request answers 401
    GET  /__test/state       {"directory_id", "users": [...], "groups": [...]}: the SCIM JSON
                             of every resource (users with `active`), oldest first
    GET  /__test/requests    {"requests": N, "users": U, "active": A}: SCIM requests
                             received (the 429s and 401s included, the /__test/ ones not),
                             users held and how many of them are active (cheap to poll)
    POST /__test/reset       empties the directory and clears the counters and switches

Listens on 127.0.0.1 only, prints "listening" once it accepts connections, then nothing.
"""

import hmac
import ipaddress
import json
import os
import re
import sys
import threading
from http import HTTPStatus
from wsgiref.util import application_uri

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Error,
    ETag,
    Filter,
    InvalidFilterException,
    InvalidValueException,
    NotFoundException,
    Patch,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    UnauthorizedException,
    UniquenessException,
)
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.memory import InMemoryStorage
from scim2_server.responses import ScimResponse
from scim2_server.routing import Operation
from scim2_server.service import ScimService
from scim2_server.utils import load_default_resource_types, load_default_schemas
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

MAX_RESULTS = 100

# A single `attribute eq "value"` comparison, as Atlassian supports it.
EQ_FILTER = re.compile(r'^\s*([A-Za-z][A-Za-z0-9_]*)\s+eq\s+"(?:[^"\\]|\\.)*"\s*$', re.IGNORECASE)
FILTERABLE = {"users": {"username", "externalid"}, "groups": {"displayname"}}


def atlassian_config():
    """What Atlassian's /ServiceProviderConfig announces: PATCH and filters, nothing else."""
    return ServiceProviderConfig(
        documentation_uri="https://developer.atlassian.com/cloud/admin/user-provisioning/rest/",
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description="The directory's API key as a bearer token",
            )
        ],
    )


def primary_email(user):
    emails = [e for e in (user.emails or []) if e.value]
    if not emails:
        return None
    return next((e.value for e in emails if e.primary), emails[0].value)


class AtlassianStorage(InMemoryStorage):
    """The in-memory storage with Atlassian's rules on users."""

    def create(self, resource_type, resource):
        with self.lock:
            if resource_type.name == "User":
                if resource.active is None:
                    resource.active = True
                self.check_user(resource_type, resource, None)
            return super().create(resource_type, resource)

    def update(self, resource_type, resource, *, expected_version=None):
        with self.lock:
            if resource_type.name == "User":
                if resource.active is None:
                    resource.active = True
                self.check_user(resource_type, resource, resource.id)
            return super().update(resource_type, resource, expected_version=expected_version)

    def delete(self, resource_type, resource_id, *, expected_version=None):
        if resource_type.name != "User":
            return super().delete(resource_type, resource_id, expected_version=expected_version)
        # Atlassian deactivates: the user stays, inactive.
        with self.lock:
            user = self.get(resource_type, resource_id)
            user.active = False
            super().update(resource_type, user, expected_version=expected_version)
        return None

    def check_user(self, resource_type, user, own_id):
        email = primary_email(user)
        if email is None:
            raise InvalidValueException(detail="A user needs an email address (emails)")
        if (user.user_name or "").casefold() != email.casefold():
            raise InvalidValueException(detail="userName must be the user's primary email address")
        for other in self._resources.get(resource_type.name, {}).values():
            if other.id == own_id:
                continue
            taken = {(other.user_name or "").casefold()} | {
                (e.value or "").casefold() for e in (other.emails or [])
            }
            if email.casefold() in taken:
                raise UniquenessException(detail=f"A user with the email {email} already exists")

    def dump(self, service, base_url, name):
        with self.lock:
            resources = list(self._resources.get(name, {}).values())
        resources.sort(key=lambda r: (r.meta.created, r.id))
        return [
            service.publish(base_url, r).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE) for r in resources
        ]


class AtlassianService(ScimService):
    def patch_response(self, base_url, resource, response_parameters):
        # Atlassian answers a PATCH with the resource.
        return self.resource_response(
            self.publish(base_url, resource), Context.RESOURCE_REPLACEMENT_RESPONSE, response_parameters
        )


class AtlassianApplication(WSGIApplication):
    def __init__(self, storage, provider, service, key):
        super().__init__(storage, provider, service)
        self.key = key

    @staticmethod
    def get_base_url(environ):
        # No /v2: the directory's URL is the SCIM root.
        return application_uri(environ).rstrip("/")

    def needs_auth(self, request):
        return True

    def check_auth(self, request):
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.key.encode()):
            raise UnauthorizedException(detail="Missing or invalid API key")

    def dispatch_request(self, request):
        self.check_auth(request)
        target = self.service.match(request)
        if (
            target.me
            or target.operation in (Operation.bulk, Operation.search_with_body)
            or (target.operation is Operation.search and target.endpoint is None)
        ):
            raise NotFoundException(detail=f"No endpoint at {request.path!r}")
        if target.operation is Operation.search and "filter" in request.query:
            check_filter((target.endpoint or "").casefold(), request.query["filter"])
        return self.handler.handle(request)


def check_filter(endpoint, scim_filter):
    match = EQ_FILTER.match(scim_filter)
    if match is None or match.group(1).casefold() not in FILTERABLE.get(endpoint, set()):
        allowed = {"users": 'userName eq "..." or externalId eq "..."', "groups": 'displayName eq "..."'}
        raise InvalidFilterException(detail=f"Unsupported filter; supported: {allowed.get(endpoint, 'none')}")


def scim_error(status, detail, headers=None):
    body = Error(status=status, detail=detail).model_dump()
    return send(ScimResponse(HTTPStatus(status), body, dict(headers or {})))


def send(response):
    body = b"" if response.body is None else json.dumps(response.body).encode()
    return Response(body, status=response.status.value, headers=list(response.headers.items()))


def is_loopback(address):
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


class Peer:
    def __init__(self, directory_id, key):
        self.directory_id = directory_id
        self.key = key
        self.prefix = f"/scim/directory/{directory_id}"
        self.lock = threading.Lock()
        schemas = load_default_schemas().values()
        resource_types = load_default_resource_types().values()
        self.provider = ScimProvider.from_discovery(schemas, resource_types, config=atlassian_config())
        self.service = AtlassianService(self.provider)
        self.reset()

    def reset(self):
        with self.lock:
            self.storage = AtlassianStorage()
            self.app = AtlassianApplication(self.storage, self.provider, self.service, self.key)
            self.requests = 0
            self.fail_next = 0
            self.retry_after = 0
            self.reject_key = False

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/__test/"):
            response = self.control(Request(environ))
        else:
            response = self.scim(environ, path)
        return response(environ, start_response)

    def scim(self, environ, path):
        with self.lock:
            self.requests += 1
            if self.fail_next > 0:
                self.fail_next -= 1
                return scim_error(429, "Too many requests", {"Retry-After": str(self.retry_after)})
            if self.reject_key:
                return scim_error(401, "Missing or invalid API key", {"WWW-Authenticate": 'Bearer realm="SCIM"'})
            app = self.app
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            return scim_error(404, "Unknown directory")
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
        environ["PATH_INFO"] = path[len(self.prefix) :]
        return send(app.serve(app.read_request(environ)))

    def control(self, request):
        if not is_loopback(request.remote_addr):
            return Response(status=403)
        route = (request.method, request.path)
        raw = request.get_data(parse_form_data=False)
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return json_response({"error": "the body must be a JSON object"}, 400)
        if route == ("POST", "/__test/fail-next"):
            with self.lock:
                self.fail_next = int(body.get("count", 1))
                self.retry_after = int(body.get("retry_after", 1))
            return json_response({"fail_next": self.fail_next, "retry_after": self.retry_after})
        if route == ("POST", "/__test/reject-key"):
            with self.lock:
                self.reject_key = bool(body.get("on", True))
            return json_response({"reject_key": self.reject_key})
        if route == ("GET", "/__test/state"):
            base_url = request.host_url.rstrip("/") + self.prefix
            with self.lock:
                storage = self.storage
            return json_response(
                {
                    "directory_id": self.directory_id,
                    "users": storage.dump(self.service, base_url, "User"),
                    "groups": storage.dump(self.service, base_url, "Group"),
                }
            )
        if route == ("GET", "/__test/requests"):
            with self.lock:
                storage = self.storage
                requests = self.requests
            with storage.lock:
                users = list(storage._resources.get("User", {}).values())
            return json_response(
                {"requests": requests, "users": len(users), "active": sum(1 for u in users if u.active)}
            )
        if route == ("POST", "/__test/reset"):
            self.reset()
            return json_response({"reset": True})
        return json_response({"error": f"no test control {request.method} {request.path}"}, 404)


def json_response(value, status=200):
    return Response(json.dumps(value), status=status, content_type="application/json")


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def main():
    port, directory_id, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    server = make_server("127.0.0.1", port, Peer(directory_id, key), threaded=True, request_handler=QuietHandler)
    print("listening", flush=True)
    # The test kit stops reading after that line: later output goes nowhere.
    sys.stdout = open(os.devnull, "w", encoding="utf-8")
    server.serve_forever()


if __name__ == "__main__":
    main()

"""The Supabase peer (tests/supabase_peer.py) speaks what the real client libraries expect.

Everything here goes through ``postgrest`` and ``supabase_auth`` as installed, or raw httpx where
the exact wire format is the point, against a real PostgreSQL database with groqgen's migrations.
Only what groqgen sends is served; the last tests check that anything else is refused loudly.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt as pyjwt
import pytest

from tests.supabase_peer import (
    DEFAULT_JWT_SECRET,
    SupabasePeer,
    decode_jwt,
    lost_response,
    rate_limited,
    sign_jwt,
    status,
)

pytestmark = pytest.mark.postgres

postgrest = pytest.importorskip("postgrest")
supabase_auth = pytest.importorskip("supabase_auth")
from postgrest.exceptions import APIError  # noqa: E402
from supabase_auth.errors import AuthApiError, AuthWeakPasswordError  # noqa: E402

PASSWORD = "correct horse battery staple"
API_VERSION = {"X-Supabase-Api-Version": "2024-01-01"}  # as supabase_auth sends it


# -- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def peer_url(make_database: Callable[[], str]) -> str:
    from groqgen import migrations

    url = make_database()
    migrations.apply(url)
    return url


@pytest.fixture(scope="module")
def module_peer(peer_url: str) -> Iterator[SupabasePeer]:
    with SupabasePeer(peer_url) as peer:
        yield peer


_OPEN: list[Any] = []  # auth clients made by a test, closed after it


@pytest.fixture
def peer(module_peer: SupabasePeer) -> Iterator[SupabasePeer]:
    module_peer.clear()
    module_peer.access_token_ttl = 3600
    yield module_peer
    while _OPEN:
        _OPEN.pop().close()
    assert module_peer.pending == 0, "a scripted fault was not consumed"


def gotrue(peer: SupabasePeer, key: str | None = None) -> Any:
    client = supabase_auth.SyncGoTrueClient(
        url=peer.url + "/auth/v1",
        headers={"apikey": key or peer.anon_key},
        auto_refresh_token=False,
    )
    _OPEN.append(client)
    return client


def rest(peer: SupabasePeer, token: str | None = None, key: str | None = None) -> Any:
    headers = {"apikey": key or peer.anon_key}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return postgrest.SyncPostgrestClient(base_url=peer.url + "/rest/v1", headers=headers)


def new_email() -> str:
    return f"{uuid.uuid4().hex[:12]}@example.com"


def signed_up(peer: SupabasePeer, **data: Any) -> tuple[Any, Any]:
    """A new user, signed up through supabase_auth: (client, session)."""
    client = gotrue(peer)
    response = client.sign_up(
        {"email": new_email(), "password": PASSWORD, "options": {"data": data}}
    )
    assert response.session is not None
    return client, response.session


def raw(peer: SupabasePeer) -> httpx.Client:
    return httpx.Client(base_url=peer.url, timeout=10)


def bearer(peer: SupabasePeer, token: str) -> dict[str, str]:
    return {"apikey": peer.anon_key, "Authorization": f"Bearer {token}"}


def project(db: Any, user_id: str, name: str) -> dict[str, Any]:
    """One project, inserted as groqgen inserts rows (one object, return=representation)."""
    return db.from_("projects").insert({"name": name, "user_id": user_id}).execute().data[0]


def projects_in_one_transaction(peer_url: str, user_id: str, names: list[str]) -> None:
    """Projects made in one database transaction: they share ``created_at``."""
    import psycopg

    with psycopg.connect(peer_url) as conn:
        conn.execute(
            "insert into projects (name, user_id) select unnest(%s::text[]), %s",
            [names, user_id],
        )


# -- keys and the gateway -------------------------------------------------------------------------


def test_keys_are_hs256_jwts_like_supabase(peer: SupabasePeer) -> None:
    for key, role in ((peer.anon_key, "anon"), (peer.service_key, "service_role")):
        claims = pyjwt.decode(key, DEFAULT_JWT_SECRET, algorithms=["HS256"])
        assert claims["role"] == role
        assert claims["iss"] == "supabase"
        assert pyjwt.get_unverified_header(key) == {"alg": "HS256", "typ": "JWT"}
    # The stdlib signer and verifier agree with PyJWT.
    token = sign_jwt({"sub": "x", "exp": int(time.time()) + 3600}, "s" * 32)
    assert pyjwt.decode(token, "s" * 32, algorithms=["HS256"]) == decode_jwt(token, "s" * 32)
    assert peer.url.startswith("http://127.0.0.1:")


def test_every_request_needs_the_api_key(peer: SupabasePeer) -> None:
    with raw(peer) as http:
        missing = http.get("/rest/v1/projects")
        wrong = http.get("/auth/v1/user", headers={"apikey": "nope"})
        other_secret = sign_jwt({"role": "anon"}, "another-secret-another-secret-1234")
        forged = http.get("/rest/v1/projects", headers={"apikey": other_secret})
    assert missing.status_code == 401
    assert missing.json() == {
        "message": "No API key found in request",
        "hint": "No `apikey` request header or url param was found.",
    }
    assert wrong.status_code == forged.status_code == 401
    assert wrong.json()["message"] == "Invalid API key"
    assert "db.transactions" not in peer.counters  # refused before any database work


def test_requests_are_recorded(peer: SupabasePeer) -> None:
    _client, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        db.from_("projects").select("*").eq("name", "x").limit(3).execute()
    request = peer.requests[-1]
    assert request.method == "GET" and request.path == "/rest/v1/projects"
    assert request.query == {"select": ["*"], "name": ["eq.x"], "limit": ["3"]}
    assert request.headers["apikey"] == peer.anon_key
    assert request.headers["authorization"] == f"Bearer {session.access_token}"
    signup = peer.requests_to("/auth/v1/signup")[0]
    assert signup.json["password"] == PASSWORD and signup.json["email"].endswith("@example.com")
    assert len(peer.requests_to("/rest/v1")) == 1
    assert len(peer.requests_to("/auth/v1/signup", "POST")) == 1
    assert peer.counters["rest"] == 1 and peer.counters["auth.signup"] == 1


def test_counters_are_thread_safe(peer: SupabasePeer) -> None:
    _client, session = signed_up(peer)

    def work() -> None:
        with rest(peer, session.access_token) as db:
            for _ in range(5):
                db.from_("projects").select("*").execute()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peer.counters["rest"] == 20 == len(peer.requests_to("/rest/v1/projects"))
    assert peer.counters["db.transactions"] == 20


# -- PostgREST: the transaction around each request -----------------------------------------------


def test_each_request_is_one_transaction_set_up_as_postgrest_does(
    peer: SupabasePeer, peer_url: str
) -> None:
    import psycopg

    with psycopg.connect(peer_url, autocommit=True) as conn:
        conn.execute(
            """
            create or replace function public.peer_probe(note text default null) returns jsonb
              language sql stable
              as $$ select jsonb_build_object(
                'user', current_user,
                'claims', current_setting('request.jwt.claims', true)::jsonb,
                'method', current_setting('request.method', true),
                'path', current_setting('request.path', true),
                'apikey', current_setting('request.headers', true)::jsonb ->> 'apikey',
                'read_only', current_setting('transaction_read_only'),
                'search_path', current_setting('search_path')) $$;
            grant execute on function public.peer_probe(text) to authenticated, service_role;
            """
        )
    _client, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        seen = db.rpc("peer_probe", {}).execute().data
    assert seen["user"] == "authenticated"
    assert seen["claims"] == pyjwt.decode(
        session.access_token, DEFAULT_JWT_SECRET, algorithms=["HS256"], audience="authenticated"
    )
    assert seen["method"] == "POST" and seen["path"] == "/rpc/peer_probe"
    assert seen["apikey"] == peer.anon_key
    assert seen["read_only"] == "on"  # a STABLE function: a read-only transaction
    assert seen["search_path"] == '"public", "extensions"'
    # set_config(..., true) is transaction-local: the next request on the same pool is the
    # service role, and nothing of the previous identity is left over.
    with rest(peer, peer.service_key, key=peer.service_key) as service:
        seen = service.rpc("peer_probe", {"note": "second"}).execute().data
    assert seen["user"] == "service_role" and seen["claims"]["role"] == "service_role"


# -- Supabase Auth ---------------------------------------------------------------------------------


def test_sign_up_sign_in_refresh_user_and_sign_out(peer: SupabasePeer) -> None:
    email = new_email()
    auth = gotrue(peer)
    signup = auth.sign_up(
        {"email": email, "password": PASSWORD, "options": {"data": {"full_name": "Ada"}}}
    )
    assert signup.user is not None and signup.session is not None
    assert signup.user.email == email and signup.user.user_metadata["full_name"] == "Ada"
    assert signup.user.aud == "authenticated" and signup.user.email_confirmed_at is not None
    assert signup.session.token_type == "bearer" and signup.session.expires_in == 3600

    claims = pyjwt.decode(
        signup.session.access_token,
        DEFAULT_JWT_SECRET,
        algorithms=["HS256"],
        audience="authenticated",
    )
    assert claims["sub"] == signup.user.id and claims["role"] == "authenticated"
    assert claims["email"] == email and claims["exp"] - claims["iat"] == 3600
    assert uuid.UUID(claims["session_id"])

    # The migration's trigger made the profile, visible to its owner through PostgREST.
    with rest(peer, signup.session.access_token) as db:
        (profile,) = db.from_("profiles").select("*").limit(1).execute().data
    assert profile["id"] == signup.user.id and profile["full_name"] == "Ada"

    signin = gotrue(peer).sign_in_with_password({"email": email, "password": PASSWORD})
    assert signin.session is not None and signin.user is not None
    assert signin.user.id == signup.user.id and signin.user.last_sign_in_at is not None

    refreshed = auth.refresh_session(signup.session.refresh_token)
    assert refreshed.session is not None
    assert refreshed.session.refresh_token != signup.session.refresh_token

    user = auth.get_user(refreshed.session.access_token)
    assert user is not None and user.user.email == email

    auth.sign_out()  # scope=global: every session of the user goes
    assert peer.counters["auth.logout"] == 1
    with pytest.raises(AuthApiError) as gone:
        gotrue(peer).refresh_session(signin.session.refresh_token)
    assert gone.value.status == 400 and gone.value.code == "refresh_token_not_found"
    with pytest.raises(AuthApiError) as stale:
        gotrue(peer).get_user(signin.session.access_token)
    assert stale.value.status == 403 and stale.value.code == "session_not_found"


def test_invalid_credentials(peer: SupabasePeer) -> None:
    client, _session = signed_up(peer)
    email = client.get_session().user.email
    for credentials in (
        {"email": email, "password": "not the password"},
        {"email": new_email(), "password": PASSWORD},
    ):
        with pytest.raises(AuthApiError) as refused:
            gotrue(peer).sign_in_with_password(credentials)
        assert refused.value.status == 400
        assert refused.value.code == "invalid_credentials"
        assert refused.value.message == "Invalid login credentials"


def test_weak_password_duplicate_and_malformed_email(peer: SupabasePeer) -> None:
    with pytest.raises(AuthWeakPasswordError) as weak:
        gotrue(peer).sign_up({"email": new_email(), "password": "abc"})
    assert weak.value.status == 422 and weak.value.reasons == ["length"]
    assert weak.value.message == "Password should be at least 6 characters."

    client, _session = signed_up(peer)
    with pytest.raises(AuthApiError) as duplicate:
        gotrue(peer).sign_up({"email": client.get_session().user.email, "password": PASSWORD})
    assert duplicate.value.status == 422 and duplicate.value.code == "user_already_exists"

    with pytest.raises(AuthApiError) as malformed:
        gotrue(peer).sign_up({"email": "not an address", "password": PASSWORD})
    assert malformed.value.status == 400 and malformed.value.code == "validation_failed"


def test_auth_error_bodies_are_api_version_2024(peer: SupabasePeer) -> None:
    body = {"email": new_email(), "password": PASSWORD}
    with raw(peer) as http:
        answer = http.post(
            "/auth/v1/token?grant_type=password",
            json=body,
            headers={"apikey": peer.anon_key, **API_VERSION},
        )
    assert answer.status_code == 400
    assert answer.json() == {"code": "invalid_credentials", "message": "Invalid login credentials"}
    assert answer.headers["x-supabase-api-version"] == "2024-01-01"
    assert answer.headers["x-sb-error-code"] == "invalid_credentials"
    assert answer.headers["content-type"] == "application/json"  # Go's sendJSON: no charset


def test_refresh_tokens_rotate_and_reuse_revokes_the_session(peer: SupabasePeer) -> None:
    auth, session = signed_up(peer)
    t0 = session.refresh_token
    t1 = auth.refresh_session(t0).session.refresh_token
    t2 = auth.refresh_session(t1).session.refresh_token
    assert len({t0, t1, t2}) == 3 and all(len(t) == 12 for t in (t0, t1, t2))

    # The parent of the active token answers the active token again (a lost answer is
    # recoverable), as supabase/auth does.
    assert auth.refresh_session(t1).session.refresh_token == t2

    with pytest.raises(AuthApiError) as reused:
        auth.refresh_session(t0)
    assert reused.value.status == 400 and reused.value.code == "refresh_token_already_used"
    # The whole session is revoked: even the newest token is refused now.
    with pytest.raises(AuthApiError) as family:
        auth.refresh_session(t2)
    assert family.value.code == "refresh_token_already_used"
    assert peer.counters["auth.refresh_token_reuse"] == 2


def test_a_scripted_rate_limit_looks_like_gotrue(peer: SupabasePeer) -> None:
    client, _session = signed_up(peer)
    email = client.get_session().user.email
    peer.script(status(429, path_prefix="/auth/v1/token"))
    with pytest.raises(AuthApiError) as limited:
        gotrue(peer).sign_in_with_password({"email": email, "password": PASSWORD})
    assert limited.value.status == 429 and limited.value.code == "over_request_rate_limit"
    assert limited.value.message == "Request rate limit reached"
    assert gotrue(peer).sign_in_with_password({"email": email, "password": PASSWORD}).session
    peer.script(rate_limited())
    with raw(peer) as http:
        answer = http.get("/auth/v1/user", headers={"apikey": peer.anon_key, **API_VERSION})
    assert answer.status_code == 429
    assert answer.json()["code"] == "over_request_rate_limit"
    assert peer.counters["faults"] == 2


# -- PostgREST: reads --------------------------------------------------------------------------


def test_keyset_pages_with_the_filters_groqgen_sends(peer: SupabasePeer, peer_url: str) -> None:
    _auth, session = signed_up(peer)
    uid = session.user.id
    projects_in_one_transaction(peer_url, uid, ["p1", "p2", "p3", "p4", "p5"])
    with rest(peer, session.access_token) as db:
        made = db.from_("projects").select("*").execute().data
        assert len({row["created_at"] for row in made}) == 1  # ties: the id breaks them
        expected = sorted(made, key=lambda r: r["id"], reverse=True)

        def page(after: dict[str, Any] | None) -> list[dict[str, Any]]:
            # Exactly the request groqgen's store builds for a page after a cursor.
            query = db.from_("projects").select("*").eq("user_id", uid)
            if after is not None:
                moment = after["created_at"]
                query = query.lte("created_at", moment).or_(
                    f'created_at.lt."{moment}",and(created_at.eq."{moment}",id.lt."{after["id"]}")'
                )
            return (
                query.order("created_at", desc=True).order("id", desc=True).limit(2).execute().data
            )

        pages, after = [], None
        while chunk := page(after):
            pages.extend(chunk)
            after = chunk[-1]
        assert [r["id"] for r in pages] == [r["id"] for r in expected]
        assert [
            r["name"] for r in db.from_("projects").select("*").eq("name", "p2").execute().data
        ] == ["p2"]
        ascending = db.from_("projects").select("*").order("name").execute().data
        assert [r["name"] for r in ascending] == ["p1", "p2", "p3", "p4", "p5"]


def test_content_range_and_status_on_the_wire(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        for name in ("a", "b", "c"):
            project(db, session.user.id, name)
    headers = bearer(peer, session.access_token)
    with raw(peer) as http:
        plain = http.get("/rest/v1/projects?select=*&limit=2", headers=headers)
        counted = http.get(
            "/rest/v1/projects?select=*&limit=2", headers={**headers, "Prefer": "count=exact"}
        )
        whole = http.head(
            "/rest/v1/projects?select=*", headers={**headers, "Prefer": "count=exact"}
        )
        empty = http.head(
            "/rest/v1/projects?select=*&name=eq.none", headers={**headers, "Prefer": "count=exact"}
        )
    assert plain.status_code == 200 and plain.headers["content-range"] == "0-1/*"
    assert plain.headers["content-type"] == "application/json; charset=utf-8"
    assert plain.headers["content-location"] == "/projects?limit=2&select=%2A"
    assert counted.status_code == 206 and counted.headers["content-range"] == "0-1/3"
    assert counted.headers["preference-applied"] == "count=exact"
    assert whole.status_code == 200 and whole.headers["content-range"] == "0-2/3"
    assert whole.content == b""
    assert empty.status_code == 200 and empty.headers["content-range"] == "*/0"


def test_bodies_are_postgresqls_own_json_text(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        project(db, session.user.id, "one")
        project(db, session.user.id, "two")
    with raw(peer) as http:
        answer = http.get("/rest/v1/projects?select=*", headers=bearer(peer, session.access_token))
    assert b"}, \n {" in answer.content  # json_agg's row separator, as PostgREST sends it
    assert len(answer.json()) == 2


def test_counts_with_head(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        none = db.from_("projects").select("*", count="exact", head=True).execute()
        assert none.count == 0
        project(db, session.user.id, "a")
        project(db, session.user.id, "b")
        two = db.from_("projects").select("*", count="exact", head=True).execute()
        assert two.count == 2 and two.data == []
        one = db.from_("projects").select("*", count="exact", head=True).eq("name", "a").execute()
        assert one.count == 1
    assert peer.requests[-1].method == "HEAD"


# -- PostgREST: writes and RPC -------------------------------------------------------------------


def test_insert_update_delete_returning(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    uid = session.user.id
    with rest(peer, session.access_token) as db:
        created = db.from_("projects").insert({"name": "draft", "user_id": uid}).execute().data
        assert len(created) == 1 and created[0]["name"] == "draft" and created[0]["user_id"] == uid
        pid = created[0]["id"]
        updated = db.from_("projects").update({"name": "final"}).eq("id", pid).execute().data
        assert (
            updated[0]["name"] == "final" and updated[0]["updated_at"] >= created[0]["updated_at"]
        )
        minimal = (
            db.from_("projects")
            .insert({"name": "quiet", "user_id": uid}, returning="minimal")
            .execute()
        )
        assert minimal.data == []
        deleted = db.from_("projects").delete().eq("id", pid).execute().data
        assert [r["id"] for r in deleted] == [pid]
        assert db.from_("projects").select("*").eq("id", pid).execute().data == []
        assert db.from_("projects").delete().eq("id", pid).execute().data == []
    statuses = {r.method: r for r in peer.requests_to("/rest/v1/projects")}
    assert set(statuses) >= {"POST", "PATCH", "DELETE", "GET"}


def test_write_status_codes_on_the_wire(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    headers = bearer(peer, session.access_token)
    row = {"name": "w", "user_id": session.user.id}
    representation = {**headers, "Prefer": "return=representation"}
    with raw(peer) as http:
        rep = http.post("/rest/v1/projects", json=row, headers=representation)
        mini = http.post(
            "/rest/v1/projects", json=row, headers={**headers, "Prefer": "return=minimal"}
        )
        patch = http.patch(
            "/rest/v1/projects?name=eq.w", json={"description": "d"}, headers=headers
        )
        patched = http.patch(
            "/rest/v1/projects?name=eq.w", json={"description": "e"}, headers=representation
        )
        unfiltered = http.delete("/rest/v1/projects", headers=headers)
        gone = http.delete("/rest/v1/projects?name=eq.w", headers=representation)
        bad_column = http.post("/rest/v1/projects", json={"nope": 1}, headers=headers)
        bad_json = http.post("/rest/v1/projects", content=b"{", headers=headers)
    assert rep.status_code == 201 and rep.headers["content-range"] == "*/*"
    assert rep.headers["preference-applied"] == "return=representation"
    assert mini.status_code == 201 and mini.content == b""
    assert patch.status_code == 204 and patch.headers["content-range"] == "0-1/*"
    assert patched.status_code == 200 and [r["description"] for r in patched.json()] == ["e", "e"]
    assert unfiltered.status_code == 400 and unfiltered.json() == {
        "code": "21000",
        "details": None,
        "hint": None,
        "message": "DELETE requires a WHERE clause",
    }
    assert gone.status_code == 200 and len(gone.json()) == 2
    assert gone.headers["content-range"] == "*/*"
    assert bad_column.status_code == 400 and bad_column.json() == {
        "code": "PGRST204",
        "details": None,
        "hint": None,
        "message": "Could not find the 'nope' column of 'projects' in the schema cache",
    }
    assert bad_json.status_code == 400 and bad_json.json()["code"] == "PGRST102"


def test_rpc_calls_public_functions(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    uid = session.user.id
    with rest(peer, session.access_token) as db:
        made = project(db, uid, "rpc")
        counts = db.rpc("resource_counts", {"project_id": made["id"]}).execute().data
        assert counts == [
            {"prompt_count": 0, "code_generation_count": 0, "code_review_count": 0, "test_count": 0}
        ]
        record = {
            "id": str(uuid.uuid4()),
            "project_id": made["id"],
            "topic": "t",
            "prompt_type": "writing",
            "tone": "casual",
            "length": 50,
            "model": "llama-3.3-70b-versatile",
            "generated_prompt": "Write ...",
        }
        stored = db.rpc("record_generation", {"kind": "prompts", "record": record, "activity": {}})
        stored = stored.execute().data
        assert (
            isinstance(stored, dict) and stored["id"] == record["id"] and stored["user_id"] == uid
        )
        counts = db.rpc("resource_counts", {"project_id": made["id"]}).execute().data
        assert counts[0]["prompt_count"] == 1

        with pytest.raises(APIError) as missing:
            db.rpc("no_such_function", {"a": 1}).execute()
        assert missing.value.code == "PGRST202"
        assert missing.value.message == (
            "Could not find the function public.no_such_function(a) in the schema cache"
        )
        with pytest.raises(APIError) as wrong_args:
            db.rpc("resource_counts", {"project": made["id"]}).execute()
        assert wrong_args.value.code == "PGRST202"
        with pytest.raises(APIError) as bad_kind:
            db.rpc("record_generation", {"kind": "nope", "record": record}).execute()
        assert bad_kind.value.code == "22023" and "unknown kind" in bad_kind.value.message
    assert peer.counters["rpc.resource_counts"] == 3  # every call received, the refused one too


def test_rpc_project_functions(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        created = db.rpc("create_project", {"project": {"name": "via rpc"}, "activity": {}})
        created = created.execute().data
        assert created["name"] == "via rpc" and created["user_id"] == session.user.id
        changed = db.rpc(
            "update_project", {"id": created["id"], "changes": {"name": "renamed"}, "activity": {}}
        ).execute()
        assert changed.data["name"] == "renamed"
        nothing = db.rpc(
            "update_project", {"id": str(uuid.uuid4()), "changes": {}, "activity": {}}
        ).execute()
        assert nothing.data is None
        gone = db.rpc("delete_project", {"id": created["id"], "activity": {}}).execute()
        assert gone.data["id"] == created["id"]


# -- PostgREST: identity, RLS and errors -----------------------------------------------------------


def test_row_level_security_applies(peer: SupabasePeer) -> None:
    _a, alice = signed_up(peer)
    _b, bob = signed_up(peer)
    with rest(peer, alice.access_token) as as_alice, rest(peer, bob.access_token) as as_bob:
        mine = project(as_alice, alice.user.id, "alice's")
        assert as_bob.from_("projects").select("*").eq("id", mine["id"]).execute().data == []
        assert (
            as_bob.from_("projects").update({"name": "x"}).eq("id", mine["id"]).execute().data == []
        )
        with pytest.raises(APIError) as forged:
            project(as_bob, alice.user.id, "not bob's")
        assert forged.value.code == "42501"
        assert "row-level security" in (forged.value.message or "")
        assert [p["id"] for p in as_alice.from_("projects").select("*").execute().data] == [
            mine["id"]
        ]
    with rest(peer, peer.service_key, key=peer.service_key) as service:
        for user, expected in ((alice, [mine["id"]]), (bob, [])):
            rows = service.from_("projects").select("*").eq("user_id", user.user.id).execute()
            assert [r["id"] for r in rows.data] == expected
    with rest(peer) as anonymous:
        with pytest.raises(APIError) as anon:
            anonymous.from_("projects").select("*").execute()
        assert anon.value.code == "42501"
    with raw(peer) as http:
        denied = http.post(
            "/rest/v1/projects",
            json={"name": "n", "user_id": alice.user.id},
            headers=bearer(peer, bob.access_token),
        )
        anon_denied = http.get("/rest/v1/projects", headers={"apikey": peer.anon_key})
    assert denied.status_code == 403
    assert anon_denied.status_code == 401 and anon_denied.headers["www-authenticate"] == "Bearer"


def test_database_errors_keep_postgrest_shape_and_status(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    headers = bearer(peer, session.access_token)
    service = {"apikey": peer.service_key, "Authorization": f"Bearer {peer.service_key}"}
    with raw(peer) as http:
        duplicate = http.post(
            "/rest/v1/profiles",
            json={"id": session.user.id, "email": "x@example.com"},
            headers=headers,
        )
        check = http.post(
            "/rest/v1/projects", json={"name": "", "user_id": session.user.id}, headers=headers
        )
        bad_uuid = http.get("/rest/v1/projects?id=eq.not-a-uuid", headers=headers)
        foreign = http.post(
            "/rest/v1/projects", json={"name": "n", "user_id": str(uuid.uuid4())}, headers=service
        )
        no_table = http.get("/rest/v1/nope", headers=headers)
        bad_schema = http.get("/rest/v1/projects", headers={**headers, "Accept-Profile": "auth"})
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "23505"
    assert list(duplicate.json()) == ["code", "details", "hint", "message"]
    assert check.status_code == 400 and check.json()["code"] == "23514"
    assert bad_uuid.status_code == 400 and bad_uuid.json()["code"] == "22P02"
    assert foreign.status_code == 409 and foreign.json()["code"] == "23503"
    assert no_table.status_code == 404 and no_table.json()["code"] == "42P01"
    assert bad_schema.status_code == 406 and bad_schema.json()["code"] == "PGRST106"


def test_expired_tokens(peer: SupabasePeer) -> None:
    auth, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        assert db.from_("projects").select("*").execute().data == []
        peer.expire_all_tokens()
        with pytest.raises(APIError) as expired:
            db.from_("projects").select("*").execute()
    assert expired.value.json() == {
        "code": "PGRST301",
        "details": None,
        "hint": None,
        "message": "JWT expired",
    }
    with pytest.raises(AuthApiError) as gotrue_side:
        auth.get_user(session.access_token)
    assert gotrue_side.value.status == 403 and gotrue_side.value.code == "bad_jwt"
    assert "token is expired" in gotrue_side.value.message

    # A refresh gives a token that works again.
    fresh = auth.refresh_session(session.refresh_token).session
    assert fresh.access_token != session.access_token  # even within the same second
    with rest(peer, fresh.access_token) as db:
        assert db.from_("projects").select("*").execute().data == []

    # Tokens issued with a lifetime already over are expired by their exp claim.
    peer.access_token_ttl = -5
    stale = auth.refresh_session(fresh.refresh_token).session
    with raw(peer) as http:
        answer = http.get("/rest/v1/projects", headers=bearer(peer, stale.access_token))
        head = http.head("/rest/v1/projects", headers=bearer(peer, stale.access_token))
    assert answer.status_code == 401 and answer.json()["code"] == "PGRST301"
    assert answer.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="JWT expired"'
    )
    assert head.status_code == 401 and head.content == b""  # postgrest-py then says "401"


def test_a_forged_token_is_refused(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    claims = pyjwt.decode(session.access_token, options={"verify_signature": False})
    forged = sign_jwt(claims, "not-the-project-secret-not-the-project-secret")
    with raw(peer) as http:
        answer = http.get("/rest/v1/projects", headers=bearer(peer, forged))
    assert answer.status_code == 401
    assert answer.json()["message"] == "JWSError JWSInvalidSignature"


# -- faults ---------------------------------------------------------------------------------------


def test_status_faults_hit_only_matching_requests(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    peer.script(status(503, path_prefix="/rest/v1/projects"))
    with rest(peer, session.access_token) as db:
        assert db.from_("profiles").select("*").execute().data  # not matched: untouched
        with pytest.raises(APIError) as unavailable:
            db.from_("projects").select("*").retry(False).execute()
        assert unavailable.value.code == "PGRST002"
        assert db.from_("projects").select("*").execute().data == []
    custom = {"code": 400, "error_code": "refresh_token_not_found", "msg": "custom"}
    peer.script(status(400, body=custom, path_prefix="/auth/v1/token"))
    with raw(peer) as http:
        answer = http.post("/auth/v1/token?grant_type=refresh_token", json={})
    assert answer.status_code == 400 and answer.json() == custom
    assert peer.counters["faults"] == 2


def test_a_lost_response_still_commits(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        made = project(db, session.user.id, "lost")
        record = {
            "id": str(uuid.uuid4()),
            "project_id": made["id"],
            "code": "print(1)",
            "language": "python",
            "review_type": "general",
            "model": "m",
            "review_result": "fine",
        }
        args = {"kind": "code_reviews", "record": record, "activity": {}}
        peer.script(lost_response("/rest/v1/rpc/record_generation"))
        with pytest.raises(httpx.TransportError):
            db.rpc("record_generation", args).execute()
        # The write happened; the retry with the same id finds it.
        again = db.rpc("record_generation", args).execute().data
        assert again["id"] == record["id"]
        counts = db.rpc("resource_counts", {"project_id": made["id"]}).execute().data
        assert counts[0]["code_review_count"] == 1


def test_the_request_log_keeps_bodies(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        project(db, session.user.id, "logged")
    insert = peer.requests_to("/rest/v1/projects", "POST")[0]
    assert insert.json == {"name": "logged", "user_id": session.user.id}
    assert json.loads(insert.body) == insert.json
    assert "return=representation" in insert.headers["prefer"]


# -- what groqgen does not send is refused, loudly ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target", "extra"),
    [
        ("GET", "/rest/v1/projects?name=neq.x", {}),
        ("GET", "/rest/v1/projects?name=in.(a,b)", {}),
        ("GET", "/rest/v1/projects?select=id,name", {}),
        ("GET", "/rest/v1/projects?select=*,prompts(*)", {}),
        ("GET", "/rest/v1/projects?offset=2", {}),
        ("GET", "/rest/v1/projects?order=name.desc.nullslast", {}),
        ("GET", "/rest/v1/projects?not.or=(name.eq.a)", {}),
        ("GET", "/rest/v1/projects?or=(name.like.a*)", {}),
        ("GET", "/rest/v1/projects", {"headers": {"Accept": "application/vnd.pgrst.object+json"}}),
        ("GET", "/rest/v1/projects", {"headers": {"Accept": "text/csv"}}),
        ("GET", "/rest/v1/projects", {"headers": {"Prefer": "count=planned"}}),
        ("POST", "/rest/v1/projects", {"json": [{"name": "a"}, {"name": "b"}]}),
        (
            "POST",
            "/rest/v1/projects",
            {"json": {"name": "a"}, "headers": {"Prefer": "resolution=merge-duplicates"}},
        ),
        ("PATCH", "/rest/v1/projects?name=eq.a&limit=1", {"json": {"name": "b"}}),
        ("PUT", "/rest/v1/projects?id=eq.1", {"json": {"name": "b"}}),
        ("GET", "/rest/v1/rpc/resource_counts?project_id=1", {}),
        ("GET", "/rest/v1/", {}),
    ],
)
def test_postgrest_grammar_groqgen_does_not_send_is_refused(
    peer: SupabasePeer, method: str, target: str, extra: dict[str, Any]
) -> None:
    _auth, session = signed_up(peer)
    headers = {**bearer(peer, session.access_token), **extra.pop("headers", {})}
    with raw(peer) as http:
        answer = http.request(method, target, headers=headers, **extra)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "PGRST100"
    assert answer.json()["message"].startswith("The Supabase test peer does not implement")
    assert "db.transactions" not in peer.counters  # refused before any database work


def test_auth_flows_groqgen_does_not_use_are_refused(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    headers = {**bearer(peer, session.access_token), **API_VERSION}
    with raw(peer) as http:
        local = http.post("/auth/v1/logout?scope=local", headers=headers)
        magic = http.post("/auth/v1/otp", json={"email": new_email()}, headers=headers)
        pkce = http.post("/auth/v1/token?grant_type=pkce", json={}, headers=headers)
    for answer in (local, magic):
        assert answer.json()["code"] == "validation_failed"
        assert answer.json()["message"].startswith("The Supabase test peer does not implement")
    assert local.status_code == 400 and magic.status_code == 404
    assert pkce.status_code == 400 and pkce.json()["code"] == "validation_failed"

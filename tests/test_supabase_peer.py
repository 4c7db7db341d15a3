"""The Supabase peer (tests/supabase_peer.py) speaks what the real client libraries expect.

Everything here goes through ``postgrest`` and ``supabase_auth`` as installed, or raw httpx where
the exact wire format is the point, against a real PostgreSQL database with groqgen's migrations.
"""

from __future__ import annotations

import json
import threading
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
    reset,
    sign_jwt,
    status,
)

pytestmark = pytest.mark.postgres

postgrest = pytest.importorskip("postgrest")
supabase_auth = pytest.importorskip("supabase_auth")
from postgrest.exceptions import APIError  # noqa: E402
from supabase_auth.errors import AuthApiError, AuthWeakPasswordError  # noqa: E402

PASSWORD = "correct horse battery staple"


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


# -- keys and the gateway -------------------------------------------------------------------------


def test_keys_are_hs256_jwts_like_supabase(peer: SupabasePeer) -> None:
    for key, role in ((peer.anon_key, "anon"), (peer.service_key, "service_role")):
        claims = pyjwt.decode(key, DEFAULT_JWT_SECRET, algorithms=["HS256"])
        assert claims["role"] == role
        assert claims["iss"] == "supabase"
        assert pyjwt.get_unverified_header(key) == {"alg": "HS256", "typ": "JWT"}
    # The stdlib signer and verifier agree with PyJWT.
    token = sign_jwt({"sub": "x", "exp": 4102444800}, "s" * 32)
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
        db.from_("projects").select("id,name").eq("name", "x").limit(3).execute()
    request = peer.requests[-1]
    assert request.method == "GET" and request.path == "/rest/v1/projects"
    assert request.query == {"select": ["id,name"], "name": ["eq.x"], "limit": ["3"]}
    assert request.headers["apikey"] == peer.anon_key
    assert request.headers["authorization"] == f"Bearer {session.access_token}"
    signup = peer.requests_to("/auth/v1/signup")[0]
    assert signup.json["password"] == PASSWORD and signup.json["email"].endswith("@example.com")
    assert peer.count("/rest/v1") == 1 and peer.count("/auth/v1/signup", "POST") == 1
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
    assert peer.counters["rest"] == 20 == peer.count("/rest/v1/projects")
    assert peer.counters["db.transactions"] == 20


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
        profile = db.from_("profiles").select("*").single().execute().data
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


def test_weak_password_and_duplicate_email(peer: SupabasePeer) -> None:
    with pytest.raises(AuthWeakPasswordError) as weak:
        gotrue(peer).sign_up({"email": new_email(), "password": "abc"})
    assert weak.value.status == 422 and weak.value.reasons == ["length"]
    assert weak.value.message == "Password should be at least 6 characters."

    client, _session = signed_up(peer)
    with pytest.raises(AuthApiError) as duplicate:
        gotrue(peer).sign_up({"email": client.get_session().user.email, "password": PASSWORD})
    assert duplicate.value.status == 422 and duplicate.value.code == "user_already_exists"


def test_auth_error_bodies_follow_the_api_version_header(peer: SupabasePeer) -> None:
    body = {"email": new_email(), "password": PASSWORD}
    with raw(peer) as http:
        new = http.post(
            "/auth/v1/token?grant_type=password",
            json=body,
            headers={"apikey": peer.anon_key, "X-Supabase-Api-Version": "2024-01-01"},
        )
        old = http.post(
            "/auth/v1/token?grant_type=password", json=body, headers={"apikey": peer.anon_key}
        )
    assert new.status_code == old.status_code == 400
    assert new.json() == {"code": "invalid_credentials", "message": "Invalid login credentials"}
    assert new.headers["x-supabase-api-version"] == "2024-01-01"
    assert old.json() == {
        "code": 400,
        "error_code": "invalid_credentials",
        "msg": "Invalid login credentials",
    }
    assert "x-supabase-api-version" not in old.headers
    assert old.headers["x-sb-error-code"] == "invalid_credentials"


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
        answer = http.get("/auth/v1/user", headers={"apikey": peer.anon_key})
    assert answer.status_code == 429
    assert answer.json()["error_code"] == "over_request_rate_limit"
    assert peer.counters["faults"] == 2


# -- PostgREST: reads --------------------------------------------------------------------------


def projects(db: Any, user_id: str, names: list[str], **extra: Any) -> list[dict[str, Any]]:
    rows = [{"name": n, "user_id": user_id, **extra} for n in names]
    return db.from_("projects").insert(rows).execute().data


def test_select_with_filters_order_and_limit(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    uid = session.user.id
    with rest(peer, session.access_token) as db:
        # One request, one transaction: every row has the same created_at.
        made = projects(db, uid, ["p1", "p2", "p3", "p4", "p5"])
        db.from_("projects").update({"description": "first"}).eq("name", "p1").execute()
        assert len({row["created_at"] for row in made}) == 1
        expected = sorted(made, key=lambda r: r["id"], reverse=True)

        def page(after: dict[str, Any] | None) -> list[dict[str, Any]]:
            query = db.from_("projects").select("*")
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

        names = lambda q: sorted(r["name"] for r in q.execute().data)  # noqa: E731
        table = lambda: db.from_("projects").select("name")  # noqa: E731
        assert names(table().eq("name", "p2")) == ["p2"]
        assert names(table().neq("name", "p2")) == ["p1", "p3", "p4", "p5"]
        assert names(table().gt("name", "p3")) == ["p4", "p5"]
        assert names(table().gte("name", "p3")) == ["p3", "p4", "p5"]
        assert names(table().lt("name", "p2")) == ["p1"]
        assert names(table().lte("name", "p2")) == ["p1", "p2"]
        assert names(table().is_("description", "null")) == ["p2", "p3", "p4", "p5"]
        assert names(table().not_.is_("description", "null")) == ["p1"]
        assert names(table().in_("name", ["p1", "p4"])) == ["p1", "p4"]
        assert names(table().like("name", "p*")) == ["p1", "p2", "p3", "p4", "p5"]
        assert names(table().or_("name.eq.p1,and(name.gt.p3,name.neq.p5)")) == ["p1", "p4"]
        assert names(table().order("name").range(1, 2)) == ["p2", "p3"]

        only = db.from_("projects").select("id,name").limit(1).execute().data
        assert list(only[0]) == ["id", "name"]


def test_content_range_and_status_on_the_wire(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        projects(db, session.user.id, ["a", "b", "c"])
    headers = {"apikey": peer.anon_key, "Authorization": f"Bearer {session.access_token}"}
    with raw(peer) as http:
        plain = http.get("/rest/v1/projects?select=id&limit=2", headers=headers)
        counted = http.get(
            "/rest/v1/projects?select=id&limit=2", headers={**headers, "Prefer": "count=exact"}
        )
        whole = http.head(
            "/rest/v1/projects?select=*", headers={**headers, "Prefer": "count=exact"}
        )
        empty = http.head(
            "/rest/v1/projects?select=*&name=eq.none", headers={**headers, "Prefer": "count=exact"}
        )
        past = http.get(
            "/rest/v1/projects?select=id&offset=9", headers={**headers, "Prefer": "count=exact"}
        )
    assert plain.status_code == 200 and plain.headers["content-range"] == "0-1/*"
    assert plain.headers["content-type"] == "application/json; charset=utf-8"
    assert counted.status_code == 206 and counted.headers["content-range"] == "0-1/3"
    assert counted.headers["preference-applied"] == "count=exact"
    assert whole.status_code == 200 and whole.headers["content-range"] == "0-2/3"
    assert whole.content == b""
    assert empty.status_code == 200 and empty.headers["content-range"] == "*/0"
    assert past.status_code == 416 and past.json()["code"] == "PGRST103"


def test_counts_with_head(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        none = db.from_("projects").select("*", count="exact", head=True).execute()
        assert none.count == 0
        projects(db, session.user.id, ["a", "b"])
        two = db.from_("projects").select("*", count="exact", head=True).execute()
        assert two.count == 2 and two.data == []
        one = db.from_("projects").select("*", count="exact", head=True).eq("name", "a").execute()
        assert one.count == 1
    assert peer.requests[-1].method == "HEAD"


def test_single_wants_exactly_one_row(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        with pytest.raises(APIError) as none:
            db.from_("projects").select("*").eq("id", str(uuid.uuid4())).single().execute()
        assert none.value.code == "PGRST116"
        assert none.value.details == "The result contains 0 rows"
        assert none.value.message == "JSON object requested, multiple (or no) rows returned"
        projects(db, session.user.id, ["a", "b"])
        with pytest.raises(APIError) as many:
            db.from_("projects").select("*").single().execute()
        assert many.value.details == "The result contains 2 rows"
        one = db.from_("projects").select("name").eq("name", "a").single().execute()
        assert one.data == {"name": "a"}
        maybe = db.from_("projects").select("*").eq("name", "zzz").maybe_single().execute()
        assert maybe is None or maybe.data is None
    headers = {
        "apikey": peer.anon_key,
        "Authorization": f"Bearer {session.access_token}",
        "Accept": "application/vnd.pgrst.object+json",
    }
    with raw(peer) as http:
        answer = http.get("/rest/v1/projects?name=eq.nothing", headers=headers)
    assert answer.status_code == 406
    assert answer.content == (
        b'{"code":"PGRST116","details":"The result contains 0 rows","hint":null,'
        b'"message":"JSON object requested, multiple (or no) rows returned"}'
    )


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


def test_upsert_and_missing_default(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    uid = session.user.id
    pid = str(uuid.uuid4())
    with rest(peer, session.access_token) as db:
        first = db.from_("projects").upsert({"id": pid, "name": "one", "user_id": uid}).execute()
        merged = db.from_("projects").upsert({"id": pid, "name": "two", "user_id": uid}).execute()
        ignored = db.from_("projects").upsert(
            {"id": pid, "name": "three", "user_id": uid}, ignore_duplicates=True
        )
        assert first.data[0]["name"] == "one" and merged.data[0]["name"] == "two"
        assert ignored.execute().data == []
        # Rows with different keys: absent columns take their defaults (missing=default).
        rows = db.from_("projects").insert(
            [{"name": "m1", "user_id": uid}, {"name": "m2", "user_id": uid, "description": "d"}],
            default_to_null=False,
        )
        made = rows.execute().data
        assert [(r["name"], r["description"]) for r in made] == [("m1", None), ("m2", "d")]
        assert all(r["id"] and r["created_at"] for r in made)
    insert = peer.requests_to("/rest/v1/projects", "POST")[-1]
    assert "missing=default" in insert.headers["prefer"] and "columns" in insert.query


def test_write_status_codes_on_the_wire(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    headers = {"apikey": peer.anon_key, "Authorization": f"Bearer {session.access_token}"}
    row = {"name": "w", "user_id": session.user.id}
    with raw(peer) as http:
        rep = http.post(
            "/rest/v1/projects", json=row, headers={**headers, "Prefer": "return=representation"}
        )
        mini = http.post(
            "/rest/v1/projects", json=row, headers={**headers, "Prefer": "return=minimal"}
        )
        patch = http.patch(
            "/rest/v1/projects?name=eq.w", json={"description": "d"}, headers=headers
        )
        unfiltered = http.delete("/rest/v1/projects", headers=headers)
        gone = http.delete(
            "/rest/v1/projects?name=eq.w", headers={**headers, "Prefer": "return=representation"}
        )
        bad_column = http.post("/rest/v1/projects", json={"nope": 1}, headers=headers)
        bad_json = http.post("/rest/v1/projects", content=b"{", headers=headers)
    assert rep.status_code == 201 and rep.headers["content-range"] == "*/*"
    assert rep.headers["preference-applied"] == "return=representation"
    assert mini.status_code == 201 and mini.content == b""
    assert patch.status_code == 204 and patch.headers["content-range"] == "0-1/*"
    assert unfiltered.status_code == 400 and unfiltered.json()["code"] == "21000"
    assert gone.status_code == 200 and len(gone.json()) == 2
    assert bad_column.status_code == 400 and bad_column.json() == {
        "code": "PGRST204",
        "details": None,
        "hint": None,
        "message": "Could not find the 'nope' column of 'projects' in the schema cache",
    }
    assert bad_json.status_code == 400 and bad_json.json()["code"] == "PGRST102"


def test_rpc_calls_any_public_function(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    uid = session.user.id
    with rest(peer, session.access_token) as db:
        project = projects(db, uid, ["rpc"])[0]
        counts = db.rpc("resource_counts", {"project_id": project["id"]}).execute().data
        assert counts == [
            {"prompt_count": 0, "code_generation_count": 0, "code_review_count": 0, "test_count": 0}
        ]
        record = {
            "id": str(uuid.uuid4()),
            "project_id": project["id"],
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
        counts = db.rpc("resource_counts", {"project_id": project["id"]}).execute().data
        assert counts[0]["prompt_count"] == 1
        # GET with query arguments works too (a STABLE function: a read-only transaction).
        assert (
            db.rpc("resource_counts", {"project_id": project["id"]}, get=True).execute().data
            == counts
        )

        with pytest.raises(APIError) as missing:
            db.rpc("no_such_function", {"a": 1}).execute()
        assert missing.value.code == "PGRST202"
        assert missing.value.message == (
            "Could not find the function public.no_such_function(a) in the schema cache"
        )
        with pytest.raises(APIError) as wrong_args:
            db.rpc("resource_counts", {"project": project["id"]}).execute()
        assert wrong_args.value.code == "PGRST202"
        assert (
            wrong_args.value.hint
            == "Perhaps you meant to call the function public.resource_counts(project_id)"
        )
        with pytest.raises(APIError) as bad_kind:
            db.rpc("record_generation", {"kind": "nope", "record": record}).execute()
        assert bad_kind.value.code == "22023" and "unknown kind" in bad_kind.value.message
    assert peer.counters["rpc.resource_counts"] == 4  # every call received, the refused one too


def test_rpc_project_functions_when_migrated(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        try:
            created = db.rpc("create_project", {"project": {"name": "via rpc"}, "activity": {}})
            created = created.execute().data
        except APIError as exc:  # a database without the migration that adds them
            assert exc.code == "PGRST202"
            pytest.skip("create_project is not in this database")
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
        mine = projects(as_alice, alice.user.id, ["alice's"])[0]
        assert as_bob.from_("projects").select("*").eq("id", mine["id"]).execute().data == []
        assert (
            as_bob.from_("projects").update({"name": "x"}).eq("id", mine["id"]).execute().data == []
        )
        with pytest.raises(APIError) as forged:
            projects(as_bob, alice.user.id, ["not bob's"])
        assert forged.value.code == "42501"
        assert "row-level security" in (forged.value.message or "")
        assert [p["id"] for p in as_alice.from_("projects").select("*").execute().data] == [
            mine["id"]
        ]
    with rest(peer, peer.service_key, key=peer.service_key) as service:
        everyone = (
            service.from_("projects").select("user_id").in_("user_id", [alice.user.id, bob.user.id])
        )
        assert {r["user_id"] for r in everyone.execute().data} == {alice.user.id}
    with rest(peer) as anonymous:
        with pytest.raises(APIError) as anon:
            anonymous.from_("projects").select("*").execute()
        assert anon.value.code == "42501"
    headers = {"apikey": peer.anon_key, "Authorization": f"Bearer {bob.access_token}"}
    with raw(peer) as http:
        denied = http.post(
            "/rest/v1/projects", json={"name": "n", "user_id": alice.user.id}, headers=headers
        )
        anon_denied = http.get("/rest/v1/projects", headers={"apikey": peer.anon_key})
    assert denied.status_code == 403
    assert anon_denied.status_code == 401 and anon_denied.headers["www-authenticate"] == "Bearer"


def test_database_errors_keep_postgrest_shape_and_status(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    headers = {"apikey": peer.anon_key, "Authorization": f"Bearer {session.access_token}"}
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
        bad_filter = http.get("/rest/v1/projects?id=nope.1", headers=headers)
        bad_schema = http.get("/rest/v1/projects", headers={**headers, "Accept-Profile": "auth"})
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "23505"
    assert set(duplicate.json()) == {"code", "details", "hint", "message"}
    assert check.status_code == 400 and check.json()["code"] == "23514"
    assert bad_uuid.status_code == 400 and bad_uuid.json()["code"] == "22P02"
    assert foreign.status_code == 409 and foreign.json()["code"] == "23503"
    assert no_table.status_code == 404 and no_table.json()["code"] == "42P01"
    assert bad_filter.status_code == 400 and bad_filter.json()["code"] == "PGRST100"
    assert bad_schema.status_code == 406 and bad_schema.json()["code"] == "PGRST106"


def test_expired_tokens(peer: SupabasePeer, peer_url: str) -> None:
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
        answer = http.get(
            "/rest/v1/projects",
            headers={"apikey": peer.anon_key, "Authorization": f"Bearer {stale.access_token}"},
        )
    assert answer.status_code == 401 and answer.json()["code"] == "PGRST301"
    assert answer.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="JWT expired"'
    )

    # PostgREST 13 says PGRST303 instead.
    with SupabasePeer(peer_url, postgrest_version=13, access_token_ttl=-5) as v13:
        token = v13.sign_up(new_email(), PASSWORD)["access_token"]
        with raw(v13) as http:
            answer = http.get(
                "/rest/v1/projects",
                headers={"apikey": v13.anon_key, "Authorization": f"Bearer {token}"},
            )
    assert answer.status_code == 401 and answer.json()["code"] == "PGRST303"
    assert answer.headers["proxy-status"] == "PostgREST; error=PGRST303"


def test_a_forged_token_is_refused(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    claims = pyjwt.decode(session.access_token, options={"verify_signature": False})
    forged = sign_jwt(claims, "not-the-project-secret-not-the-project-secret")
    with raw(peer) as http:
        answer = http.get(
            "/rest/v1/projects",
            headers={"apikey": peer.anon_key, "Authorization": f"Bearer {forged}"},
        )
    assert answer.status_code == 401
    assert answer.json()["message"] == "JWSError JWSInvalidSignature"


# -- faults ---------------------------------------------------------------------------------------


def test_status_and_reset_faults_hit_only_matching_requests(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    peer.script(
        status(503, path_prefix="/rest/v1/projects"),
        reset(path_prefix="/rest/v1/projects", method="GET"),
    )
    with rest(peer, session.access_token) as db:
        assert db.from_("profiles").select("id").execute().data  # not matched: untouched
        with pytest.raises(APIError) as unavailable:
            db.from_("projects").select("*").retry(False).execute()
        assert unavailable.value.code == "PGRST002"
        with pytest.raises(httpx.TransportError):
            db.from_("projects").select("*").retry(False).execute()
        assert db.from_("projects").select("*").execute().data == []
    custom = {"message": "custom"}
    peer.script(status(418, body=custom, headers={"X-Test": "1"}))
    with raw(peer) as http:
        teapot = http.get("/anything")
    assert teapot.status_code == 418 and teapot.json() == custom and teapot.headers["x-test"] == "1"


def test_a_lost_response_still_commits(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        project = projects(db, session.user.id, ["lost"])[0]
        record = {
            "id": str(uuid.uuid4()),
            "project_id": project["id"],
            "code": "print(1)",
            "language": "python",
            "review_type": "general",
            "model": "m",
            "review_result": "fine",
        }
        args = {"kind": "code_reviews", "record": record, "activity": {}}
        peer.script(lost_response(path_prefix="/rest/v1/rpc/record_generation"))
        with pytest.raises(httpx.TransportError):
            db.rpc("record_generation", args).execute()
        # The write happened; the retry with the same id finds it.
        again = db.rpc("record_generation", args).execute().data
        assert again["id"] == record["id"]
        counts = db.rpc("resource_counts", {"project_id": project["id"]}).execute().data
        assert counts[0]["code_review_count"] == 1


def test_the_request_log_keeps_bodies(peer: SupabasePeer) -> None:
    _auth, session = signed_up(peer)
    with rest(peer, session.access_token) as db:
        projects(db, session.user.id, ["logged"])
    insert = peer.requests_to("/rest/v1/projects", "POST")[0]
    assert insert.json == [{"name": "logged", "user_id": session.user.id}]
    assert json.loads(insert.body) == insert.json
    assert "return=representation" in insert.headers["prefer"]

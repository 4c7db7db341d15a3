"""The exact PostgREST request behind every repository verb on the Supabase store.

An httpx MockTransport stands in for the network: it records each request (method, path, query
string, headers, body) and answers in PostgREST's wire format.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from groqgen import Client
from groqgen.auth import session_path

URL = "https://abcdefgh.supabase.co"
USER = uuid.UUID("5f2b8c1e-7d3a-4e6b-9c0d-1a2b3c4d5e6f")
NOW = "2026-11-26T01:02:03.456789+00:00"


def _jwt(payload: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(payload)}.signature"


ANON_KEY = _jwt({"role": "anon", "iss": "supabase"})
SERVICE_KEY = _jwt({"role": "service_role", "iss": "supabase"})
USER_TOKEN = _jwt({"sub": str(USER), "role": "authenticated", "exp": int(time.time()) + 3600})


def _row(table: str, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": str(uuid.uuid4()), "created_at": NOW, "user_id": str(USER)}
    shapes: dict[str, dict[str, Any]] = {
        "projects": {"name": "Launch", "description": None, "updated_at": NOW},
        "prompts": {
            "topic": "t",
            "prompt_type": "writing",
            "tone": "casual",
            "length": 50,
            "additional_context": None,
            "model": "m",
            "generated_prompt": "p",
            "project_id": None,
        },
        "activity_logs": {
            "activity_type": "login",
            "description": "d",
            "metadata": {},
            "project_id": None,
        },
        "profiles": {
            "email": "a@example.com",
            "full_name": None,
            "avatar_url": None,
            "updated_at": NOW,
        },
    }
    row = {**base, **shapes[table], **values}
    if table == "profiles":
        row.pop("user_id")
        row["id"] = str(USER)
    return row


class Recorder:
    """Answers like PostgREST and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        table = path.rsplit("/", 1)[-1]
        if "/rpc/" in path:
            body = json.loads(request.content or b"{}")
            if table == "resource_counts":
                data: Any = [
                    {
                        "prompt_count": 1,
                        "code_generation_count": 0,
                        "code_review_count": 0,
                        "test_count": 2,
                    }
                ]
            elif table == "record_generation":
                data = {**_row("prompts"), **body["record"]}
            else:
                data = _row("projects", **({"id": body.get("id")} if body.get("id") else {}))
            return httpx.Response(200, json=data)
        if request.method == "HEAD":
            return httpx.Response(200, headers={"content-range": "*/3"})
        if request.method == "GET":
            return httpx.Response(200, json=[_row(table)], headers={"content-range": "0-0/*"})
        if request.method == "POST":
            return httpx.Response(201, json=[{**_row(table), **json.loads(request.content)}])
        return httpx.Response(200, json=[_row(table)])

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(tmp_path: Path, recorder: Recorder) -> Iterator[Client]:
    """A client on the anon key with a signed-in session already on disk."""
    path = session_path(tmp_path, URL)
    session = {
        "access_token": USER_TOKEN,
        "refresh_token": "r1",
        "token_type": "bearer",
        "expires_in": 3600,
        "expires_at": int(time.time()) + 3600,
        "user": {
            "id": str(USER),
            "aud": "authenticated",
            "app_metadata": {},
            "user_metadata": {},
            "created_at": NOW,
        },
    }
    path.write_text(json.dumps(session))
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    with Client(supabase_url=URL, supabase_key=ANON_KEY, home=tmp_path, http_client=http) as c:
        yield c


def _query(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.url.query.decode(), keep_blank_values=True)


def _common(request: httpx.Request, token: str = USER_TOKEN) -> None:
    assert request.url.host == "abcdefgh.supabase.co"
    assert request.headers["apikey"] == ANON_KEY
    assert request.headers["authorization"] == f"Bearer {token}"


def test_get(client: Client, recorder: Recorder) -> None:
    row_id = uuid.uuid4()
    client.prompts.get(row_id)
    request = recorder.last
    _common(request)
    assert (request.method, request.url.path) == ("GET", "/rest/v1/prompts")
    assert _query(request) == [
        ("select", "*"),
        ("id", f"eq.{row_id}"),
        ("user_id", f"eq.{USER}"),
        ("limit", "1"),
    ]


def test_list_first_page_and_keyset_page(client: Client, recorder: Recorder) -> None:
    project = uuid.uuid4()
    page = client.prompts.list(project_id=project, limit=1)
    first = recorder.last
    _common(first)
    assert (first.method, first.url.path) == ("GET", "/rest/v1/prompts")
    assert _query(first) == [
        ("select", "*"),
        ("project_id", f"eq.{project}"),
        ("user_id", f"eq.{USER}"),
        ("order", "created_at.desc,id.desc"),
        ("limit", "2"),
    ]
    assert page.next_cursor is None  # one row came back for limit+1
    from datetime import datetime

    from groqgen.repositories import encode_cursor
    from groqgen.stores.ops import Cursor

    last_id = uuid.uuid4()
    cursor = encode_cursor(Cursor(datetime.fromisoformat(NOW), last_id))
    client.prompts.list(cursor=cursor, limit=20)
    query = dict(_query(recorder.last))
    assert query["created_at"] == f"lte.{NOW}"
    assert query["or"] == f'(created_at.lt."{NOW}",and(created_at.eq."{NOW}",id.lt."{last_id}"))'
    assert query["limit"] == "21"


def test_count_is_a_head_request_with_count_exact(client: Client, recorder: Recorder) -> None:
    assert client.prompts.count() == 3
    request = recorder.last
    _common(request)
    assert (request.method, request.url.path) == ("HEAD", "/rest/v1/prompts")
    assert request.headers["prefer"] == "count=exact"
    assert ("user_id", f"eq.{USER}") in _query(request)


def test_create_posts_with_return_representation(client: Client, recorder: Recorder) -> None:
    client.prompts.create(topic="t", model="m", generated_prompt="p")
    request = recorder.last
    _common(request)
    assert (request.method, request.url.path) == ("POST", "/rest/v1/prompts")
    assert request.headers["prefer"] == "return=representation"
    body = json.loads(request.content)
    assert body["user_id"] == str(USER)
    assert body["topic"] == "t"
    uuid.UUID(body["id"])  # the id is chosen by the client


def test_delete_returns_the_deleted_row(client: Client, recorder: Recorder) -> None:
    row_id = uuid.uuid4()
    client.prompts.delete(row_id)
    request = recorder.last
    _common(request)
    assert (request.method, request.url.path) == ("DELETE", "/rest/v1/prompts")
    assert request.headers["prefer"] == "return=representation"
    assert _query(request) == [("id", f"eq.{row_id}"), ("user_id", f"eq.{USER}")]


def test_update_me_patches_the_profile(client: Client, recorder: Recorder) -> None:
    client.profiles.update_me(full_name="Ada")
    request = recorder.last
    _common(request)
    assert (request.method, request.url.path) == ("PATCH", "/rest/v1/profiles")
    assert request.headers["prefer"] == "return=representation"
    assert _query(request) == [("id", f"eq.{USER}")]
    assert json.loads(request.content) == {"full_name": "Ada"}


@pytest.mark.parametrize(
    ("call", "function", "keys"),
    [
        (lambda c: c.projects.create("Launch"), "create_project", {"project", "activity"}),
        (
            lambda c: c.projects.update(uuid.uuid4(), name="New"),
            "update_project",
            {"id", "changes", "activity"},
        ),
        (lambda c: c.projects.delete(uuid.uuid4()), "delete_project", {"id", "activity"}),
        (lambda c: c.projects.resource_counts(uuid.uuid4()), "resource_counts", {"project_id"}),
    ],
)
def test_project_writes_and_counts_are_one_rpc(
    client: Client, recorder: Recorder, call: Any, function: str, keys: set[str]
) -> None:
    call(client)
    assert len(recorder.requests) == 1
    request = recorder.last
    _common(request)
    assert (request.method, request.url.path) == ("POST", f"/rest/v1/rpc/{function}")
    assert set(json.loads(request.content)) == keys


def test_activity_log_and_recent(client: Client, recorder: Recorder) -> None:
    client.activity_logs.log("login", "Signed in")
    assert (recorder.last.method, recorder.last.url.path) == ("POST", "/rest/v1/activity_logs")
    client.activity_logs.recent(limit=5)
    assert ("limit", "6") in _query(recorder.last)


def test_service_key_with_a_user_writes_for_that_user(tmp_path: Path, recorder: Recorder) -> None:
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    with Client(
        supabase_url=URL, supabase_key=SERVICE_KEY, user_id=USER, home=tmp_path, http_client=http
    ) as c:
        c.projects.create("Server-side")
        request = recorder.last
        assert request.headers["authorization"] == f"Bearer {SERVICE_KEY}"
        assert json.loads(request.content)["project"]["user_id"] == str(USER)
        assert repr(c).count(SERVICE_KEY) == 0


def test_without_a_session_the_anon_client_says_to_sign_in(
    tmp_path: Path, recorder: Recorder
) -> None:
    from groqgen import ConfigurationError

    http = httpx.Client(transport=httpx.MockTransport(recorder))
    with (
        Client(supabase_url=URL, supabase_key=ANON_KEY, home=tmp_path, http_client=http) as c,
        pytest.raises(ConfigurationError, match="sign_in_with_password"),
    ):
        c.prompts.count()
    assert recorder.requests == []

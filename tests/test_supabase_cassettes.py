"""A whole Supabase session replayed from a vcrpy cassette in PostgREST's and Auth's wire formats.

tests/cassettes/supabase/session.yaml holds sign-up, sign-in, every repository verb, an expired
token refreshed mid-session, and sign-out, as a real client exchanged them with the Supabase
stand-in (tests/supabase_peer.py), its address rewritten to a ``*.supabase.co`` project. The
replay needs no server. Re-record with ``GROQGEN_RECORD_CASSETTES=1`` (needs PostgreSQL).

The recorded tokens carry real expiry times (an hour after the recording), so the replay runs
with the clocks that judge expiry frozen at the instant of the recording, read from the cassette
itself: it passes on any date, and re-recording moves the instant with it.
"""

from __future__ import annotations

import json
import os
import uuid
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import vcr
import yaml

from groqgen import Client, NotFound
from groqgen.auth import REFRESH_MARGIN
from groqgen.stores import ops

CASSETTE = Path(__file__).parent / "cassettes" / "supabase" / "session.yaml"
PROJECT_URL = "https://abcdefghijklmnop.supabase.co"
EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"
RECORDING = os.environ.get("GROQGEN_RECORD_CASSETTES") == "1"


def _session(client: Client, expire: Any) -> dict[str, Any]:
    """The scripted session; returns what it observed."""
    seen: dict[str, Any] = {}
    user = client.auth.sign_up(EMAIL, PASSWORD, full_name="Ada")
    client.auth.sign_in_with_password(EMAIL, PASSWORD)
    seen["user"] = str(user.id)
    seen["me"] = client.profiles.me().full_name
    seen["renamed"] = client.profiles.update_me(full_name="Ada L.").full_name
    project = client.projects.create("Launch", description="plan")
    seen["project_updated"] = client.projects.update(project.id, name="Launch v2").name
    for i in range(3):
        client.prompts.create(topic=f"t{i}", model="m", generated_prompt="p", project_id=project.id)
    first = client.prompts.list(project_id=project.id, limit=2)
    second = client.prompts.list(project_id=project.id, limit=2, cursor=first.next_cursor)
    seen["pages"] = [len(first.items), len(second.items), second.next_cursor is None]
    seen["count"] = client.prompts.count(project_id=project.id)
    seen["counts"] = client.projects.resource_counts(project.id).prompt_count
    store = client.prompts._store
    row_id = uuid.uuid4()
    recorded = store.execute(
        ops.Record(
            "prompts",
            {
                "id": row_id,
                "topic": "r",
                "prompt_type": "writing",
                "tone": "casual",
                "length": 50,
                "model": "m",
                "generated_prompt": "g",
            },
            {
                "id": row_id,
                "activity_type": "prompt_generation",
                "description": "d",
                "metadata": {"k": 1},
            },
        )
    )
    seen["recorded"] = recorded["topic"]
    expire()  # the access token expires mid-session: refreshed once, request retried
    seen["after_refresh"] = client.prompts.get(row_id).topic
    seen["activity"] = [e.activity_type for e in client.activity_logs.recent(limit=3)]
    client.prompts.delete(row_id)
    try:
        client.prompts.get(row_id)
    except NotFound:
        seen["deleted"] = True
    client.projects.delete(project.id)
    client.auth.sign_out()
    return seen


EXPECTED = {
    "me": "Ada",
    "renamed": "Ada L.",
    "project_updated": "Launch v2",
    "pages": [2, 1, True],
    "count": 3,
    "counts": 3,
    "recorded": "r",
    "after_refresh": "r",
    "activity": ["prompt_generation", "project_updated", "project_created"],
    "deleted": True,
}


def _sessions() -> list[dict[str, Any]]:
    """The sessions Supabase Auth handed out in the cassette, in order."""
    found = []
    for item in yaml.safe_load(CASSETTE.read_text())["interactions"]:
        if "/auth/v1/" in item["request"]["uri"] and item["response"]["status"]["code"] == 200:
            body = json.loads(item["response"]["body"]["string"] or "{}")
            if "expires_at" in body:
                found.append(body)
    return found


def recorded_at() -> int:
    """The instant (epoch seconds) the cassette was recorded.

    Auth's first session says it: ``expires_at`` is the server's clock at issue plus
    ``expires_in``.
    """
    first = _sessions()[0]
    return int(first["expires_at"]) - int(first["expires_in"])


@pytest.fixture
def recorded_clock(monkeypatch: pytest.MonkeyPatch) -> int:
    """Freeze every clock that judges token expiry at the instant of the recording.

    Two clocks do: groqgen's (``groqgen.auth._now``, before each request) and supabase_auth's
    own, which ``sign_out`` consults through ``get_session()`` and which would otherwise spend
    the refresh token on a refresh the cassette does not have.
    """
    from supabase_auth._sync import gotrue_client

    instant = recorded_at()
    monkeypatch.setattr("groqgen.auth._now", lambda: float(instant))
    monkeypatch.setattr(gotrue_client, "time", SimpleNamespace(time=lambda: float(instant)))
    return instant


def _rewrite(peer_url: str) -> Any:
    def before(request: Any) -> Any:
        request.uri = request.uri.replace(peer_url, PROJECT_URL)
        return request

    return before


@pytest.mark.skipif(not RECORDING, reason="re-recording only with GROQGEN_RECORD_CASSETTES=1")
def test_record_the_session(migrated_url: str, tmp_path: Path) -> None:
    from tests.supabase_peer import SupabasePeer

    CASSETTE.unlink(missing_ok=True)
    with SupabasePeer(migrated_url) as peer:
        # The anon key is recorded too: the replay uses the same one.
        (CASSETTE.parent / "anon_key.txt").write_text(peer.anon_key)
        recorder = vcr.VCR(
            before_record_request=_rewrite(peer.url), decode_compressed_response=True
        )
        with (
            recorder.use_cassette(str(CASSETTE), record_mode="all"),
            Client(supabase_url=peer.url, supabase_key=peer.anon_key, home=tmp_path) as client,
        ):
            seen = _session(client, peer.expire_all_tokens)
        text = CASSETTE.read_text().replace(peer.url, PROJECT_URL)
        CASSETTE.write_text(text.replace(peer.url.split("//")[1], PROJECT_URL.split("//")[1]))
    assert {k: v for k, v in seen.items() if k != "user"} == EXPECTED


def test_replay_the_session(tmp_path: Path, recorded_clock: int) -> None:
    anon_key = (CASSETTE.parent / "anon_key.txt").read_text().strip()
    with (
        vcr.use_cassette(str(CASSETTE), record_mode="none", match_on=["method", "host", "path"]),
        Client(supabase_url=PROJECT_URL, supabase_key=anon_key, home=tmp_path) as client,
    ):
        seen = _session(client, lambda: None)
    assert {k: v for k, v in seen.items() if k != "user"} == EXPECTED


def test_the_recorded_instant_keeps_every_recorded_session_valid() -> None:
    # Frozen at recorded_at(), every session in the cassette is unexpired (beyond groqgen's
    # refresh margin), so the replay refreshes only where the recording did: after the 401.
    instant = recorded_at()
    sessions = _sessions()
    assert len(sessions) == 3  # sign-up, sign-in, the one refresh
    assert all(s["expires_at"] - instant > REFRESH_MARGIN for s in sessions)
    # The same instant as the Date header the first answer was recorded with.
    first = yaml.safe_load(CASSETTE.read_text())["interactions"][0]["response"]
    date = parsedate_to_datetime(first["headers"]["date"][0])
    assert abs(date.timestamp() - instant) <= 2


def test_the_cassette_is_in_the_documented_wire_format() -> None:
    interactions = yaml.safe_load(CASSETTE.read_text())["interactions"]
    by_path: dict[str, list[Any]] = {}
    for item in interactions:
        path = item["request"]["uri"].split("?")[0].replace(PROJECT_URL, "")
        by_path.setdefault(path, []).append(item)
    refreshes = [
        i for i in by_path["/auth/v1/token"] if "grant_type=refresh_token" in i["request"]["uri"]
    ]
    assert len(refreshes) == 1
    expired = [i for i in interactions if i["response"]["status"]["code"] == 401]
    assert (
        expired and b"JWT expired" in str(expired[0]["response"]).encode()
    ) or "JWT expired" in str(expired[0]["response"])
    heads = [i for i in interactions if i["request"]["method"] == "HEAD"]
    assert all("content-range" in {k.lower() for k in i["response"]["headers"]} for i in heads)
    rpcs = {p for p in by_path if p.startswith("/rest/v1/rpc/")}
    assert rpcs == {
        "/rest/v1/rpc/create_project",
        "/rest/v1/rpc/update_project",
        "/rest/v1/rpc/delete_project",
        "/rest/v1/rpc/resource_counts",
        "/rest/v1/rpc/record_generation",
    }
    for item in interactions:
        if item["request"]["uri"].startswith(PROJECT_URL + "/rest/v1"):
            assert item["request"]["headers"]["apikey"]

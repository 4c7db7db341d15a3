"""The Supabase store against a local Supabase stand-in over real PostgreSQL.

The stand-in (tests/supabase_peer.py) answers PostgREST and Supabase Auth requests in their
wire formats, running each REST request under row-level security like PostgREST. The
repository and generator behaviour suites already run on this store (conftest STORES); these
tests cover what is Supabase's own: sessions, refresh, keys and request counts.
"""

from __future__ import annotations

import json
import stat
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from groqgen import AuthenticationError, Client, RateLimited, ValidationError
from groqgen.auth import session_path
from tests.conftest import PASSWORD
from tests.supabase_peer import rate_limited, status


def _email() -> str:
    return f"{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture
def peer(supabase_peer: Any) -> Iterator[Any]:
    ttl = supabase_peer.access_token_ttl
    yield supabase_peer
    supabase_peer.access_token_ttl = ttl


def _client(peer: Any, home: Path, **options: Any) -> Client:
    return Client(supabase_url=peer.url, supabase_key=peer.anon_key, home=home, **options)


@pytest.fixture
def signed_in(peer: Any, tmp_path: Path) -> Iterator[Client]:
    with _client(peer, tmp_path) as client:
        email = _email()
        client.auth.sign_up(email, PASSWORD, full_name="Ada")
        client.auth.sign_in_with_password(email, PASSWORD)
        yield client


def _counter(peer: Any, name: str) -> int:
    return int(peer.counters.get(name, 0))


def test_sign_up_makes_the_profile_through_the_trigger(signed_in: Client) -> None:
    me = signed_in.profiles.me()
    assert me.full_name == "Ada"
    assert str(me.id) == signed_in.auth.user().id


def test_recording_a_generation_is_one_rest_request(
    peer: Any, tmp_path: Path, groq_peer: Any
) -> None:
    with _client(peer, tmp_path, groq_api_key="k", groq_base_url=groq_peer.base_url) as client:
        email = _email()
        client.auth.sign_up(email, PASSWORD)
        client.auth.sign_in_with_password(email, PASSWORD)
        client.profiles.me()
        before = len(peer.requests_to("/rest/v1"))
        row = client.generate.prompt("release notes")
        during = peer.requests_to("/rest/v1")[before:]
        assert [(r.method, r.path) for r in during] == [("POST", "/rest/v1/rpc/record_generation")]
        assert client.activity_logs.get(row.id).metadata["record_id"] == str(row.id)


def test_the_session_file_is_private_and_the_next_client_picks_it_up(
    peer: Any, signed_in: Client, tmp_path: Path
) -> None:
    path = session_path(tmp_path, peer.url)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    me = signed_in.profiles.me()
    with _client(peer, tmp_path) as later:
        assert later.profiles.me() == me


def test_a_token_about_to_expire_is_refreshed_before_the_request(
    peer: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    peer.access_token_ttl = 30  # refreshed in its last 5 seconds (tests/test_session_damage.py)
    with _client(peer, tmp_path) as client:
        email = _email()
        client.auth.sign_up(email, PASSWORD)
        client.auth.sign_in_with_password(email, PASSWORD)
        expires_at = json.loads(session_path(tmp_path, peer.url).read_text())["expires_at"]
        monkeypatch.setattr("groqgen.auth._now", lambda: expires_at - 3.0)
        refreshes = _counter(peer, "auth.token.refresh_token")
        client.prompts.count()
        assert _counter(peer, "auth.token.refresh_token") == refreshes + 1
        (request,) = peer.requests_to("/rest/v1/prompts", "HEAD")[-1:]
        assert request.headers["authorization"] != ""


def test_an_expired_token_is_refreshed_once_and_the_request_retried(
    peer: Any, signed_in: Client
) -> None:
    signed_in.prompts.count()
    refreshes = _counter(peer, "auth.token.refresh_token")
    before = len(peer.requests_to("/rest/v1/prompts"))
    peer.expire_all_tokens()
    assert signed_in.prompts.count() == 0
    assert _counter(peer, "auth.token.refresh_token") == refreshes + 1
    assert len(peer.requests_to("/rest/v1/prompts")) == before + 2  # refused once, then served


def test_a_refresh_that_fails_is_an_authentication_error(peer: Any, signed_in: Client) -> None:
    body = {
        "code": 400,
        "error_code": "refresh_token_not_found",
        "msg": "Invalid Refresh Token: Refresh Token Not Found",
    }
    peer.script(status(400, body=body, path_prefix="/auth/v1/token"))
    peer.expire_all_tokens()
    with pytest.raises(AuthenticationError, match="sign in again"):
        signed_in.prompts.count()


def test_two_clients_sharing_a_session_file_refresh_once_and_both_work(
    peer: Any, tmp_path: Path
) -> None:
    with _client(peer, tmp_path) as first, _client(peer, tmp_path) as second:
        email = _email()
        first.auth.sign_up(email, PASSWORD)
        first.auth.sign_in_with_password(email, PASSWORD)
        first.prompts.create(topic="t", model="m", generated_prompt="p")
        refreshes = _counter(peer, "auth.token.refresh_token")
        reuse = _counter(peer, "auth.refresh_token_reuse")
        peer.expire_all_tokens()
        results: list[Any] = []
        barrier = threading.Barrier(2)

        def use(client: Client) -> None:
            barrier.wait()
            try:
                results.append(client.prompts.count())
            except Exception as exc:  # pragma: no cover - reported by the assert
                results.append(exc)

        threads = [threading.Thread(target=use, args=(c,)) for c in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [1, 1]
        assert _counter(peer, "auth.token.refresh_token") == refreshes + 1
        assert _counter(peer, "auth.refresh_token_reuse") == reuse


def test_wrong_credentials_are_an_authentication_error(peer: Any, tmp_path: Path) -> None:
    with _client(peer, tmp_path) as client:
        email = _email()
        client.auth.sign_up(email, PASSWORD)
        with pytest.raises(AuthenticationError):
            client.auth.sign_in_with_password(email, "not the password")


def test_a_weak_password_and_a_taken_email_are_validation_errors(peer: Any, tmp_path: Path) -> None:
    with _client(peer, tmp_path) as client:
        with pytest.raises(ValidationError) as weak:
            client.auth.sign_up(_email(), "12")
        assert weak.value.field == "password"
        email = _email()
        client.auth.sign_up(email, PASSWORD)
        with pytest.raises(ValidationError) as taken:
            client.auth.sign_up(email, PASSWORD)
        assert taken.value.field == "email"


def test_auth_rate_limits_are_rate_limited(peer: Any, tmp_path: Path) -> None:
    peer.script(rate_limited())
    with _client(peer, tmp_path) as client, pytest.raises(RateLimited):
        client.auth.sign_in_with_password(_email(), PASSWORD)


def test_sign_out_forgets_the_session(peer: Any, signed_in: Client, tmp_path: Path) -> None:
    signed_in.auth.sign_out()
    assert not session_path(tmp_path, peer.url).exists()
    assert signed_in.auth.user() is None
    from groqgen import ConfigurationError

    with pytest.raises(ConfigurationError, match="sign_in_with_password"):
        signed_in.prompts.count()


def test_the_service_key_with_a_user_writes_for_that_user(
    peer: Any, signed_in: Client, tmp_path: Path
) -> None:
    user = signed_in.profiles.me().id
    with Client(
        supabase_url=peer.url, supabase_key=peer.service_key, user_id=user, home=tmp_path / "server"
    ) as server:
        project = server.projects.create("Server-side")
        assert project.user_id == user
    assert signed_in.projects.get(project.id).name == "Server-side"


def test_users_never_see_each_other(peer: Any, signed_in: Client, tmp_path: Path) -> None:
    theirs = signed_in.prompts.create(topic="private", model="m", generated_prompt="p")
    with _client(peer, tmp_path / "other") as other:
        email = _email()
        other.auth.sign_up(email, PASSWORD)
        other.auth.sign_in_with_password(email, PASSWORD)
        from groqgen import NotFound

        with pytest.raises(NotFound):
            other.prompts.get(theirs.id)
        assert other.prompts.count() == 0


def test_a_read_that_meets_a_503_is_retried(peer: Any, signed_in: Client) -> None:
    signed_in.prompts.count()
    before = len(peer.requests_to("/rest/v1/prompts"))
    peer.script(status(503, path_prefix="/rest/v1/prompts"))
    assert signed_in.prompts.count() == 0
    assert len(peer.requests_to("/rest/v1/prompts")) == before + 2


def test_a_record_whose_answer_was_lost_after_commit_is_retried_into_one_row(
    peer: Any, tmp_path: Path, groq_peer: Any
) -> None:
    from tests.supabase_peer import lost_response

    with _client(peer, tmp_path, groq_api_key="k", groq_base_url=groq_peer.base_url) as client:
        email = _email()
        client.auth.sign_up(email, PASSWORD)
        client.auth.sign_in_with_password(email, PASSWORD)
        peer.script(lost_response("/rest/v1/rpc/record_generation"))
        row = client.generate.code("fizzbuzz", language="python", framework="none")
        assert client.code_generations.count() == 1
        assert client.activity_logs.count() == 1
        assert client.code_generations.get(row.id) == row
        assert len(groq_peer.chat_requests) == 1


def test_with_max_retries_0_a_failed_read_is_not_retried(peer: Any, tmp_path: Path) -> None:
    from groqgen import StoreError

    with _client(peer, tmp_path, max_retries=0) as client:
        email = _email()
        client.auth.sign_up(email, PASSWORD)
        client.auth.sign_in_with_password(email, PASSWORD)
        client.prompts.count()
        before = len(peer.requests_to("/rest/v1/prompts"))
        peer.script(status(503, path_prefix="/rest/v1/prompts"))
        with pytest.raises(StoreError) as info:
            client.prompts.count()
        assert info.value.transient
        assert len(peer.requests_to("/rest/v1/prompts")) == before + 1


def test_an_async_refresh_waits_for_the_lock_without_blocking_the_loop(
    peer: Any, tmp_path: Path
) -> None:
    import asyncio
    import time

    from groqgen import AsyncClient
    from groqgen._filelock import FileLock

    async def main() -> tuple[int, float]:
        async with AsyncClient(
            supabase_url=peer.url, supabase_key=peer.anon_key, home=tmp_path
        ) as client:
            email = _email()
            await client.auth.sign_up(email, PASSWORD)
            await client.auth.sign_in_with_password(email, PASSWORD)
            await client.prompts.count()
            peer.expire_all_tokens()
            other_process = FileLock(session_path(tmp_path, peer.url).with_suffix(".refresh.lock"))
            other_process.acquire()  # as if another process were refreshing right now
            threading.Timer(0.5, other_process.release).start()
            worst, stop = 0.0, False

            async def heartbeat() -> None:
                nonlocal worst
                while not stop:
                    started = time.perf_counter()
                    await asyncio.sleep(0.01)
                    worst = max(worst, time.perf_counter() - started)

            beat = asyncio.create_task(heartbeat())
            count = await client.prompts.count()  # must wait ~0.5 s for the lock
            stop = True
            await beat
            return count, worst

    count, worst = asyncio.run(main())
    assert count == 0
    assert worst < 0.3  # the loop kept running while the lock was held elsewhere

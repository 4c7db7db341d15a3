"""The saved Supabase session: private, refused when planted, survives damage, refreshed in time.

Issue 10: a damaged session file is reported in one sentence ("the saved Supabase session is
damaged; sign in again"), set aside (renamed, not deleted, still ``0600``) and never blocks
signing out; a session file another user owns or can write is refused; the session is written
through an unpredictable temporary file; a token is refreshed ahead of expiry by a margin that
scales with its lifetime (a tenth, at least 5 s, at most a minute), not on every request.

Against the Supabase stand-in (tests/supabase_peer.py) over real PostgreSQL. Expiry is judged on
the frozen ``groqgen.auth._now`` clock, never on the wall clock.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from groqgen import AsyncClient, AuthenticationError, Client, ConfigurationError
from groqgen.auth import DAMAGED, refresh_margin, session_path, token_lifetime
from groqgen.cli import EXIT_FAILURE, EXIT_OK, main
from tests.conftest import PASSWORD, LocalUser

pytestmark = pytest.mark.postgres
REFRESH = "auth.token.refresh_token"  # the peer's counter of refresh grants


def _email() -> str:
    return f"{uuid.uuid4().hex[:12]}@example.com"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def peer(supabase_peer: Any) -> Iterator[Any]:
    ttl = supabase_peer.access_token_ttl
    yield supabase_peer
    supabase_peer.access_token_ttl = ttl


def client_for(peer: Any, home: Path) -> Client:
    return Client(supabase_url=peer.url, supabase_key=peer.anon_key, home=home)


def sign_in(client: Client) -> None:
    """Sign a new user up and in."""
    email = _email()
    client.auth.sign_up(email, PASSWORD)
    client.auth.sign_in_with_password(email, PASSWORD)


@pytest.fixture
def signed_in(peer: Any, tmp_path: Path) -> Iterator[Client]:
    with client_for(peer, tmp_path) as client:
        sign_in(client)
        yield client


@pytest.fixture
def session_file(peer: Any, tmp_path: Path) -> Path:
    return session_path(tmp_path, peer.url)


def refreshes(peer: Any) -> int:
    return int(peer.counters.get(REFRESH, 0))


def freeze(monkeypatch: pytest.MonkeyPatch, instant: float) -> None:
    monkeypatch.setattr("groqgen.auth._now", lambda: instant)


def stored(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


# -- damage ----------------------------------------------------------------------------------------


def _valid() -> dict[str, Any]:
    return {
        "access_token": "a.b.c",
        "refresh_token": "r",
        "token_type": "bearer",
        "expires_in": 3600,
        "expires_at": 4_000_000_000,
        "user": {"id": str(uuid.uuid4()), "aud": "authenticated"},
    }


def _without(key: str) -> bytes:
    session = _valid()
    del session[key]
    return json.dumps(session).encode()


DAMAGE = {
    "garbage": b"this is not a session",
    "truncated": json.dumps(_valid()).encode()[:40],
    "null": b"null",
    "array": b'[{"access_token": "a"}]',
    "no-expires-at": _without("expires_at"),
    "user-id-not-a-uuid": json.dumps({**_valid(), "user": {"id": "42"}}).encode(),
    "binary": bytes(range(256)) * 4,
    "empty": b"",
}


@pytest.fixture(params=sorted(DAMAGE))
def damaged(request: pytest.FixtureRequest, signed_in: Client, session_file: Path) -> bytes:
    """A signed-in client whose session file then got damaged."""
    data = DAMAGE[request.param]
    session_file.write_bytes(data)
    return data


def kept_copies(session_file: Path) -> list[Path]:
    return sorted(session_file.parent.glob(session_file.name + ".damaged-*"))


def test_a_damaged_session_is_one_sentence_and_set_aside(
    signed_in: Client, session_file: Path, damaged: bytes
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        signed_in.prompts.count()
    message = str(caught.value)
    assert message.startswith(DAMAGED) and "\n" not in message
    (kept,) = kept_copies(session_file)
    assert kept.read_bytes() == damaged and mode(kept) == 0o600
    assert kept.name in message
    assert not session_file.exists()
    # Reported once; afterwards the client is simply signed out.
    with pytest.raises(ConfigurationError, match="not signed in"):
        signed_in.prompts.count()


def test_signing_out_always_works_on_a_damaged_session(
    signed_in: Client, session_file: Path, damaged: bytes
) -> None:
    signed_in.auth.sign_out()
    assert not session_file.exists()
    assert kept_copies(session_file)  # set aside, not deleted
    assert signed_in.auth.user() is None


def test_whoami_on_a_damaged_session_says_so(
    signed_in: Client, session_file: Path, damaged: bytes
) -> None:
    with pytest.raises(AuthenticationError, match="damaged; sign in again"):
        signed_in.auth.user()


def test_signing_in_again_after_damage_works(peer: Any, tmp_path: Path, session_file: Path) -> None:
    with client_for(peer, tmp_path) as client:
        email = _email()
        client.auth.sign_up(email, PASSWORD)
        session_file.write_bytes(DAMAGE["binary"])
        client.auth.sign_in_with_password(email, PASSWORD)
        assert client.prompts.count() == 0
    assert mode(session_file) == 0o600


def test_an_async_client_reports_damage_and_signs_out(
    peer: Any, tmp_path: Path, session_file: Path
) -> None:
    async def main() -> None:
        async with AsyncClient(
            supabase_url=peer.url, supabase_key=peer.anon_key, home=tmp_path
        ) as client:
            email = _email()
            await client.auth.sign_up(email, PASSWORD)
            await client.auth.sign_in_with_password(email, PASSWORD)
            session_file.write_bytes(b"null")
            with pytest.raises(AuthenticationError, match="damaged; sign in again"):
                await client.prompts.count()
            session_file.write_bytes(DAMAGE["binary"])
            await client.auth.sign_out()
            assert not session_file.exists()

    asyncio.run(main())
    assert len(kept_copies(session_file)) == 2


@pytest.mark.parametrize("kind", ["binary", "truncated", "null"])
def test_the_command_line_says_it_in_one_line_and_logout_works(
    peer: Any,
    tmp_path: Path,
    session_file: Path,
    kind: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GROQGEN_HOME", str(tmp_path))
    monkeypatch.setenv("SUPABASE_URL", peer.url)
    monkeypatch.setenv("SUPABASE_KEY", peer.anon_key)
    with client_for(peer, tmp_path) as client:
        sign_in(client)
    session_file.write_bytes(DAMAGE[kind])
    assert main(["history"]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert DAMAGED in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    session_file.write_bytes(DAMAGE[kind])
    assert main(["auth", "logout"]) == EXIT_OK
    assert capsys.readouterr().out == "signed out\n"


# -- planted, or not the user's alone --------------------------------------------------------------


def test_the_session_file_is_private_whatever_the_umask(
    peer: Any, tmp_path: Path, session_file: Path
) -> None:
    for umask in (0o000, 0o022):
        old = os.umask(umask)
        try:
            home = tmp_path / f"home-{umask:03o}"
            with client_for(peer, home) as client:
                sign_in(client)
                peer.expire_all_tokens()
                client.prompts.count()  # refreshed under the refresh lock
            path = session_path(home, peer.url)
            assert mode(home) == 0o700
            assert mode(path) == 0o600
            assert mode(path.with_suffix(".refresh.lock")) == 0o600
            assert sorted(p.name for p in home.iterdir()) == sorted(
                [path.name, path.with_suffix(".refresh.lock").name]
            )  # no temporary file left behind
        finally:
            os.umask(old)


def test_a_session_written_by_an_older_groqgen_is_made_private(
    signed_in: Client, session_file: Path
) -> None:
    os.chmod(session_file, 0o644)
    assert signed_in.prompts.count() == 0
    assert mode(session_file) == 0o600


@pytest.mark.parametrize("wide", [0o620, 0o602, 0o666])
def test_a_session_file_group_or_others_can_write_is_refused(
    peer: Any, signed_in: Client, session_file: Path, wide: int
) -> None:
    os.chmod(session_file, wide)
    before = len(peer.requests_to("/rest/v1"))
    with pytest.raises(ConfigurationError, match="can be written by") as caught:
        signed_in.prompts.count()
    assert caught.value.setting == "GROQGEN_HOME"
    assert len(peer.requests_to("/rest/v1")) == before  # its token was never sent


def test_a_session_file_planted_by_another_user_is_refused(
    other_user: LocalUser, peer: Any, tmp_path: Path, session_file: Path
) -> None:
    # The other user's own, valid session, in a file they own: the victim must not use it.
    with client_for(peer, tmp_path / "theirs") as theirs:
        sign_in(theirs)
    session_file.write_bytes(session_path(tmp_path / "theirs", peer.url).read_bytes())
    os.chmod(session_file, 0o600)
    os.chown(session_file, other_user.uid, other_user.gid)
    with client_for(peer, tmp_path) as client:
        before = len(peer.requests_to("/rest/v1"))
        with pytest.raises(ConfigurationError, match="owned by another user") as caught:
            client.projects.create("Mine")
        assert caught.value.setting == "GROQGEN_HOME"
        assert len(peer.requests_to("/rest/v1")) == before


def test_a_session_symlink_is_not_followed(
    signed_in: Client, session_file: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    session_file.rename(elsewhere)
    session_file.symlink_to(elsewhere)
    with pytest.raises(ConfigurationError, match="symbolic link"):
        signed_in.prompts.count()


def test_the_session_is_never_written_through_a_planted_temporary_name(
    peer: Any, tmp_path: Path, session_file: Path
) -> None:
    # The old code wrote to "<name>.<pid>.tmp": a link planted there received the session.
    stolen = tmp_path / "stolen"
    stolen.write_text("")
    planted = session_file.with_suffix(f".{os.getpid()}.tmp")
    planted.symlink_to(stolen)
    with client_for(peer, tmp_path) as client:
        sign_in(client)
        assert client.prompts.count() == 0
    assert stolen.read_text() == ""
    assert planted.is_symlink()  # untouched
    assert not session_file.is_symlink() and mode(session_file) == 0o600


def test_a_refresh_lock_symlink_is_not_followed(
    peer: Any, signed_in: Client, session_file: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    session_file.with_suffix(".refresh.lock").symlink_to(victim)
    peer.expire_all_tokens()
    with pytest.raises(ConfigurationError, match="symbolic link"):
        signed_in.prompts.count()
    assert victim.read_text() == "precious"


# -- the refresh margin ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lifetime", "margin"),
    [(3600, 60), (600, 60), (120, 12), (60, 6), (30, 5), (8, 4), (None, 60)],
)
def test_the_refresh_margin_is_a_tenth_of_the_lifetime_within_bounds(
    lifetime: float | None, margin: float
) -> None:
    assert refresh_margin(lifetime) == margin


def _jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.signature"


def test_the_lifetime_comes_from_expires_in_else_from_the_token() -> None:
    token = _jwt({"iat": 1_000, "exp": 1_030})
    assert token_lifetime({"expires_in": 600, "access_token": token}) == 600
    assert token_lifetime({"access_token": token}) == 30
    assert token_lifetime({"expires_in": None, "access_token": token}) == 30
    assert token_lifetime({"access_token": "opaque"}) is None
    assert token_lifetime({"access_token": _jwt({"exp": 5})}) is None


def test_a_short_lived_token_is_not_refreshed_on_every_request(
    peer: Any, tmp_path: Path, session_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    peer.access_token_ttl = 30
    with client_for(peer, tmp_path) as client:
        sign_in(client)
        expires_at = stored(session_file)["expires_at"]
        before = refreshes(peer)
        for elapsed in (0, 10, 20, 24):  # 30, 20, 10 and 6 seconds left: more than 5
            freeze(monkeypatch, expires_at - 30 + elapsed)
            client.prompts.count()
        assert refreshes(peer) == before
        freeze(monkeypatch, expires_at - 4)  # inside the 5-second margin
        client.prompts.count()
        assert refreshes(peer) == before + 1
        renewed = stored(session_file)["expires_at"]
        for elapsed in (0, 10, 20):  # the new token is used, not refreshed again
            freeze(monkeypatch, renewed - 30 + elapsed)
            client.prompts.count()
        assert refreshes(peer) == before + 1


def test_a_one_hour_token_is_refreshed_a_minute_ahead(
    peer: Any, signed_in: Client, session_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expires_at = stored(session_file)["expires_at"]
    before = refreshes(peer)
    freeze(monkeypatch, expires_at - 61)
    signed_in.prompts.count()
    assert refreshes(peer) == before
    freeze(monkeypatch, expires_at - 59)
    signed_in.prompts.count()
    assert refreshes(peer) == before + 1


def test_without_expires_in_the_lifetime_is_read_from_the_token(
    peer: Any, tmp_path: Path, session_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    peer.access_token_ttl = 30
    with client_for(peer, tmp_path) as client:
        sign_in(client)
        session = stored(session_file)
        del session["expires_in"]
        session_file.write_text(json.dumps(session))
        before = refreshes(peer)
        freeze(monkeypatch, session["expires_at"] - 10)  # 10 s left of 30: not yet
        client.prompts.count()
        assert refreshes(peer) == before

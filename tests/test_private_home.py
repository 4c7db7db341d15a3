"""``GROQGEN_HOME`` belongs to the user alone (SPEC, "Stores"; issue 10, finding one).

The home is created ``0700`` and every file in it ``0600`` whatever the umask; a home or a file
that another user owns, or that group or others can write, is refused with a
``ConfigurationError`` naming ``GROQGEN_HOME``; a symbolic link inside the home is never
followed; a symlinked home is resolved and the folder it points to is the one checked.

The cases with a second local user need root (CI runs as root): they create an unprivileged user
(``other_user`` in conftest) and act as it with ``runuser``; elsewhere they are skipped.
Supabase session files are covered in tests/test_session_damage.py.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from groqgen import Client, ConfigurationError
from groqgen._filelock import FileLock
from groqgen._files import (
    check_private,
    ensure_home,
    existing_home,
    open_private,
    read_private,
    replace_private,
    set_aside,
)
from tests.conftest import LocalUser

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes and owners")

COMPANIONS = ("groqgen.db", "groqgen.db-wal", "groqgen.db-shm")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture(params=[0o000, 0o022], ids=["umask-000", "umask-022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under this process umask (then put the old one back)."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder every local user can enter and create in, sticky like ``/tmp``."""
    folder = Path(tempfile.mkdtemp(prefix="groqgen-shared-", dir="/tmp"))
    os.chmod(folder, 0o1777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def use(home: Path) -> None:
    """Open the store under ``home`` and write to it."""
    with Client(home=home) as client:
        client.projects.create("P", description="private plans")


def refused(home: Path) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        use(home)
    assert caught.value.setting == "GROQGEN_HOME"
    return caught.value


# -- modes -----------------------------------------------------------------------------------------


def test_a_new_home_and_its_database_are_private_whatever_the_umask(
    umask: int, tmp_path: Path
) -> None:
    home = tmp_path / "data" / "groqgen"
    with Client(home=home) as client:
        client.projects.create("P")
        assert client.prompts.count() == 0
        # While the store is open SQLite keeps its -wal and -shm beside the database.
        assert {name: mode(home / name) for name in COMPANIONS} == dict.fromkeys(COMPANIONS, 0o600)
    assert mode(home) == 0o700
    assert mode(home.parent) == 0o700  # missing parents are made private too (XDG asks 0700)


def test_the_home_named_by_groqgen_home_is_private_whatever_the_umask(
    umask: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQGEN_HOME", str(tmp_path / "home"))
    with Client() as client:
        client.projects.create("P")
    assert mode(tmp_path / "home") == 0o700
    assert mode(tmp_path / "home" / "groqgen.db") == 0o600


def test_an_async_clients_database_is_private_whatever_the_umask(
    umask: int, tmp_path: Path
) -> None:
    import asyncio

    from groqgen import AsyncClient

    async def main() -> None:
        async with AsyncClient(home=tmp_path / "home") as client:
            await client.projects.create("P")
            modes = {name: mode(tmp_path / "home" / name) for name in COMPANIONS}
            assert modes == dict.fromkeys(COMPANIONS, 0o600)

    asyncio.run(main())


def test_lock_files_are_private_whatever_the_umask(umask: int, tmp_path: Path) -> None:
    with FileLock(tmp_path / "home" / "outbox.lock"):
        assert mode(tmp_path / "home" / "outbox.lock") == 0o600
    assert mode(tmp_path / "home") == 0o700


def test_replaced_and_set_aside_files_are_private_whatever_the_umask(
    umask: int, tmp_path: Path
) -> None:
    home = ensure_home(tmp_path / "home")
    replace_private(home / "state.json", b"{}")
    assert mode(home / "state.json") == 0o600
    kept = set_aside(home / "state.json", "damaged")
    assert kept.parent == home and kept.name.startswith("state.json.damaged-")
    assert mode(kept) == 0o600
    assert sorted(p.name for p in home.iterdir()) == [kept.name]  # no temporary file left


def test_a_home_an_older_groqgen_left_readable_is_made_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    conn = sqlite3.connect(home / "groqgen.db")
    conn.execute("create table t (x)")
    conn.close()
    (home / "groqgen.db-wal").touch()  # as a crash may leave it
    for path, wide in (
        (home, 0o755),
        (home / "groqgen.db", 0o644),
        (home / "groqgen.db-wal", 0o644),
    ):
        os.chmod(path, wide)
    with Client(home=home) as client:
        client.projects.create("P")
        assert {name: mode(home / name) for name in COMPANIONS} == dict.fromkeys(COMPANIONS, 0o600)
    assert mode(home) == 0o700


def test_the_home_is_checked_at_first_use_not_when_the_client_is_made(tmp_path: Path) -> None:
    home = tmp_path / "home"
    client = Client(home=home)  # making a client touches no file
    assert not home.exists()
    client.close()


# -- refused: writable by others -------------------------------------------------------------------


@pytest.mark.parametrize("wide", [0o770, 0o707, 0o777, 0o720])
def test_a_home_group_or_others_can_write_is_refused(tmp_path: Path, wide: int) -> None:
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(home, wide)
    error = refused(home)
    assert "can be written by" in str(error) and f"chmod 700 {home}" in str(error)
    assert list(home.iterdir()) == []  # nothing written into it
    assert mode(home) == wide  # and nothing changed about it


@pytest.mark.parametrize("name", COMPANIONS)
def test_a_database_file_group_or_others_can_write_is_refused(tmp_path: Path, name: str) -> None:
    home = ensure_home(tmp_path / "home")
    (home / name).touch()
    os.chmod(home / name, 0o660)
    error = refused(home)
    assert str(home / name) in str(error) and "can be written by its group" in str(error)
    assert mode(home / name) == 0o660


def test_a_lock_file_group_or_others_can_write_is_refused(tmp_path: Path) -> None:
    home = ensure_home(tmp_path / "home")
    (home / "outbox.lock").touch()
    os.chmod(home / "outbox.lock", 0o606)
    with pytest.raises(ConfigurationError, match="can be written by others") as caught:
        FileLock(home / "outbox.lock").acquire()
    assert caught.value.setting == "GROQGEN_HOME"


def test_a_home_inside_a_folder_anyone_can_write_is_refused(tmp_path: Path) -> None:
    # Anyone could rename the home away and put their own in its place.
    (tmp_path / "open").mkdir()
    os.chmod(tmp_path / "open", 0o777)
    error = refused(tmp_path / "open" / "home")
    assert "anyone can write to" in str(error)


def test_a_home_inside_a_sticky_folder_like_tmp_is_fine(shared_folder: Path) -> None:
    use(shared_folder / "home")
    assert mode(shared_folder / "home") == 0o700


# -- symbolic links --------------------------------------------------------------------------------


def test_a_symlinked_home_of_ones_own_is_resolved_and_used(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    use(tmp_path / "link")
    assert (tmp_path / "real" / "groqgen.db").is_file()
    assert ensure_home(tmp_path / "link") == tmp_path / "real"


def test_a_symlinked_home_is_checked_where_it_points(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.chmod(tmp_path / "real", 0o777)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    error = refused(tmp_path / "link")
    assert str(tmp_path / "real") in str(error)


@pytest.mark.parametrize("name", COMPANIONS)
def test_a_database_symlink_planted_in_the_home_is_not_followed(tmp_path: Path, name: str) -> None:
    home = ensure_home(tmp_path / "home")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (home / name).symlink_to(victim)
    error = refused(home)
    assert "symbolic link" in str(error) and str(home / name) in str(error)
    assert victim.read_text() == "precious"
    assert sorted(p.name for p in home.iterdir()) == [name]  # nothing else made


def test_a_lock_symlink_planted_in_the_home_is_not_followed(tmp_path: Path) -> None:
    home = ensure_home(tmp_path / "home")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (home / "outbox.lock").symlink_to(victim)
    before = mode(victim)
    with pytest.raises(ConfigurationError, match="symbolic link"):
        FileLock(home / "outbox.lock").acquire()
    assert victim.read_text() == "precious" and mode(victim) == before


def test_no_file_in_the_home_is_read_or_written_through_a_symlink(tmp_path: Path) -> None:
    home = ensure_home(tmp_path / "home")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (home / "file").symlink_to(victim)
    for attempt in (
        lambda: read_private(home / "file"),
        lambda: check_private(home / "file"),
        lambda: os.close(open_private(home / "file", os.O_RDWR | os.O_CREAT)),
        lambda: os.close(open_private(home / "file", os.O_WRONLY | os.O_APPEND)),
    ):
        with pytest.raises(ConfigurationError, match="symbolic link"):
            attempt()
    assert victim.read_text() == "precious"


def test_a_planted_temporary_name_is_never_written_through(tmp_path: Path) -> None:
    home = ensure_home(tmp_path / "home")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    # Whatever name an attacker guesses, the temporary file is created exclusively under a
    # random one; here every name the old code used points at the victim.
    (home / f"state.{os.getpid()}.tmp").symlink_to(victim)
    (home / "state.tmp").symlink_to(victim)
    replace_private(home / "state.json", b"secret")
    assert victim.read_text() == "precious"
    assert (home / "state.json").read_bytes() == b"secret"
    assert not (home / "state.json").is_symlink()


def test_reading_a_missing_home_does_not_create_it(tmp_path: Path) -> None:
    assert existing_home(tmp_path / "nowhere") is None
    assert not (tmp_path / "nowhere").exists()


# -- another local user ----------------------------------------------------------------------------


def test_another_user_cannot_read_the_store(other_user: LocalUser, shared_folder: Path) -> None:
    home = shared_folder / "home"
    use(home)
    assert other_user.run("ls", str(home)).returncode != 0
    for name in COMPANIONS:
        if (home / name).exists():
            seen = other_user.run("cat", str(home / name))
            assert seen.returncode != 0 and "Permission denied" in seen.stderr


def test_a_home_another_user_owns_is_refused(other_user: LocalUser, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    os.chown(home, other_user.uid, other_user.gid)
    error = refused(home)
    assert f"owned by another user (uid {other_user.uid})" in str(error)
    assert list(home.iterdir()) == []


def test_a_groqgen_home_symlink_into_another_users_folder_is_refused(
    other_user: LocalUser, shared_folder: Path
) -> None:
    # The other user makes a folder of theirs and plants a link where our home will be named.
    trap, home = shared_folder / "trap", shared_folder / "home"
    assert other_user.run("mkdir", "-m", "0777", str(trap)).returncode == 0
    assert other_user.run("ln", "-s", str(trap), str(home)).returncode == 0
    error = refused(home)
    assert str(trap) in str(error) and "owned by another user" in str(error)
    assert list(trap.iterdir()) == []  # not a byte of ours went there


def test_a_home_in_a_folder_another_user_owns_is_refused(
    other_user: LocalUser, shared_folder: Path
) -> None:
    # Even made by us and 0700, they could rename it away and put theirs in its place.
    theirs = shared_folder / "theirs"
    assert other_user.run("mkdir", "-m", "0755", str(theirs)).returncode == 0
    error = refused(theirs / "home")
    assert "another user owns" in str(error)


@pytest.mark.parametrize("name", COMPANIONS)
def test_a_database_file_another_user_owns_is_refused(
    other_user: LocalUser, tmp_path: Path, name: str
) -> None:
    home = ensure_home(tmp_path / "home")
    (home / name).touch(mode=0o600)
    os.chown(home / name, other_user.uid, other_user.gid)
    error = refused(home)
    assert f"{home / name} in groqgen's home is owned by another user" in str(error)


def test_a_lock_file_another_user_owns_is_refused(other_user: LocalUser, tmp_path: Path) -> None:
    home = ensure_home(tmp_path / "home")
    (home / "outbox.lock").touch(mode=0o600)
    os.chown(home / "outbox.lock", other_user.uid, other_user.gid)
    with pytest.raises(ConfigurationError, match="owned by another user"):
        FileLock(home / "outbox.lock").acquire()

"""Settings: explicit arguments over environment over defaults; secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from groqgen import Client, ConfigurationError
from groqgen._config import default_home, resolve

ENV = [
    "GROQGEN_HOME",
    "GROQGEN_DATABASE_URL",
    "SUPABASE_URL",
    "SUPABASE_KEY",
    "GROQ_API_KEY",
    "GROQ_BASE_URL",
    "GROQGEN_MODEL",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def test_nothing_configured_means_the_local_store(tmp_path: Path) -> None:
    settings = resolve(home=tmp_path)
    assert settings.store_kind == "sqlite"
    assert settings.sqlite_path == tmp_path / "groqgen.db"
    assert settings.model == "openai/gpt-oss-120b"


def test_database_url_wins_over_supabase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPABASE_URL", "https://x.supabase.co")
    monkeypatch.setenv("SUPABASE_KEY", "anon")
    assert resolve().store_kind == "supabase"
    assert resolve(database_url="postgresql://h/db").store_kind == "postgres"
    monkeypatch.setenv("GROQGEN_DATABASE_URL", "postgresql://h/db")
    assert resolve().store_kind == "postgres"


def test_explicit_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQGEN_MODEL", "from-env")
    monkeypatch.setenv("GROQ_API_KEY", "env-key")
    assert resolve().model == "from-env"
    settings = resolve(model="explicit", groq_api_key="arg-key")
    assert (settings.model, settings.groq_api_key) == ("explicit", "arg-key")


def test_home_defaults_to_the_platform_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    if default_home().parent == tmp_path:  # Linux and other XDG platforms
        assert default_home() == tmp_path / "groqgen"
    monkeypatch.setenv("GROQGEN_HOME", str(tmp_path / "custom"))
    assert default_home() == tmp_path / "custom"


def test_half_a_supabase_configuration_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUPABASE_URL", "https://x.supabase.co")
    with pytest.raises(ConfigurationError, match="SUPABASE_KEY"):
        Client()


def test_user_id_without_a_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="database_url"):
        Client(home=tmp_path, service=True)


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"pool_size": 0}, "pool_size"),
    ],
)
def test_nonsense_numbers_are_refused(kwargs: dict[str, int], setting: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve(**kwargs)  # type: ignore[arg-type]
    assert info.value.setting == setting


def test_repr_never_shows_a_secret(tmp_path: Path) -> None:
    client = Client(home=tmp_path, groq_api_key="gsk_live_secret")
    assert "gsk_live_secret" not in repr(client)
    assert "gsk_live_secret" not in repr(client.settings)
    assert "sqlite" in repr(client)
    client.close()
    settings = resolve(supabase_url="https://x.supabase.co", supabase_key="service-secret")
    assert "service-secret" not in repr(settings)

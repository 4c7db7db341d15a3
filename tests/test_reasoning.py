"""groqgen on today's Groq: reasoning models, their token budget, retired models.

Every test runs against ``tests/groq_peer.py``, which answers as Groq does on 2026-11-30
(``GROQ-TODAY.md``): gpt-oss and qwen reason, reasoning is paid out of
``max_completion_tokens``, the llama models are gone.
"""

from __future__ import annotations

from typing import Any

import pytest

from groqgen import GenerationError, TruncatedGeneration, ValidationError
from groqgen.catalog import DEFAULT_MODEL, EFFORT_ALLOWANCE, split_reasoning
from tests.conftest import StoreCase
from tests.groq_peer import REASONING_TEXT, REASONING_TOKENS, decommissioned
from tests.test_generator import CALLS, _call, _repo

OUTPUT_COLUMN = {
    "prompt": "generated_prompt",
    "code": "generated_code",
    "review": "review_result",
    "tests": "generated_tests",
}


@pytest.fixture
def case(generator_case: StoreCase) -> StoreCase:
    return generator_case


def _stream(case: StoreCase, kind: str, **extra: Any) -> Any:
    """Read a streamed generation to its end; the stream object afterwards."""
    name, inputs = CALLS[kind]
    first_key = next(iter(inputs))
    rest = {k: v for k, v in inputs.items() if k != first_key}
    client = getattr(case.client, "_target", case.client)
    factory = getattr(client.generate.stream, name)
    if "async" not in case.kind:
        with factory(inputs[first_key], **rest, **extra) as stream:
            for _ in stream:
                pass
        return stream

    async def consume() -> Any:
        async with factory(inputs[first_key], **rest, **extra) as stream:
            async for _ in stream:
                pass
        return stream

    return case.client._loop.run_until_complete(consume())


def _no_reasoning_in(text: str) -> None:
    assert REASONING_TEXT not in text
    assert "<think>" not in text


# -- defaults: today's default model, reasoning kept out of the rows -------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("kind", list(CALLS))
def test_default_settings_record_the_answer_without_the_reasoning(
    case: StoreCase, groq_peer: Any, kind: str, streamed: bool
) -> None:
    row = _stream(case, kind).result if streamed else _call(case, kind)
    output = getattr(row, OUTPUT_COLUMN[kind])
    assert output.strip()
    _no_reasoning_in(output)
    assert row.model == DEFAULT_MODEL
    (sent,) = groq_peer.chat_requests
    assert sent.json["model"] == "openai/gpt-oss-120b"
    assert sent.json["reasoning_effort"] == "medium"
    assert sent.json["include_reasoning"] is False
    assert "reasoning_format" not in sent.json
    assert sent.json["max_completion_tokens"] > EFFORT_ALLOWANCE["medium"]
    meta = case.client.activity_logs.get(row.id).metadata
    assert meta["reasoning_tokens"] == REASONING_TOKENS["medium"]
    assert meta["reasoning_effort"] == "medium"
    assert meta["cached_tokens"] == 0
    assert meta["completion_tokens"] > meta["reasoning_tokens"]
    assert "truncated" not in meta


def test_cached_tokens_are_recorded(case: StoreCase, groq_peer: Any) -> None:
    groq_peer.cached_tokens = 12
    row = _call(case, "prompt")
    assert case.client.activity_logs.get(row.id).metadata["cached_tokens"] == 12


def test_a_stream_of_a_reasoning_model_yields_only_the_answer(
    case: StoreCase, groq_peer: Any
) -> None:
    # groqgen asks gpt-oss to leave its reasoning out (include_reasoning: false), so the
    # stream carries none; a <think> block sent anyway is covered below.
    stream = _stream(case, "prompt")
    assert stream.reasoning == ""
    _no_reasoning_in(stream.text)


# -- qwen: reasoning_format hidden, <think> stripped defensively -----------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
def test_qwen_is_asked_with_reasoning_hidden(
    case: StoreCase, groq_peer: Any, streamed: bool
) -> None:
    extra = {"model": "qwen/qwen3.8-27b", "reasoning_effort": "low"}
    row = _stream(case, "review", **extra).result if streamed else _call(case, "review", **extra)
    (sent,) = groq_peer.chat_requests
    assert sent.json["reasoning_format"] == "hidden"
    assert "include_reasoning" not in sent.json
    assert sent.json["reasoning_effort"] == "low"
    _no_reasoning_in(row.review_result)


def test_a_think_block_in_the_content_is_never_stored(case: StoreCase, groq_peer: Any) -> None:
    # A model that sends <think> in its content although asked not to: the block is moved out.
    groq_peer.reply = lambda request: "<think>\nweighing options\n</think>\nWrite about tides."
    row = _call(case, "prompt")
    assert row.generated_prompt == "Write about tides."


def test_a_streamed_think_block_is_held_back_and_offered_as_reasoning(
    case: StoreCase, groq_peer: Any
) -> None:
    groq_peer.reply = lambda request: "<think>\nweighing options\n</think>\nWrite about tides."
    stream = _stream(case, "prompt")
    assert stream.text.strip() == "Write about tides."
    assert "weighing options" in stream.reasoning
    assert stream.result.generated_prompt == "Write about tides."


def test_split_reasoning_handles_a_cut_off_think_block() -> None:
    assert split_reasoning("<think>still thinking") == ("", "still thinking")
    assert split_reasoning("  <think>a</think>\n answer") == ("answer", "a")
    assert split_reasoning("no think here <think>x</think>") == (
        "no think here <think>x</think>",
        "",
    )


# -- the completion budget -------------------------------------------------------------------------


@pytest.mark.parametrize("effort", ["low", "medium", "high"])
def test_the_budget_leaves_room_for_the_reasoning_of_each_effort(
    case: StoreCase, groq_peer: Any, effort: str
) -> None:
    preview = _call(case, "prompt", reasoning_effort=effort, dry_run=True)
    wanted = 256 + 12 * CALLS["prompt"][1]["length"]
    assert preview.parameters["max_completion_tokens"] == wanted + EFFORT_ALLOWANCE[effort]
    assert preview.parameters["reasoning_effort"] == effort
    row = _call(case, "prompt", reasoning_effort=effort)
    assert row.generated_prompt
    meta = case.client.activity_logs.get(row.id).metadata
    assert meta["reasoning_tokens"] == REASONING_TOKENS[effort]


def test_an_explicit_budget_is_sent_as_given(case: StoreCase, groq_peer: Any) -> None:
    _call(case, "code", max_completion_tokens=30_000)
    assert groq_peer.chat_requests[0].json["max_completion_tokens"] == 30_000


def test_a_budget_above_the_models_limit_is_refused_before_sending(
    case: StoreCase, groq_peer: Any
) -> None:
    with pytest.raises(ValidationError) as info:
        _call(case, "code", max_completion_tokens=70_000)
    assert info.value.field == "max_completion_tokens"
    assert groq_peer.requests == []


def test_the_budget_is_capped_by_the_limit_groq_lists(case: StoreCase, groq_peer: Any) -> None:
    client = getattr(case.client, "_target", case.client)
    assert {m.id for m in case.client.models()} >= {DEFAULT_MODEL}
    preview = _call(case, "code", model="qwen/qwen3.8-27b", reasoning_effort="high", dry_run=True)
    assert preview.parameters["max_completion_tokens"] == 16_384  # 4096 + 12288, at the cap
    assert client.generate._model_limit("qwen/qwen3.8-27b") == 16_384


@pytest.mark.parametrize(
    ("model", "effort"),
    [("openai/gpt-oss-120b", "none"), ("openai/gpt-oss-20b", "default")],
)
def test_an_effort_the_model_does_not_take_is_refused_before_sending(
    case: StoreCase, groq_peer: Any, model: str, effort: str
) -> None:
    with pytest.raises(ValidationError) as info:
        _call(case, "prompt", model=model, reasoning_effort=effort)
    assert info.value.field == "reasoning_effort"
    assert "low, medium, high" in str(info.value)
    assert groq_peer.requests == []


def test_an_unknown_model_gets_no_reasoning_settings_unless_asked(
    case: StoreCase, groq_peer: Any
) -> None:
    preview = _call(case, "prompt", model="acme/new-model", dry_run=True)
    assert "reasoning_effort" not in preview.parameters
    assert "include_reasoning" not in preview.parameters
    asked = _call(case, "prompt", model="acme/new-model", reasoning_effort="high", dry_run=True)
    assert asked.parameters["reasoning_effort"] == "high"


# -- truncated and empty answers -------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
def test_reasoning_that_eats_the_budget_is_a_truncated_generation(
    case: StoreCase, groq_peer: Any, streamed: bool
) -> None:
    budget = REASONING_TOKENS["medium"]  # all of it goes on reasoning: an empty answer
    with pytest.raises(TruncatedGeneration) as info:
        if streamed:
            _stream(case, "prompt", max_completion_tokens=budget)
        else:
            _call(case, "prompt", max_completion_tokens=budget)
    error = info.value
    assert isinstance(error, GenerationError)
    assert error.finish_reason == "length"
    assert error.text == ""
    assert error.usage["reasoning_tokens"] == budget
    assert error.request_id and error.request_id.startswith("req_")
    assert "reasoning_effort" in str(error) and "max_completion_tokens" in str(error)
    assert _repo(case, "prompt").count() == 0
    assert case.client.activity_logs.count() == 0
    assert case.client.outbox.pending() == []
    assert len(groq_peer.chat_requests) == 1  # not retried: it was paid for


def test_a_cut_answer_is_recorded_only_when_allowed(case: StoreCase, groq_peer: Any) -> None:
    budget = REASONING_TOKENS["medium"] + 5  # five answer tokens, then cut
    with pytest.raises(TruncatedGeneration) as info:
        _call(case, "prompt", max_completion_tokens=budget)
    assert info.value.text
    assert _repo(case, "prompt").count() == 0
    row = _call(case, "prompt", max_completion_tokens=budget, allow_truncated=True)
    assert row.generated_prompt
    assert case.client.activity_logs.get(row.id).metadata["truncated"] is True
    assert _repo(case, "prompt").count() == 1


def test_an_empty_answer_is_never_recorded_even_when_truncation_is_allowed(
    case: StoreCase, groq_peer: Any
) -> None:
    groq_peer.reply = lambda request: ""
    with pytest.raises(TruncatedGeneration, match="empty"):
        _call(case, "prompt", allow_truncated=True)
    assert _repo(case, "prompt").count() == 0
    assert case.client.outbox.pending() == []


# -- retired models --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "status", "code"),
    [
        ("llama-3.3-70b-versatile", 404, "model_not_found"),
        ("qwen/qwen3-32b", 400, "model_decommissioned"),
    ],
)
def test_a_retired_model_names_the_models_groq_serves(
    case: StoreCase, groq_peer: Any, model: str, status: int, code: str
) -> None:
    for _ in range(2):
        with pytest.raises(GenerationError) as info:
            _call(case, "code", model=model)
        error = info.value
        assert (error.status_code, error.code) == (status, code)
        assert f"{model} is no longer served" in str(error)
        assert DEFAULT_MODEL in str(error)
        assert ".." not in str(error)
    assert groq_peer.count("/models") == 1  # listed once per client
    assert len(groq_peer.chat_requests) == 2  # neither answer is retried
    assert _repo(case, "code").count() == 0
    assert case.client.outbox.pending() == []


def test_a_retired_model_in_a_stream_names_the_served_ones(case: StoreCase, groq_peer: Any) -> None:
    groq_peer.script(decommissioned("llama-3.1-8b-instant"))
    with pytest.raises(GenerationError, match="no longer served") as info:
        _stream(case, "prompt", model="llama-3.1-8b-instant")
    assert DEFAULT_MODEL in str(info.value)


# -- client.models() -------------------------------------------------------------------------------


def test_models_lists_what_groq_serves_once_per_client(case: StoreCase, groq_peer: Any) -> None:
    models = case.client.models()
    assert [m.id for m in models] == sorted(m.id for m in models)
    served = {m.id: m for m in models}
    assert "llama-3.3-70b-versatile" not in served
    big = served["openai/gpt-oss-120b"]
    assert (big.context_window, big.max_completion_tokens) == (131_072, 65_536)
    assert big.owned_by and big.active
    assert case.client.models() == models
    assert groq_peer.count("/models") == 1


# -- client settings: effort per kind and from the environment -------------------------------------


def test_the_clients_effort_applies_per_kind(tmp_path: Any, groq_peer: Any) -> None:
    from groqgen import Client

    with Client(
        home=tmp_path,
        groq_api_key="k",
        groq_base_url=groq_peer.base_url,
        reasoning_effort={"*": "low", "review": "high"},
    ) as client:
        assert client.generate.prompt("x", dry_run=True).parameters["reasoning_effort"] == "low"
        review = client.generate.review("x = 1", language="python", dry_run=True)
        assert review.parameters["reasoning_effort"] == "high"
        call = client.generate.review(
            "x = 1", language="python", reasoning_effort="medium", dry_run=True
        )
        assert call.parameters["reasoning_effort"] == "medium"  # the call wins


def test_effort_timeout_and_retries_come_from_the_environment(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groqgen import Client

    monkeypatch.setenv("GROQGEN_REASONING_EFFORT", "prompt=high,code=low")
    monkeypatch.setenv("GROQGEN_TIMEOUT", "7.5")
    monkeypatch.setenv("GROQGEN_MAX_RETRIES", "0")
    with Client(home=tmp_path) as client:
        assert client.settings.timeout == 7.5
        assert client.settings.max_retries == 0
        assert client.generate.prompt("x", dry_run=True).parameters["reasoning_effort"] == "high"
        code = client.generate.code("x", language="python", dry_run=True)
        assert code.parameters["reasoning_effort"] == "low"
        assert client.generate.review("x", language="go", dry_run=True).reasoning_effort == "medium"


@pytest.mark.parametrize(
    ("variable", "value", "setting"),
    [
        ("GROQGEN_REASONING_EFFORT", "extreme", "reasoning_effort"),
        ("GROQGEN_REASONING_EFFORT", "essay=low", "reasoning_effort"),
        ("GROQGEN_TIMEOUT", "soon", "timeout"),
        ("GROQGEN_TIMEOUT", "nan", "timeout"),
        ("GROQGEN_TIMEOUT", "-1", "timeout"),
        ("GROQGEN_MAX_RETRIES", "2.5", "max_retries"),
        ("GROQGEN_MAX_RETRIES", "-1", "max_retries"),
    ],
)
def test_a_bad_setting_in_the_environment_is_a_configuration_error(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, setting: str
) -> None:
    from groqgen import Client, ConfigurationError

    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as info:
        Client(home=tmp_path)
    assert info.value.setting == setting
    assert variable in str(info.value)


# -- what a newcomer hit ---------------------------------------------------------------------------


def test_framework_is_optional_for_code_and_tests(case: StoreCase) -> None:
    code = case.client.generate.code("add two numbers", language="python")
    assert code.framework == "none"
    tests = case.client.generate.tests("def f(): pass", language="python")
    assert tests.framework == "none"


@pytest.mark.parametrize("key", [" gsk_test_key\n", "\tgsk_test_key  "])
def test_an_api_key_with_surrounding_whitespace_is_stripped(
    tmp_path: Any, groq_peer: Any, key: str
) -> None:
    from groqgen import Client

    with Client(home=tmp_path, groq_api_key=key, groq_base_url=groq_peer.base_url) as client:
        client.generate.prompt("x")
    assert groq_peer.chat_requests[0].headers["authorization"] == "Bearer gsk_test_key"


def test_an_api_key_with_inner_whitespace_is_refused_without_echoing_it(tmp_path: Any) -> None:
    from groqgen import Client, ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        Client(home=tmp_path, groq_api_key="gsk_sec ret")
    assert info.value.setting == "GROQ_API_KEY"
    assert "sec ret" not in str(info.value)


def test_the_readmes_ten_line_example_runs(
    tmp_path: Any,
    groq_peer: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Ten lines", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    monkeypatch.setenv("GROQGEN_HOME", str(tmp_path))
    monkeypatch.setenv("GROQ_API_KEY", "gsk_test_key")
    monkeypatch.setenv("GROQ_BASE_URL", groq_peer.base_url)
    exec(compile(code.group(1), "README.md", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    # Entries without tokens (project_created) print None instead of raising KeyError.
    assert "project_created None" in printed
    assert re.search(r"code_generation \d+", printed)
    assert "prompt_count=0" in printed and "code_generation_count=1" in printed


def test_a_missing_postgres_extra_is_a_configuration_error_with_the_install_line(
    tmp_path: Any,
) -> None:
    import subprocess
    import sys

    script = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg_pool'] = None\n"
        "from groqgen import Client, ConfigurationError, migrations\n"
        "url = 'postgresql://nobody@127.0.0.1:1/none'\n"
        "for attempt in (lambda: Client(database_url=url, service=True, home=sys.argv[1])"
        ".prompts.count(), lambda: migrations.apply(url)):\n"
        "    try:\n"
        "        attempt()\n"
        "    except ConfigurationError as exc:\n"
        "        print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert len(out) == 2
    assert all("pip install 'groqgen[postgres]'" in line for line in out)


@pytest.mark.postgres
def test_a_user_id_without_a_profile_is_refused_before_groq_is_paid(
    tmp_path: Any, groq_peer: Any, migrated_url: str
) -> None:
    import uuid

    from groqgen import Client, ConfigurationError

    stranger = uuid.uuid4()
    with Client(
        database_url=migrated_url,
        user_id=stranger,
        home=tmp_path,
        groq_api_key="k",
        groq_base_url=groq_peer.base_url,
    ) as client:
        with pytest.raises(ConfigurationError, match="has no profile") as info:
            client.generate.prompt("x")
        assert info.value.setting == "user_id"
        assert str(stranger) in str(info.value)
        assert client.outbox.pending() == []
    assert groq_peer.requests == []

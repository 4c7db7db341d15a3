"""Re-record tests/cassettes/groq/*.yaml from tests/groq_peer.py through groqgen (2026-11-30).

Run from the repo root: .venv/bin/python tests/record_groq_cassettes.py (then review the diff)
The answers are the texts of the previous cassettes (kept); the requests are what groqgen
sends for CALLS; ids, dates and cf-ray are made deterministic; the host becomes api.groq.com.
"""

from __future__ import annotations

import datetime
import json
import random
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import vcr
import yaml

ROOT = Path.cwd()
sys.path.insert(0, str(ROOT))

from groqgen import Client  # noqa: E402
from tests.groq_peer import GroqPeer  # noqa: E402
from tests.test_generator_cassettes import CALLS  # noqa: E402

CASSETTES = ROOT / "tests" / "cassettes" / "groq"
OLD = CASSETTES  # the answers are kept: read from the cassettes being replaced
EXPECTED = {  # what the lead's brief says groqgen sends (2026-11-30)
    "prompt": {"model": "openai/gpt-oss-120b", "temperature": 0.7, "max_completion_tokens": 4952},
    "code": {"model": "openai/gpt-oss-120b", "temperature": 0.2, "max_completion_tokens": 8192},
    "review": {"model": "openai/gpt-oss-120b", "temperature": 0.2, "max_completion_tokens": 8192},
    "tests": {"model": "openai/gpt-oss-120b", "temperature": 0.2, "max_completion_tokens": 8192},
}
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
T0 = int(datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.timezone.utc).timestamp())


def old_answer(kind: str) -> str:
    data = yaml.safe_load((OLD / f"{kind}.yaml").read_text())
    body = json.loads(data["interactions"][0]["response"]["body"]["string"])
    return str(body["choices"][0]["message"]["content"])


def ulid(ms: int, rng: random.Random) -> str:
    """A lowercase Crockford ULID: 10 characters of time, 16 of randomness."""
    head = "".join(CROCKFORD[(ms >> (5 * (9 - i))) & 31] for i in range(10))
    return head + "".join(rng.choice(CROCKFORD) for _ in range(16))


class Literal(str):
    pass


def literal(dumper: yaml.Dumper, value: Literal) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


yaml.add_representer(Literal, literal)


def record(kind: str, stream: bool, peer: GroqPeer, index: int) -> None:
    name = f"{kind}{'_stream' if stream else ''}.yaml"
    first, inputs = CALLS[kind]
    rest = {k: v for k, v in inputs.items() if k != first}
    peer.reply = old_answer(kind)
    with tempfile.TemporaryDirectory() as tmp:
        raw_path = Path(tmp) / name
        with (
            Client(
                home=tmp, groq_api_key="gsk_record", groq_base_url=peer.base_url, max_retries=0
            ) as client,
            vcr.use_cassette(str(raw_path), record_mode="all", filter_headers=["authorization"]),
        ):
            if stream:
                with getattr(client.generate.stream, kind)(inputs[first], **rest) as s:
                    for _ in s:
                        pass
            else:
                getattr(client.generate, kind)(inputs[first], **rest)
        data = yaml.safe_load(raw_path.read_text())
    chats = [i for i in data["interactions"] if i["request"]["uri"].endswith("/chat/completions")]
    if len(chats) != len(data["interactions"]):
        print(
            f"note: {name}: groqgen also sent",
            [i["request"]["uri"] for i in data["interactions"] if i not in chats],
        )
    (interaction,) = chats
    request, response = interaction["request"], interaction["response"]
    body = json.loads(request["body"])
    want = {**EXPECTED[kind], "reasoning_effort": "medium", "include_reasoning": False}
    if stream:
        want["stream"] = True
    got = {k: v for k, v in body.items() if k != "messages"}
    assert got == want, (name, got, want)

    # Deterministic ids, times and routing; Groq's host.
    rng = random.Random(name)
    created = T0 + 60 * index
    text = response["body"]["string"]
    text = text if isinstance(text, str) else text.decode()
    sample = json.loads(text if not stream else text.split("\n\n")[0].removeprefix("data: "))
    old_cid, old_created = sample["id"], sample["created"]
    old_rid = response["headers"]["x-request-id"][0]
    new_cid = f"chatcmpl-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    new_rid = "req_" + ulid(created * 1000 + rng.randrange(1000), rng)
    text = text.replace(old_cid, new_cid).replace(old_rid, new_rid)
    text = text.replace(f'"created":{old_created},', f'"created":{created},')
    response["body"]["string"] = Literal(text) if stream else text
    headers = response["headers"]
    headers["x-request-id"] = [new_rid]
    headers["cf-ray"] = [f"{rng.getrandbits(64):016x}-DFW"]
    headers["date"] = [
        datetime.datetime.fromtimestamp(created + 1, datetime.timezone.utc).strftime(
            "%a, %d %b %Y %H:%M:%S GMT"
        )
    ]
    headers["server"] = ["cloudflare"]
    if not stream:
        headers["content-length"] = [str(len(text.encode()))]
    response["headers"] = dict(sorted(headers.items()))
    request["uri"] = "https://api.groq.com/openai/v1/chat/completions"
    request["headers"]["host"] = ["api.groq.com"]
    request["headers"] = dict(sorted(request["headers"].items()))
    out = {"interactions": [interaction], "version": 1}
    (CASSETTES / name).write_text(
        yaml.dump(out, allow_unicode=True, width=100, sort_keys=False), encoding="utf-8"
    )
    print("wrote", name, "tokens", json.dumps(json.loads(text)["usage"]) if not stream else "")


def main() -> None:
    with GroqPeer() as peer:
        index = 0
        for kind in ("prompt", "code", "review", "tests"):
            for stream in (False, True):
                record(kind, stream, peer, index)
                index += 1


if __name__ == "__main__":
    main()

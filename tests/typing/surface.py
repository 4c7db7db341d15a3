# What mypy must prove about groqgen's public surface (checked by tests/test_typing.py).
# "# N: text" expects a note on that line (reveal_type); "# E: text" expects an error there.
# This file is type-checked, never run; ruff format leaves it alone (the comments must stay put).
# fmt: off
from __future__ import annotations

from groqgen import AsyncClient, Client


async def async_results_are_the_row_types(client: AsyncClient) -> None:
    reveal_type(await client.generate.prompt("x"))  # N: Revealed type is "groqgen.models.Prompt"
    reveal_type(await client.generate.code("x", language="go"))  # N: Revealed type is "groqgen.models.CodeGeneration"
    reveal_type(await client.generate.review("x", language="go"))  # N: Revealed type is "groqgen.models.CodeReview"
    reveal_type(await client.generate.tests("x", language="go"))  # N: Revealed type is "groqgen.models.TestGeneration"
    reveal_type(await client.generate.prompt("x", dry_run=True))  # N: Revealed type is "groqgen.generation.DryRun"
    async with client.generate.stream.code("x", language="go") as stream:
        reveal_type(stream.result)  # N: Revealed type is "groqgen.models.CodeGeneration"


def sync_results_are_the_row_types(client: Client) -> None:
    reveal_type(client.generate.prompt("x"))  # N: Revealed type is "groqgen.models.Prompt"
    reveal_type(client.generate.tests("x", language="go", dry_run=True))  # N: Revealed type is "groqgen.generation.DryRun"
    with client.generate.stream.review("x", language="go") as stream:
        reveal_type(stream.result)  # N: Revealed type is "groqgen.models.CodeReview"


def a_bad_vocabulary_value_is_a_type_error(client: Client) -> None:
    client.generate.prompt("x", tone="poetic")  # E: No overload variant of "prompt" of "Kinds" matches argument types "str", "str"
    client.generate.review("x", language="go", review_type="style")  # E: No overload variant of "review" of "Kinds" matches argument types "str", "str", "str"
    client.generate.prompt("x", reasoning_effort="max")  # E: No overload variant of "prompt" of "Kinds" matches argument types "str", "str"


def repositories_are_typed_per_table(client: Client) -> None:
    client.prompts.create(bogus=1)  # E: Unexpected keyword argument "bogus" for "create" of "PromptsCreate"
    client.prompts.get(12345)  # E: Argument 1 to "get" of "Repository" has incompatible type "int"; expected "UUID | str"


async def async_repositories_return_rows(client: AsyncClient) -> None:
    reveal_type(await client.prompts.create(topic="t", model="m", generated_prompt="p"))  # N: Revealed type is "groqgen.models.Prompt"

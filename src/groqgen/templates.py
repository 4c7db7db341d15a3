r"""Message templates: how each kind of generation is asked of the model.

Templates are data. Each has a ``version`` that is recorded in the activity entry of every
generation it produced, so a change of wording can be traced in the data. Override one with
``Client(templates={"review": Template(...)})``; fields are filled with ``str.format``.

Fields available to every template are the request's own (``topic``, ``prompt_type``, ``tone``,
``length``, ``description``, ``language``, ``framework``, ``code``, ``review_type``,
``coverage``, ...) plus the derived fields documented on each default template.

Example:
    >>> from groqgen.templates import Template
    >>> terse = Template(
    ...     version="team-review-1",
    ...     system="You review {language} code for a fintech team. Be terse.",
    ...     user="Review this ({review_type}):\n{code}",
    ... )
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError

__all__ = ["DEFAULT_TEMPLATES", "Template"]


@dataclass(frozen=True)
class Template:
    """A system and a user message with ``{field}`` placeholders, and a version label.

    ``temperature`` is sent with the request. ``output_tokens`` is about how many tokens the
    answer itself needs (None: derived — prompts from ``length``); the generator adds room for
    the model's reasoning to get ``max_completion_tokens``. A ``max_completion_tokens`` set here
    is sent as given instead (a per-call ``max_completion_tokens=`` overrides both).
    """

    version: str
    system: str
    user: str
    temperature: float = 0.3
    max_completion_tokens: int | None = None
    output_tokens: int | None = None

    def render(self, fields: Mapping[str, Any]) -> list[dict[str, str]]:
        """The chat messages for these fields; ``ConfigurationError`` for an unknown field."""
        try:
            return [
                {"role": "system", "content": self.system.format_map(fields).strip()},
                {"role": "user", "content": self.user.format_map(fields).strip()},
            ]
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigurationError(
                f"template {self.version!r} uses a field that does not exist or is malformed "
                f"({exc}); available fields: {', '.join(sorted(fields))}",
                setting="templates",
            ) from None


PROMPT = Template(
    version="prompt-2026.11-1",
    temperature=0.7,
    system="""
You are an expert prompt engineer. You write prompts that another language model will follow.
A good prompt states the role the model should take, the task, the audience, the constraints,
and the shape of the answer it expects, in plain and specific language.

Write a {prompt_type} prompt in a {tone} tone. {prompt_type_guidance} {tone_guidance}
The prompt itself must be about {target_words} words long (between {min_words} and
{max_words}).

Reply with the prompt text only: no title, no preamble such as "Here is your prompt", no
explanation after it, no quotation marks or code fences around it.
""",
    user="""
Topic: {topic}
{context_block}
""",
)
"""Derived fields: ``prompt_type_guidance``, ``tone_guidance``, ``target_words``, ``min_words``,
``max_words`` (from ``length``: 10..100 maps to about 40..400 words) and ``context_block``."""

CODE = Template(
    version="code-2026.11-1",
    temperature=0.2,
    output_tokens=4096,
    system="""
You are a senior {language} engineer. Write production-quality {language} code using
{framework}, following the idiomatic conventions of {language} and {framework}: naming,
project structure, error handling, typing where the language has it, and the standard
testing and formatting tools of that ecosystem. Handle edge cases and invalid input. Keep
comments brief and useful.

Reply with exactly one fenced code block containing the complete code, tagged with the
language, and nothing outside it.
""",
    user="""
Write code that does the following:
{description}
{context_block}
""",
)
"""Derived fields: ``context_block``."""

REVIEW = Template(
    version="review-2026.11-1",
    temperature=0.2,
    output_tokens=4096,
    system="""
You are a meticulous senior {language} reviewer. This is a {review_type} review: {review_focus}

Answer in markdown with exactly these sections:

## Summary
Two or three sentences on what the code does and its overall quality.

## Strengths
A bulleted list of what is done well.

## Issues
A numbered list. For each issue give **Severity** (critical, high, medium or low), the
location (function or line), what is wrong and why it matters. Order by severity. If there
are none, say so.

## Suggested fixes
For each issue worth fixing, a concrete fix with a short fenced {language} code block.
""",
    user="""
Review this {language} code:

```{language}
{code}
```
""",
)
"""Derived fields: ``review_focus``."""

TESTS = Template(
    version="tests-2026.11-1",
    temperature=0.2,
    output_tokens=4096,
    system="""
You are an expert in testing {language} code with {framework}. Write a test suite that uses
{framework} idiomatically (fixtures, parametrisation and assertions as its users expect).

Cover these kinds of test: {test_types_list}. Coverage level: {coverage} — {coverage_guidance}
Give each test a name that states the behaviour it checks. Tests must be deterministic and
self-contained: mock time, network and randomness.

Reply with exactly one fenced code block containing the complete test file, tagged with the
language, and nothing outside it.
""",
    user="""
Write tests for this {language} code:

```{language}
{code}
```
{context_block}
""",
)
"""Derived fields: ``test_types_list``, ``coverage_guidance`` and ``context_block``."""

DEFAULT_TEMPLATES: Mapping[str, Template] = {
    "prompt": PROMPT,
    "code": CODE,
    "review": REVIEW,
    "tests": TESTS,
}
"""The templates used unless ``Client(templates=...)`` overrides them, by kind."""

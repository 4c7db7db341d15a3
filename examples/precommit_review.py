"""A pre-commit hook: review every staged source file with groqgen and block critical issues.

Install in a repository:

    printf '#!/bin/sh\nexec python /path/to/examples/precommit_review.py\n' > .git/hooks/pre-commit
    chmod +x .git/hooks/pre-commit

Each review is recorded (with its activity entry) like any other, so the team can read them
later: `groqgen history`. Exit code 1 blocks the commit when a review reports a critical issue.
"""

import re
import subprocess
import sys
from pathlib import Path

from groqgen import Client, GroqgenError

LANGUAGES = {
    ".py": "python",
    ".js": "javascript",
    ".ts": "typescript",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".rb": "ruby",
    ".sql": "sql",
    ".sh": "bash",
}
CRITICAL = re.compile(r"\*\*severity\*\*\s*:?\s*\**\s*critical", re.IGNORECASE)


def staged_files() -> list[Path]:
    names = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "--diff-filter=ACM"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return [Path(n) for n in names if Path(n).suffix in LANGUAGES]


def main() -> int:
    files = staged_files()
    if not files:
        return 0
    blocked = []
    with Client() as client:
        for path in files:
            staged = subprocess.run(
                ["git", "show", f":{path}"], check=True, capture_output=True, text=True
            ).stdout
            try:
                review = client.generate.review(
                    staged, language=LANGUAGES[path.suffix], review_type="bugs"
                )
            except GroqgenError as exc:
                print(f"groqgen: could not review {path}: {exc}", file=sys.stderr)
                continue
            if CRITICAL.search(review.review_result):
                blocked.append(path)
                print(
                    f"\n=== {path}: critical issues ===\n{review.review_result}\n", file=sys.stderr
                )
            else:
                print(f"groqgen: {path} reviewed, nothing critical")
    if blocked:
        print(f"commit blocked: {len(blocked)} file(s) with critical issues", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

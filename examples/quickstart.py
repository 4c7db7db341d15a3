"""Quickstart: generate, record and read back, on the embedded SQLite store.

export GROQ_API_KEY=gsk_...
python examples/quickstart.py
"""

from groqgen import Client

with Client() as client:  # groqgen.db under GROQGEN_HOME; nothing to set up
    project = client.projects.create("Quickstart", description="trying groqgen")

    prompt = client.generate.prompt(
        "onboarding email for new users", tone="enthusiastic", length=30, project_id=project.id
    )
    print("PROMPT\n", prompt.generated_prompt, "\n")

    code = client.generate.code(
        "slugify a blog post title", language="python", framework="stdlib", project_id=project.id
    )
    print("CODE\n", code.generated_code)

    review = client.generate.review(
        code.generated_code, language="python", review_type="bugs", project_id=project.id
    )
    print("REVIEW\n", review.review_result, "\n")

    print(client.projects.resource_counts(project.id))
    for entry in client.activity_logs.recent(limit=5):
        print(f"{entry.created_at:%H:%M:%S}  {entry.activity_type:18} {entry.description}")

"""A Supabase session: sign in once, generate as that user, read back under row-level security.

    export SUPABASE_URL=https://<ref>.supabase.co SUPABASE_KEY=<anon key> GROQ_API_KEY=gsk_...
    export EXAMPLE_EMAIL=ada@example.com EXAMPLE_PASSWORD='a long passphrase'
    python examples/supabase_session.py

The session is kept (0600) under GROQGEN_HOME: the next run is already signed in.
"""

import os

from groqgen import AuthenticationError, Client

email, password = os.environ["EXAMPLE_EMAIL"], os.environ["EXAMPLE_PASSWORD"]

with Client() as client:  # SUPABASE_URL and SUPABASE_KEY from the environment
    if client.auth.user() is None:
        try:
            client.auth.sign_in_with_password(email, password)
        except AuthenticationError:
            client.auth.sign_up(email, password, full_name="Example User")
            client.auth.sign_in_with_password(email, password)
    me = client.profiles.me()
    print("signed in as", me.email)
    review = client.generate.review(
        "def div(a, b): return a / b", language="python", review_type="bugs"
    )
    print(review.review_result)
    print(client.code_reviews.count(), "reviews visible to", me.email)

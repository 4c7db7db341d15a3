"""How long migration 0005 holds activity_logs against writes.

    python benchmarks/migrate_usage_locks.py 300000

Applies 0001-0004 to a throwaway database, fills N generation entries, then applies 0005
while a writer inserts an activity entry every 10 ms, and prints the migration's time and
the slowest insert (the time writers were held).
"""

import json
import statistics
import sys
import threading
import time
import uuid

import psycopg

from groqgen import migrations

N = int(sys.argv[1])
admin = "postgresql://postgres@127.0.0.1:5432/postgres"
name = f"b0005_{uuid.uuid4().hex[:8]}"
with psycopg.connect(admin, autocommit=True) as c:
    c.execute(f'create database "{name}"')
url = f"postgresql://postgres@127.0.0.1:5432/{name}"
try:
    shipped = migrations.available()
    before = [m for m in shipped if not m.version.startswith("0005")]
    orig = migrations.available
    migrations.available = lambda: before
    migrations.apply(url)
    migrations.available = orig
    uid = uuid.uuid4()
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("insert into auth.users (id, email) values (%s, 'a@x')", [uid])
        meta = json.dumps(
            {
                "model": "openai/gpt-oss-120b",
                "prompt_tokens": 10,
                "completion_tokens": 20,
                "total_tokens": 30,
            }
        )
        c.execute(
            f"""insert into activity_logs (user_id, activity_type, description, metadata, created_at)
            select %s, 'prompt_generation', 'd', %s::jsonb, now() - (g || ' seconds')::interval from generate_series(1, {N}) g""",
            [uid, meta],
        )
    lat = []
    stop = threading.Event()

    def writer():
        with psycopg.connect(url, autocommit=True) as c:
            while not stop.is_set():
                t = time.perf_counter()
                c.execute(
                    "insert into activity_logs (user_id, activity_type, description, metadata) values (%s, 'prompt_generation', 'w', %s::jsonb)",
                    [uid, meta],
                )
                lat.append(time.perf_counter() - t)
                time.sleep(0.01)

    th = threading.Thread(target=writer)
    th.start()
    time.sleep(1)
    t0 = time.perf_counter()
    migrations.apply(url)
    total = time.perf_counter() - t0
    time.sleep(0.5)
    stop.set()
    th.join()
    with psycopg.connect(url) as c:
        missing = c.execute(
            "select count(*) from activity_logs a where activity_type='prompt_generation' and not exists (select 1 from groqgen.usage_entries u where u.id=a.id)"
        ).fetchone()[0]
    print(
        f"N={N} migrate 0005: {total:.2f} s; writes {len(lat)}; max insert {max(lat) * 1000:.1f} ms; median {statistics.median(lat) * 1000:.2f} ms; entries without usage row: {missing}"
    )
finally:
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'drop database if exists "{name}" with (force)')

-- groqgen 0005: usage reports in one round trip, fast at a million activity entries.
--
-- A usage report sums the token counts that each generation's activity entry carries in its
-- metadata (jsonb). Summing straight from activity_logs was measured on 1,000,000 entries
-- (docs/benchmarks.md): 30,000 entries of one user's month took 600 ms with the existing
-- (user_id, created_at) index, and still 130-260 ms with a covering index, because decoding
-- ten numbers out of jsonb costs about 5 us a row. So each generation entry is decoded once,
-- when it is written: groqgen.usage_entries holds its figures as plain columns, kept in step
-- with activity_logs by triggers in the same transaction (insert, update, and delete through
-- the foreign key), so a report is exact, read under row-level security, and reads one narrow
-- index range: an index-only scan of the caller's rows in the date range, and nobody else's.
--
-- Entries of any shape are accepted: a figure that is missing, not a number, fractional or
-- negative is unknown (null), never zero. Entries written by the web app, which records no
-- token counts, are counted as generations of unknown cost.

create table groqgen.usage_entries (
  -- references activity_logs(id) on delete cascade: added below, after the first pass (a
  -- foreign key locks the table it references against writes until this migration commits)
  id uuid primary key,
  user_id uuid not null,
  project_id uuid,
  created_at timestamp with time zone not null,
  activity_type varchar not null,
  model text,
  batch boolean not null default false,
  -- All five are null unless both prompt and completion token counts are known.
  prompt_tokens bigint,
  completion_tokens bigint,
  total_tokens bigint,
  reasoning_tokens bigint,
  cached_tokens bigint,
  groq_time_s double precision
);
comment on table groqgen.usage_entries is
  'One row per generation activity entry: its usage figures decoded from metadata. Kept in step with public.activity_logs by triggers; read by public.usage_report().';

-- The report's one index: the caller's rows in a date range, every figure in the index itself.
create index usage_entries_user_created_idx on groqgen.usage_entries (user_id, created_at)
  include (activity_type, project_id, model, batch, prompt_tokens, completion_tokens,
           total_tokens, reasoning_tokens, cached_tokens, groq_time_s);

alter table groqgen.usage_entries enable row level security;
create policy "Users can view their own usage" on groqgen.usage_entries
  for select to authenticated using ((select auth.uid()) = user_id);
revoke all on table groqgen.usage_entries from public, anon, authenticated;
grant select on table groqgen.usage_entries to authenticated;
grant all on table groqgen.usage_entries to service_role;

-- Decoding -----------------------------------------------------------------------------------------

create or replace function groqgen.usage_count(value jsonb) returns bigint
  language plpgsql immutable parallel safe
  set search_path = ''
  as $$
  declare
    n numeric;
  begin
    -- A whole, non-negative JSON number that fits a bigint; anything else is unknown. (Nested
    -- tests: a string must never reach the cast.)
    if value is null or jsonb_typeof(value) <> 'number' then
      return null;
    end if;
    n := value::numeric;
    if n >= 0 and n < 9223372036854775807 and n = trunc(n) then
      return n::bigint;
    end if;
    return null;
  end
  $$;

create or replace function groqgen.usage_entry(entry public.activity_logs)
  returns groqgen.usage_entries
  language plpgsql immutable parallel safe
  set search_path = ''
  as $$
  declare
    m jsonb := case when jsonb_typeof(entry.metadata) = 'object' then entry.metadata end;
    prompt bigint := groqgen.usage_count(m -> 'prompt_tokens');
    completion bigint := groqgen.usage_count(m -> 'completion_tokens');
    known boolean := prompt is not null and completion is not null;
    seconds jsonb := m -> 'total_time';
    result groqgen.usage_entries;
  begin
    result.id := entry.id;
    result.user_id := entry.user_id;
    result.project_id := entry.project_id;
    result.created_at := entry.created_at;
    result.activity_type := entry.activity_type;
    result.model := case when jsonb_typeof(m -> 'model') = 'string' then left(m ->> 'model', 200) end;
    result.batch := coalesce(m -> 'batch' = 'true'::jsonb, false);
    if known then
      result.prompt_tokens := prompt;
      result.completion_tokens := completion;
      result.total_tokens := coalesce(groqgen.usage_count(m -> 'total_tokens'), prompt + completion);
      result.reasoning_tokens := coalesce(groqgen.usage_count(m -> 'reasoning_tokens'), 0);
      result.cached_tokens := least(coalesce(groqgen.usage_count(m -> 'cached_tokens'), 0), prompt);
    end if;
    if seconds is not null and jsonb_typeof(seconds) = 'number' then
      if seconds::numeric >= 0 and seconds::numeric < 1e9 then
        result.groq_time_s := seconds::numeric::double precision;
      end if;
    end if;
    return result;
  end
  $$;
comment on function groqgen.usage_entry(public.activity_logs) is
  'The usage figures of a generation activity entry (unknown figures null).';

-- security definer: the entry itself was written under the writer's row-level security; its
-- derived row goes in whoever wrote it (the web app, groqgen, the service role).
create or replace function groqgen.sync_usage_entry() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
  begin
    if tg_op = 'UPDATE' then
      delete from groqgen.usage_entries u where u.id = old.id;
    end if;
    if new.activity_type in ('prompt_generation', 'code_generation', 'code_review', 'test_generation') then
      insert into groqgen.usage_entries select * from groqgen.usage_entry(new)
        on conflict (id) do nothing;
    end if;
    return null;
  end
  $$;
revoke all on function groqgen.sync_usage_entry() from public, anon, authenticated;

-- Every generation entry already written (the web app's included), decoded BEFORE the foreign
-- key and the triggers exist: creating either locks activity_logs against writes until this
-- migration commits, so the long pass runs first, holding no lock that blocks writers
-- (measured at 1,000,000 entries: 28-39 s of blocked writes when they came first).
insert into groqgen.usage_entries
  select e.* from public.activity_logs a, lateral groqgen.usage_entry(a) e
  where a.activity_type in ('prompt_generation', 'code_generation', 'code_review', 'test_generation')
  on conflict (id) do nothing;

-- From here on activity_logs is held against writes until commit: keep what follows short.
alter table groqgen.usage_entries
  add constraint usage_entries_id_fkey foreign key (id)
  references public.activity_logs (id) on delete cascade not valid;
-- NOT VALID: every row was read from activity_logs; entries deleted while the first pass ran
-- are removed here, so the constraint holds for every row (new ones are checked as written).
delete from groqgen.usage_entries u
  where not exists (select 1 from public.activity_logs a where a.id = u.id);

create trigger activity_logs_usage_insert after insert on public.activity_logs
  for each row execute function groqgen.sync_usage_entry();
create trigger activity_logs_usage_update
  after update of user_id, project_id, activity_type, metadata, created_at on public.activity_logs
  for each row execute function groqgen.sync_usage_entry();

-- What was written while the first pass ran: with the triggers in place (and writers held by
-- their lock until commit), only entries without a usage row are decoded, a short pass.
insert into groqgen.usage_entries
  select e.* from public.activity_logs a, lateral groqgen.usage_entry(a) e
  where a.activity_type in ('prompt_generation', 'code_generation', 'code_review', 'test_generation')
    and not exists (select 1 from groqgen.usage_entries u where u.id = a.id)
  on conflict (id) do nothing;
analyze groqgen.usage_entries;

revoke all on function groqgen.usage_count(jsonb) from public, anon;
grant execute on function groqgen.usage_count(jsonb) to authenticated, service_role;
revoke all on function groqgen.usage_entry(public.activity_logs) from public, anon;
grant execute on function groqgen.usage_entry(public.activity_logs) to authenticated, service_role;

-- The report ----------------------------------------------------------------------------------------

create function public.usage_report(
  since timestamp with time zone,
  until timestamp with time zone,
  tz text default 'UTC',
  by_kind boolean default false,
  by_project boolean default false,
  acting_user uuid default null
)
  returns table (
    day date, model text, batch boolean, activity_type text, project_id uuid,
    generations bigint, counted bigint, prompt_tokens numeric, completion_tokens numeric,
    total_tokens numeric, reasoning_tokens numeric, cached_tokens numeric,
    timed bigint, groq_time_s double precision
  )
  language plpgsql
  stable
  security invoker
  set search_path = ''
  -- A month of a heavy user is ~100 groups from 30,000 rows: hashing them beats sorting, and
  -- the planner, which cannot estimate the groups of a time-zone expression, needs the room.
  set work_mem = '32MB'
  as $$
  declare
    owner uuid := groqgen.acting_user(acting_user);
    -- The caller's rows (row-level security agrees); the service role for nobody in particular
    -- reads everyone's, one index range per user.
    users uuid[] := case when owner is null then array(select p.id from public.profiles p)
                         else array[owner] end;
  begin
    -- Each group per day, model and batch (prices are per model, dated, halved for batches),
    -- and per kind and project when asked; the SDK rolls them up to what was asked for.
    return query
      select (u.created_at at time zone usage_report.tz)::date,
             u.model,
             u.batch,
             case when by_kind then u.activity_type::text end,
             case when by_project then u.project_id end,
             count(*),
             count(u.prompt_tokens),
             sum(u.prompt_tokens),
             sum(u.completion_tokens),
             sum(u.total_tokens),
             sum(u.reasoning_tokens),
             sum(u.cached_tokens),
             count(u.groq_time_s),
             sum(u.groq_time_s)
      from groqgen.usage_entries u
      where u.user_id = any(users)
        and u.created_at >= usage_report.since and u.created_at < usage_report.until
      group by 1, 2, 3, 4, 5;
  end
  $$;
comment on function public.usage_report(timestamp with time zone, timestamp with time zone, text, boolean, boolean, uuid) is
  'Generations and their usage figures of the acting user between since and until, per day (in tz), model and batch, and per kind and project when asked.';
revoke all on function public.usage_report(timestamp with time zone, timestamp with time zone, text, boolean, boolean, uuid) from public, anon;
grant execute on function public.usage_report(timestamp with time zone, timestamp with time zone, text, boolean, boolean, uuid) to authenticated, service_role;

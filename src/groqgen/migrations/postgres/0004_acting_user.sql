-- groqgen 0004: acting for a user with the service role stays inside that user.
--
-- The service role bypasses row-level security. A backend that serves many users with it
-- (a Supabase service-role key with user_id=, or groqgen's PostgreSQL store with
-- service=True, user_id=) is scoped by the SDK's own filters on plain reads and writes, but
-- the functions of 0002 and 0003 trusted row-level security alone: update_project and
-- delete_project changed another user's project, resource_counts counted it, and
-- record_generation, retried with another user's row id, answered that user's row.
--
-- Each function now works out the acting user and checks ownership itself:
--   * the request's own user, auth.uid(), when its JWT names one (a signed-in user; groqgen's
--     PostgreSQL store puts the user it acts for in the claims even as the service role);
--   * else the new last argument acting_user (a service-role key's JWT names nobody, so the
--     SDK passes the user it acts for);
--   * else nobody: the service role for every user, as before (the administrator's mode).
-- An acting_user that contradicts the JWT's user is refused. The old signatures are replaced,
-- not overloaded (PostgREST cannot choose between overloads with the same named arguments),
-- and the new argument is last with a default, so existing calls keep working.
-- resource_counts now answers no row for a project that is not the caller's (the SDK says
-- NotFound) instead of four zeros.

create or replace function groqgen.acting_user(acting_user uuid) returns uuid
  language plpgsql
  stable
  security invoker
  set search_path = ''
  as $$
  declare
    jwt_user uuid := auth.uid();
  begin
    if jwt_user is not null and acting_user is not null and acting_user <> jwt_user then
      raise exception using errcode = '42501',
        message = 'acting_user names another user than the one the request is made for';
    end if;
    return coalesce(jwt_user, acting_user);
  end
  $$;
comment on function groqgen.acting_user(uuid) is
  'The user a call acts for: auth.uid(), else the acting_user argument (service role), else null (every user).';
revoke all on function groqgen.acting_user(uuid) from public, anon;
grant execute on function groqgen.acting_user(uuid) to authenticated, service_role;

-- A project's activity entry belongs to the project's owner, whoever writes it.
create or replace function groqgen.log_project_activity(
  stored public.projects, activity_type text, description text, activity jsonb
) returns void
  language plpgsql
  security invoker
  set search_path = ''
  as $$
  begin
    if activity ->> 'user_id' is not null and (activity ->> 'user_id')::uuid <> stored.user_id then
      raise exception using errcode = '42501',
        message = 'a project''s activity entry belongs to the project''s owner';
    end if;
    -- Defaults from the project, overridden by the caller's fields (id, description, ...).
    insert into public.activity_logs
      select * from jsonb_populate_record(
        null::public.activity_logs,
        jsonb_build_object(
          'id', gen_random_uuid(), 'user_id', stored.user_id, 'project_id', stored.id,
          'activity_type', activity_type, 'description', description,
          'metadata', '{}'::jsonb, 'created_at', now()
        ) || coalesce(activity, '{}'::jsonb)
      );
  end
  $$;

-- record_generation -------------------------------------------------------------------------------

drop function public.record_generation(text, jsonb, jsonb);

create function public.record_generation(
  kind text, record jsonb, activity jsonb default '{}'::jsonb, acting_user uuid default null
)
  returns jsonb
  language plpgsql
  security invoker
  set search_path = ''
  as $$
  declare
    activity_type text := case kind
      when 'prompts' then 'prompt_generation'
      when 'code_generations' then 'code_generation'
      when 'code_reviews' then 'code_review'
      when 'tests' then 'test_generation'
    end;
    owner uuid := groqgen.acting_user(acting_user);
    new_row jsonb;
    entry jsonb;
    stored jsonb;
  begin
    if activity_type is null then
      raise exception using errcode = '22023',
        message = format('record_generation: unknown kind %L', kind),
        hint = 'kind is one of prompts, code_generations, code_reviews, tests';
    end if;
    if record ->> 'id' is null then
      raise exception using errcode = '22023',
        message = 'record_generation: record.id is required',
        hint = 'generate the id on the client so that a retried call cannot duplicate the row';
    end if;
    if owner is not null and (
      (record ->> 'user_id' is not null and (record ->> 'user_id')::uuid <> owner)
      or (activity ->> 'user_id' is not null and (activity ->> 'user_id')::uuid <> owner)
    ) then
      raise exception using errcode = '42501',
        message = 'record_generation: the record names another user than the one acting';
    end if;

    new_row := jsonb_build_object('user_id', owner, 'created_at', now()) || record;
    -- One static statement per kind (no EXECUTE): PL/pgSQL caches their plans.
    case kind
      when 'prompts' then
        insert into public.prompts select * from jsonb_populate_record(null::public.prompts, new_row)
          on conflict (id) do nothing returning to_jsonb(prompts.*) into stored;
      when 'code_generations' then
        insert into public.code_generations select * from jsonb_populate_record(null::public.code_generations, new_row)
          on conflict (id) do nothing returning to_jsonb(code_generations.*) into stored;
      when 'code_reviews' then
        insert into public.code_reviews select * from jsonb_populate_record(null::public.code_reviews, new_row)
          on conflict (id) do nothing returning to_jsonb(code_reviews.*) into stored;
      else
        insert into public.tests select * from jsonb_populate_record(null::public.tests, new_row)
          on conflict (id) do nothing returning to_jsonb(tests.*) into stored;
    end case;

    entry := jsonb_build_object(
      'id', new_row -> 'id',
      'user_id', new_row -> 'user_id',
      'project_id', new_row -> 'project_id',
      'activity_type', activity_type,
      'description', kind || ' recorded',
      'metadata', '{}'::jsonb,
      'created_at', new_row -> 'created_at'
    ) || coalesce(activity, '{}'::jsonb);
    insert into public.activity_logs
      select * from jsonb_populate_record(null::public.activity_logs, entry)
      on conflict (id) do nothing;

    if stored is null then
      -- The id was there already: a retried call (return what was stored first) or somebody
      -- else's row, which the acting user may not see even where row-level security does not
      -- apply.
      case kind
        when 'prompts' then select to_jsonb(t) into stored from public.prompts t
          where t.id = (new_row ->> 'id')::uuid and (owner is null or t.user_id = owner);
        when 'code_generations' then select to_jsonb(t) into stored from public.code_generations t
          where t.id = (new_row ->> 'id')::uuid and (owner is null or t.user_id = owner);
        when 'code_reviews' then select to_jsonb(t) into stored from public.code_reviews t
          where t.id = (new_row ->> 'id')::uuid and (owner is null or t.user_id = owner);
        else select to_jsonb(t) into stored from public.tests t
          where t.id = (new_row ->> 'id')::uuid and (owner is null or t.user_id = owner);
      end case;
    end if;
    if stored is null then
      raise exception using errcode = '42501',
        message = 'record_generation: a row with this id exists and belongs to another user';
    end if;
    return stored;
  end
  $$;
comment on function public.record_generation(text, jsonb, jsonb, uuid) is
  'Insert a generation row and its activity_logs entry atomically, for the acting user; idempotent on record.id.';

-- resource_counts ---------------------------------------------------------------------------------

drop function public.resource_counts(uuid);

create function public.resource_counts(project_id uuid, acting_user uuid default null)
  returns table (prompt_count bigint, code_generation_count bigint, code_review_count bigint, test_count bigint)
  language plpgsql
  stable
  security invoker
  set search_path = ''
  as $$
  declare
    owner uuid := groqgen.acting_user(acting_user);
  begin
    -- One row for a project of the acting user's (any project for the service role acting
    -- for nobody), none otherwise. The (project_id, user_id) foreign keys make a project's
    -- rows its owner's rows.
    return query
      select
        (select count(*) from public.prompts t where t.project_id = p.id),
        (select count(*) from public.code_generations t where t.project_id = p.id),
        (select count(*) from public.code_reviews t where t.project_id = p.id),
        (select count(*) from public.tests t where t.project_id = p.id)
      from public.projects p
      where p.id = resource_counts.project_id and (owner is null or p.user_id = owner);
  end
  $$;
comment on function public.resource_counts(uuid, uuid) is
  'Counts of prompts, code generations, code reviews and tests in a project of the acting user; no row for anyone else''s.';

-- Project writes ----------------------------------------------------------------------------------

drop function public.create_project(jsonb, jsonb);
drop function public.update_project(uuid, jsonb, jsonb);
drop function public.delete_project(uuid, jsonb);

create function public.create_project(project jsonb, activity jsonb, acting_user uuid default null)
  returns jsonb
  language plpgsql
  security invoker
  set search_path = ''
  as $$
  declare
    owner uuid := groqgen.acting_user(acting_user);
    stored public.projects;
  begin
    if owner is not null and project ->> 'user_id' is not null
       and (project ->> 'user_id')::uuid <> owner then
      raise exception using errcode = '42501',
        message = 'create_project: the project names another user than the one acting';
    end if;
    insert into public.projects (id, name, description, user_id)
    values (
      coalesce((project ->> 'id')::uuid, gen_random_uuid()),
      project ->> 'name',
      project ->> 'description',
      coalesce((project ->> 'user_id')::uuid, owner)
    )
    returning * into stored;
    perform groqgen.log_project_activity(stored, 'project_created', 'Created a project', activity);
    return to_jsonb(stored);
  end
  $$;

create function public.update_project(id uuid, changes jsonb, activity jsonb, acting_user uuid default null)
  returns jsonb
  language plpgsql
  security invoker
  set search_path = ''
  as $$
  declare
    owner uuid := groqgen.acting_user(acting_user);
    stored public.projects;
  begin
    update public.projects p set
      name = case when changes ? 'name' then changes ->> 'name' else p.name end,
      description = case when changes ? 'description' then changes ->> 'description' else p.description end
    where p.id = update_project.id and (owner is null or p.user_id = owner)
    returning * into stored;
    if not found then
      return null;
    end if;
    perform groqgen.log_project_activity(stored, 'project_updated', 'Updated a project', activity);
    return to_jsonb(stored);
  end
  $$;

create function public.delete_project(id uuid, activity jsonb, acting_user uuid default null)
  returns jsonb
  language plpgsql
  security invoker
  set search_path = ''
  as $$
  declare
    owner uuid := groqgen.acting_user(acting_user);
    stored public.projects;
  begin
    -- The entry goes in first, while the project can still be named; deleting the project then
    -- clears the entry's project_id through the foreign key.
    select * into stored from public.projects p
      where p.id = delete_project.id and (owner is null or p.user_id = owner);
    if not found then
      return null;
    end if;
    perform groqgen.log_project_activity(stored, 'project_deleted', 'Deleted a project', activity);
    delete from public.projects p where p.id = delete_project.id and p.user_id = stored.user_id;
    if not found then
      raise exception using errcode = '42501',
        message = 'delete_project: the project is visible but may not be deleted';
    end if;
    return to_jsonb(stored);
  end
  $$;

-- Grants: the same as the functions replaced (Supabase's default privileges would hand new
-- functions to anon).
revoke all on function public.record_generation(text, jsonb, jsonb, uuid) from public, anon;
revoke all on function public.resource_counts(uuid, uuid) from public, anon;
revoke all on function public.create_project(jsonb, jsonb, uuid) from public, anon;
revoke all on function public.update_project(uuid, jsonb, jsonb, uuid) from public, anon;
revoke all on function public.delete_project(uuid, jsonb, uuid) from public, anon;
grant execute on function public.record_generation(text, jsonb, jsonb, uuid) to authenticated, service_role;
grant execute on function public.resource_counts(uuid, uuid) to authenticated, service_role;
grant execute on function public.create_project(jsonb, jsonb, uuid) to authenticated, service_role;
grant execute on function public.update_project(uuid, jsonb, jsonb, uuid) to authenticated, service_role;
grant execute on function public.delete_project(uuid, jsonb, uuid) to authenticated, service_role;

-- PostgREST (Supabase) reloads its schema cache to see the new signatures.
notify pgrst, 'reload schema';

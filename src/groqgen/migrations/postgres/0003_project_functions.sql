-- groqgen 0003: project writes and their activity entries in one call.
--
-- Over PostgREST every request is its own transaction, so "insert the project, then log
-- project_created" as two requests could leave a project without its entry. These functions
-- do both in one transaction, callable as RPC (POST /rest/v1/rpc/create_project) or over a
-- direct connection. security invoker: row-level security applies as for plain writes.
-- Each returns the project row (as JSON), or null when no project of the caller's matched.

create or replace function groqgen.log_project_activity(
  stored public.projects, activity_type text, description text, activity jsonb
) returns void
  language sql
  security invoker
  set search_path = ''
  as $$
    -- The entry of a project write: defaults from the project, overridden by the caller's
    -- fields (id, description, metadata, ...).
    insert into public.activity_logs
      select * from jsonb_populate_record(
        null::public.activity_logs,
        jsonb_build_object(
          'id', gen_random_uuid(), 'user_id', stored.user_id, 'project_id', stored.id,
          'activity_type', activity_type, 'description', description,
          'metadata', '{}'::jsonb, 'created_at', now()
        ) || coalesce(activity, '{}'::jsonb)
      );
  $$;
revoke all on function groqgen.log_project_activity(public.projects, text, text, jsonb) from public, anon;
grant execute on function groqgen.log_project_activity(public.projects, text, text, jsonb) to authenticated, service_role;

create or replace function public.create_project(project jsonb, activity jsonb)
  returns jsonb
  language plpgsql
  security invoker
  set search_path = ''
  as $$
  declare
    stored public.projects;
  begin
    insert into public.projects (id, name, description, user_id)
    values (
      coalesce((project ->> 'id')::uuid, gen_random_uuid()),
      project ->> 'name',
      project ->> 'description',
      coalesce((project ->> 'user_id')::uuid, auth.uid())
    )
    returning * into stored;
    perform groqgen.log_project_activity(stored, 'project_created', 'Created a project', activity);
    return to_jsonb(stored);
  end
  $$;

create or replace function public.update_project(id uuid, changes jsonb, activity jsonb)
  returns jsonb
  language plpgsql
  security invoker
  set search_path = ''
  as $$
  declare
    stored public.projects;
  begin
    update public.projects p set
      name = case when changes ? 'name' then changes ->> 'name' else p.name end,
      description = case when changes ? 'description' then changes ->> 'description' else p.description end
    where p.id = update_project.id
    returning * into stored;
    if not found then
      return null;
    end if;
    perform groqgen.log_project_activity(stored, 'project_updated', 'Updated a project', activity);
    return to_jsonb(stored);
  end
  $$;

create or replace function public.delete_project(id uuid, activity jsonb)
  returns jsonb
  language plpgsql
  security invoker
  set search_path = ''
  as $$
  declare
    stored public.projects;
  begin
    -- The entry goes in first, while the project can still be named; deleting the project then
    -- clears the entry's project_id through the foreign key.
    select * into stored from public.projects p where p.id = delete_project.id;
    if not found then
      return null;
    end if;
    perform groqgen.log_project_activity(stored, 'project_deleted', 'Deleted a project', activity);
    delete from public.projects p where p.id = delete_project.id;
    if not found then
      raise exception using errcode = '42501',
        message = 'delete_project: the project is visible but may not be deleted';
    end if;
    return to_jsonb(stored);
  end
  $$;

revoke all on function public.create_project(jsonb, jsonb) from public, anon;
revoke all on function public.update_project(uuid, jsonb, jsonb) from public, anon;
revoke all on function public.delete_project(uuid, jsonb) from public, anon;
grant execute on function public.create_project(jsonb, jsonb) to authenticated, service_role;
grant execute on function public.update_project(uuid, jsonb, jsonb) to authenticated, service_role;
grant execute on function public.delete_project(uuid, jsonb) to authenticated, service_role;

-- groqgen embedded store, schema version 2: usage figures decoded once, when an entry is written.
-- The same design as PostgreSQL's migration 0005: one narrow row per generation activity entry,
-- kept in step with activity_logs by triggers, read by the usage report through one covering
-- index. A figure that is missing or not a whole non-negative number is unknown (null); token
-- counts are all null unless both prompt and completion tokens are known.

create table usage_entries (
  id text primary key references activity_logs(id) on delete cascade,
  user_id text not null,
  project_id text references projects(id) on delete set null,
  created_at text not null,
  activity_type text not null,
  model text,
  batch integer not null default 0,
  prompt_tokens integer,
  completion_tokens integer,
  total_tokens integer,
  reasoning_tokens integer,
  cached_tokens integer,
  groq_time_s real
);

create index usage_entries_user_created_idx on usage_entries (
  user_id, created_at, activity_type, project_id, model, batch, prompt_tokens, completion_tokens,
  total_tokens, reasoning_tokens, cached_tokens, groq_time_s
);

-- The figures of each generation activity entry, column for column as usage_entries holds them.
create view usage_entry_figures as
  select id, user_id, project_id, created_at, activity_type, model, batch,
    case when known then pt end as prompt_tokens,
    case when known then ct end as completion_tokens,
    case when known then coalesce(tt, pt + ct) end as total_tokens,
    case when known then coalesce(rt, 0) end as reasoning_tokens,
    case when known then min(coalesce(cached, 0), pt) end as cached_tokens,
    seconds as groq_time_s
  from (
    select *, pt is not null and ct is not null as known
    from (
      select id, user_id, project_id, created_at, activity_type,
        case when json_type(m, '$.model') = 'text'
          then substr(json_extract(m, '$.model'), 1, 200) end as model,
        coalesce(json_type(m, '$.batch') = 'true', 0) as batch,
        case when json_type(m, '$.prompt_tokens') = 'integer'
          and json_extract(m, '$.prompt_tokens') >= 0 then json_extract(m, '$.prompt_tokens') end as pt,
        case when json_type(m, '$.completion_tokens') = 'integer'
          and json_extract(m, '$.completion_tokens') >= 0 then json_extract(m, '$.completion_tokens') end as ct,
        case when json_type(m, '$.total_tokens') = 'integer'
          and json_extract(m, '$.total_tokens') >= 0 then json_extract(m, '$.total_tokens') end as tt,
        case when json_type(m, '$.reasoning_tokens') = 'integer'
          and json_extract(m, '$.reasoning_tokens') >= 0 then json_extract(m, '$.reasoning_tokens') end as rt,
        case when json_type(m, '$.cached_tokens') = 'integer'
          and json_extract(m, '$.cached_tokens') >= 0 then json_extract(m, '$.cached_tokens') end as cached,
        case when json_type(m, '$.total_time') in ('integer', 'real')
          and json_extract(m, '$.total_time') >= 0 then json_extract(m, '$.total_time') end as seconds
      from (
        select *, case when json_type(metadata) = 'object' then metadata end as m
        from activity_logs
        where activity_type in ('prompt_generation', 'code_generation', 'code_review', 'test_generation')
      )
    )
  );

create trigger activity_logs_usage_insert after insert on activity_logs
begin
  insert or ignore into usage_entries select * from usage_entry_figures where id = new.id;
end;

create trigger activity_logs_usage_update
  after update of user_id, project_id, activity_type, metadata, created_at on activity_logs
begin
  delete from usage_entries where id = old.id;
  insert or ignore into usage_entries select * from usage_entry_figures where id = new.id;
end;

insert or ignore into usage_entries select * from usage_entry_figures;

-- The web app's tables as the seed (DATABASE.md) creates them: every column, its type and
-- whether it is NOT NULL. groqgen's 0002_schema.sql keeps exactly these, so a database whose
-- seven tables match can be adopted in place.
--
-- The query answers one row per difference between the database's public tables and this
-- list (none: the web app's schema): table_name, column_name and what differs.

with seed (table_name, column_name, column_type, not_null) as (values
  ('profiles', 'id', 'uuid', true),
  ('profiles', 'email', 'character varying', true),
  ('profiles', 'full_name', 'character varying', false),
  ('profiles', 'avatar_url', 'character varying', false),
  ('profiles', 'created_at', 'timestamp with time zone', true),
  ('profiles', 'updated_at', 'timestamp with time zone', true),
  ('projects', 'id', 'uuid', true),
  ('projects', 'name', 'character varying', true),
  ('projects', 'description', 'character varying', false),
  ('projects', 'user_id', 'uuid', true),
  ('projects', 'created_at', 'timestamp with time zone', true),
  ('projects', 'updated_at', 'timestamp with time zone', true),
  ('prompts', 'id', 'uuid', true),
  ('prompts', 'topic', 'character varying', true),
  ('prompts', 'prompt_type', 'character varying', true),
  ('prompts', 'tone', 'character varying', true),
  ('prompts', 'length', 'integer', true),
  ('prompts', 'additional_context', 'character varying', false),
  ('prompts', 'model', 'character varying', true),
  ('prompts', 'generated_prompt', 'character varying', true),
  ('prompts', 'user_id', 'uuid', true),
  ('prompts', 'project_id', 'uuid', false),
  ('prompts', 'created_at', 'timestamp with time zone', true),
  ('code_generations', 'id', 'uuid', true),
  ('code_generations', 'description', 'character varying', true),
  ('code_generations', 'language', 'character varying', true),
  ('code_generations', 'framework', 'character varying', true),
  ('code_generations', 'model', 'character varying', true),
  ('code_generations', 'additional_context', 'character varying', false),
  ('code_generations', 'generated_code', 'character varying', true),
  ('code_generations', 'user_id', 'uuid', true),
  ('code_generations', 'project_id', 'uuid', false),
  ('code_generations', 'created_at', 'timestamp with time zone', true),
  ('code_reviews', 'id', 'uuid', true),
  ('code_reviews', 'code', 'character varying', true),
  ('code_reviews', 'language', 'character varying', true),
  ('code_reviews', 'review_type', 'character varying', true),
  ('code_reviews', 'model', 'character varying', true),
  ('code_reviews', 'review_result', 'character varying', true),
  ('code_reviews', 'user_id', 'uuid', true),
  ('code_reviews', 'project_id', 'uuid', false),
  ('code_reviews', 'created_at', 'timestamp with time zone', true),
  ('tests', 'id', 'uuid', true),
  ('tests', 'code', 'character varying', true),
  ('tests', 'language', 'character varying', true),
  ('tests', 'framework', 'character varying', true),
  ('tests', 'test_types', 'character varying[]', true),
  ('tests', 'coverage', 'character varying', true),
  ('tests', 'model', 'character varying', true),
  ('tests', 'additional_context', 'character varying', false),
  ('tests', 'generated_tests', 'character varying', true),
  ('tests', 'user_id', 'uuid', true),
  ('tests', 'project_id', 'uuid', false),
  ('tests', 'created_at', 'timestamp with time zone', true),
  ('activity_logs', 'id', 'uuid', true),
  ('activity_logs', 'user_id', 'uuid', true),
  ('activity_logs', 'project_id', 'uuid', false),
  ('activity_logs', 'activity_type', 'character varying', true),
  ('activity_logs', 'description', 'character varying', true),
  ('activity_logs', 'metadata', 'jsonb', false),
  ('activity_logs', 'created_at', 'timestamp with time zone', true)
),
found as (
  select c.relname::text as table_name, a.attname::text as column_name,
         format_type(a.atttypid, a.atttypmod) as column_type, a.attnotnull as not_null
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  where n.nspname = 'public' and c.relkind = 'r'
    and c.relname in (select table_name from seed)
),
present as (
  select distinct table_name from found
)
select coalesce(s.table_name, f.table_name) as table_name,
       coalesce(s.column_name, f.column_name) as column_name,
       case
         when s.table_name not in (select table_name from present) then 'table missing'
         when f.column_name is null then 'column missing'
         when s.column_name is null then 'column not in the web app''s schema'
         when f.column_type <> s.column_type then format('is %s, not %s', f.column_type, s.column_type)
         when f.not_null and not s.not_null then 'is NOT NULL, the web app''s schema allows null'
         else 'allows null, the web app''s schema has NOT NULL'
       end as difference
from seed s
full join found f on f.table_name = s.table_name and f.column_name = s.column_name
where s.column_name is null or f.column_name is null
   or f.column_type <> s.column_type or f.not_null <> s.not_null
order by 1, 2

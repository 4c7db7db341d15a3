-- groqgen adoption, in place of 0002's "create table": the web app's seven tables take
-- groqgen's keys, rules and defaults without a row being read or rewritten.
--
-- Runs inside the adoption's one short transaction, once the seven tables are locked. Every
-- rule is added NOT VALID: PostgreSQL enforces it for each new write from this commit on, and
-- checks the existing rows only when asked (VALIDATE CONSTRAINT, one table scan that does not
-- block writes). A legacy row that breaks a rule is kept as it is and reported by
-- `groqgen db check`; `groqgen db repair` fixes it. Names, definitions and actions are the
-- ones 0002_schema.sql gives the same constraints, so the result is a fresh install's.
--
-- A rule the seed has already (its user_id keys) is replaced too, and so checked again: a row
-- restored with triggers off (pg_restore --disable-triggers) can break a key PostgreSQL still
-- calls valid. Re-running this (an adoption interrupted after this step) is harmless: the
-- adoption validates every rule again.

do $reshape$
declare
  rule record;
  stale record;
begin
  -- Ids: the built-in gen_random_uuid(), not uuid-ossp's uuid_generate_v4() (gap 9).
  alter table public.projects alter column id set default gen_random_uuid();
  alter table public.prompts alter column id set default gen_random_uuid();
  alter table public.code_generations alter column id set default gen_random_uuid();
  alter table public.code_reviews alter column id set default gen_random_uuid();
  alter table public.tests alter column id set default gen_random_uuid();
  alter table public.activity_logs alter column id set default gen_random_uuid();

  -- (id, user_id) of projects is unique: the target of the (project_id, user_id) keys. Its
  -- index was built beforehand, concurrently; attaching it does not read the table.
  if not exists (
    select 1 from pg_catalog.pg_constraint
    where conrelid = 'public.projects'::regclass and conname = 'projects_id_user_id_key'
  ) then
    alter table public.projects
      add constraint projects_id_user_id_key unique using index projects_id_user_id_key;
  end if;

  -- The seed's project keys name project_id alone: a row could sit in another user's project
  -- (gap 2). They give way to the (project_id, user_id) keys below.
  for stale in
    select c.conrelid::regclass as table_name, c.conname
    from pg_catalog.pg_constraint c
    where c.contype = 'f'
      and c.confrelid = 'public.projects'::regclass
      and cardinality(c.conkey) = 1
      and c.conrelid in ('public.prompts'::regclass, 'public.code_generations'::regclass,
                         'public.code_reviews'::regclass, 'public.tests'::regclass,
                         'public.activity_logs'::regclass)
  loop
    execute format('alter table %s drop constraint %I', stale.table_name, stale.conname);
  end loop;

  -- groqgen's rules, replacing any constraint of the same name.
  for rule in select * from (values
    ('profiles', 'profiles_id_fkey', 'FOREIGN KEY (id) REFERENCES auth.users(id) ON DELETE CASCADE'),
    ('profiles', 'profiles_email_check', 'CHECK (char_length(email) <= 320)'),
    ('profiles', 'profiles_full_name_check', 'CHECK (char_length(full_name) <= 200)'),
    ('profiles', 'profiles_avatar_url_check', 'CHECK (char_length(avatar_url) <= 2048)'),
    ('projects', 'projects_name_check', 'CHECK (char_length(name) between 1 and 200)'),
    ('projects', 'projects_description_check', 'CHECK (char_length(description) <= 10000)'),
    ('projects', 'projects_user_id_fkey', 'FOREIGN KEY (user_id) REFERENCES public.profiles(id) ON DELETE CASCADE'),
    ('prompts', 'prompts_topic_check', 'CHECK (char_length(topic) between 1 and 10000)'),
    ('prompts', 'prompts_prompt_type_check', 'CHECK (char_length(prompt_type) between 1 and 100)'),
    ('prompts', 'prompts_tone_check', 'CHECK (char_length(tone) between 1 and 100)'),
    ('prompts', 'prompts_length_check', 'CHECK (length between 10 and 100)'),
    ('prompts', 'prompts_additional_context_check', 'CHECK (char_length(additional_context) <= 100000)'),
    ('prompts', 'prompts_model_check', 'CHECK (char_length(model) between 1 and 100)'),
    ('prompts', 'prompts_generated_prompt_check', 'CHECK (char_length(generated_prompt) <= 500000)'),
    ('prompts', 'prompts_user_id_fkey', 'FOREIGN KEY (user_id) REFERENCES public.profiles(id) ON DELETE CASCADE'),
    ('prompts', 'prompts_project_id_user_id_fkey', 'FOREIGN KEY (project_id, user_id) REFERENCES public.projects(id, user_id) ON DELETE SET NULL (project_id)'),
    ('code_generations', 'code_generations_description_check', 'CHECK (char_length(description) between 1 and 10000)'),
    ('code_generations', 'code_generations_language_check', 'CHECK (char_length(language) between 1 and 100)'),
    ('code_generations', 'code_generations_framework_check', 'CHECK (char_length(framework) between 1 and 100)'),
    ('code_generations', 'code_generations_model_check', 'CHECK (char_length(model) between 1 and 100)'),
    ('code_generations', 'code_generations_additional_context_check', 'CHECK (char_length(additional_context) <= 100000)'),
    ('code_generations', 'code_generations_generated_code_check', 'CHECK (char_length(generated_code) <= 500000)'),
    ('code_generations', 'code_generations_user_id_fkey', 'FOREIGN KEY (user_id) REFERENCES public.profiles(id) ON DELETE CASCADE'),
    ('code_generations', 'code_generations_project_id_user_id_fkey', 'FOREIGN KEY (project_id, user_id) REFERENCES public.projects(id, user_id) ON DELETE SET NULL (project_id)'),
    ('code_reviews', 'code_reviews_code_check', 'CHECK (char_length(code) between 1 and 500000)'),
    ('code_reviews', 'code_reviews_language_check', 'CHECK (char_length(language) between 1 and 100)'),
    ('code_reviews', 'code_reviews_review_type_check', 'CHECK (char_length(review_type) between 1 and 100)'),
    ('code_reviews', 'code_reviews_model_check', 'CHECK (char_length(model) between 1 and 100)'),
    ('code_reviews', 'code_reviews_review_result_check', 'CHECK (char_length(review_result) <= 500000)'),
    ('code_reviews', 'code_reviews_user_id_fkey', 'FOREIGN KEY (user_id) REFERENCES public.profiles(id) ON DELETE CASCADE'),
    ('code_reviews', 'code_reviews_project_id_user_id_fkey', 'FOREIGN KEY (project_id, user_id) REFERENCES public.projects(id, user_id) ON DELETE SET NULL (project_id)'),
    ('tests', 'tests_code_check', 'CHECK (char_length(code) between 1 and 500000)'),
    ('tests', 'tests_language_check', 'CHECK (char_length(language) between 1 and 100)'),
    ('tests', 'tests_framework_check', 'CHECK (char_length(framework) between 1 and 100)'),
    ('tests', 'tests_test_types_check', 'CHECK (groqgen.labels_ok(test_types))'),
    ('tests', 'tests_coverage_check', 'CHECK (char_length(coverage) between 1 and 100)'),
    ('tests', 'tests_model_check', 'CHECK (char_length(model) between 1 and 100)'),
    ('tests', 'tests_additional_context_check', 'CHECK (char_length(additional_context) <= 100000)'),
    ('tests', 'tests_generated_tests_check', 'CHECK (char_length(generated_tests) <= 500000)'),
    ('tests', 'tests_user_id_fkey', 'FOREIGN KEY (user_id) REFERENCES public.profiles(id) ON DELETE CASCADE'),
    ('tests', 'tests_project_id_user_id_fkey', 'FOREIGN KEY (project_id, user_id) REFERENCES public.projects(id, user_id) ON DELETE SET NULL (project_id)'),
    ('activity_logs', 'activity_logs_activity_type_check', 'CHECK (char_length(activity_type) between 1 and 100)'),
    ('activity_logs', 'activity_logs_description_check', 'CHECK (char_length(description) <= 10000)'),
    ('activity_logs', 'activity_logs_metadata_check', 'CHECK (octet_length(metadata::text) <= 65536)'),
    ('activity_logs', 'activity_logs_user_id_fkey', 'FOREIGN KEY (user_id) REFERENCES public.profiles(id) ON DELETE CASCADE'),
    ('activity_logs', 'activity_logs_project_id_user_id_fkey', 'FOREIGN KEY (project_id, user_id) REFERENCES public.projects(id, user_id) ON DELETE SET NULL (project_id)')
  ) as r (table_name, name, definition)
  loop
    if exists (
      select 1 from pg_catalog.pg_constraint c
      where c.conrelid = format('public.%I', rule.table_name)::regclass and c.conname = rule.name
    ) then
      execute format('alter table public.%I drop constraint %I', rule.table_name, rule.name);
    end if;
    execute format('alter table public.%I add constraint %I %s not valid',
                   rule.table_name, rule.name, rule.definition);
  end loop;

  -- Policies: groqgen's replace every policy on the seven tables. Policies are OR-ed, so a
  -- leftover permissive one (an owner-only insert that lets a row name another user's project)
  -- would reopen what groqgen's close.
  for stale in
    select p.tablename, p.policyname
    from pg_catalog.pg_policies p
    where p.schemaname = 'public'
      and p.tablename in ('profiles', 'projects', 'prompts', 'code_generations',
                          'code_reviews', 'tests', 'activity_logs')
  loop
    execute format('drop policy %I on public.%I', stale.policyname, stale.tablename);
  end loop;
end
$reshape$;

-- groqgen embedded store, schema version 1: the same tables as PostgreSQL, for one local user.
-- Ids are canonical lowercase UUID text; timestamps are fixed-width ISO 8601 UTC text with
-- microseconds (so text order is time order); arrays and JSON are JSON text.

create table profiles (
  id text primary key,
  email text not null unique,
  full_name text,
  avatar_url text,
  created_at text not null,
  updated_at text not null
);

create table projects (
  id text primary key,
  name text not null check (length(name) between 1 and 200),
  description text,
  user_id text not null references profiles(id) on delete cascade,
  created_at text not null,
  updated_at text not null
);

create table prompts (
  id text primary key,
  topic text not null,
  prompt_type text not null,
  tone text not null,
  length integer not null check (length between 10 and 100),
  additional_context text,
  model text not null,
  generated_prompt text not null,
  user_id text not null references profiles(id) on delete cascade,
  project_id text references projects(id) on delete set null,
  created_at text not null
);

create table code_generations (
  id text primary key,
  description text not null,
  language text not null,
  framework text not null,
  model text not null,
  additional_context text,
  generated_code text not null,
  user_id text not null references profiles(id) on delete cascade,
  project_id text references projects(id) on delete set null,
  created_at text not null
);

create table code_reviews (
  id text primary key,
  code text not null,
  language text not null,
  review_type text not null,
  model text not null,
  review_result text not null,
  user_id text not null references profiles(id) on delete cascade,
  project_id text references projects(id) on delete set null,
  created_at text not null
);

create table tests (
  id text primary key,
  code text not null,
  language text not null,
  framework text not null,
  test_types text not null check (json_valid(test_types) and json_type(test_types) = 'array'),
  coverage text not null,
  model text not null,
  additional_context text,
  generated_tests text not null,
  user_id text not null references profiles(id) on delete cascade,
  project_id text references projects(id) on delete set null,
  created_at text not null
);

create table activity_logs (
  id text primary key,
  user_id text not null references profiles(id) on delete cascade,
  project_id text references projects(id) on delete set null,
  activity_type text not null,
  description text not null,
  metadata text check (metadata is null or json_valid(metadata)),
  created_at text not null
);

create index projects_user_created_idx on projects (user_id, created_at desc, id desc);
create index prompts_user_created_idx on prompts (user_id, created_at desc, id desc);
create index prompts_project_created_idx on prompts (project_id, user_id, created_at desc, id desc);
create index code_generations_user_created_idx on code_generations (user_id, created_at desc, id desc);
create index code_generations_project_created_idx on code_generations (project_id, user_id, created_at desc, id desc);
create index code_reviews_user_created_idx on code_reviews (user_id, created_at desc, id desc);
create index code_reviews_project_created_idx on code_reviews (project_id, user_id, created_at desc, id desc);
create index tests_user_created_idx on tests (user_id, created_at desc, id desc);
create index tests_project_created_idx on tests (project_id, user_id, created_at desc, id desc);
create index activity_logs_user_created_idx on activity_logs (user_id, created_at desc, id desc);
create index activity_logs_project_created_idx on activity_logs (project_id, user_id, created_at desc, id desc);

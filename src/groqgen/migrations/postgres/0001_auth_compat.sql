-- groqgen 0001: what Supabase has built in, for a plain PostgreSQL server.
--
-- Provides the roles anon, authenticated and service_role, schema auth with auth.users and
-- auth.uid() (read from request.jwt.claims, the way PostgREST sets it). Where auth.uid()
-- already exists (a Supabase project) the auth schema is left exactly as it is.

do $roles$
begin
  -- Roles are cluster-wide: another database on the same server may have made them already.
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$roles$;

do $auth$
begin
  if to_regprocedure('auth.uid()') is not null then
    raise notice 'groqgen: auth.uid() exists (Supabase); the auth compatibility layer stands aside';
    return;
  end if;

  create schema if not exists auth;

  create table if not exists auth.users (
    id uuid primary key default gen_random_uuid(),
    email varchar(320),
    raw_user_meta_data jsonb not null default '{}'::jsonb,
    raw_app_meta_data jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  );

  -- The same definitions Supabase uses: the caller's identity comes from the JWT claims that
  -- PostgREST (or groqgen's direct store) puts in request.jwt.claims for the transaction.
  create or replace function auth.jwt() returns jsonb
    language sql stable
    as $fn$
      select coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
      )::jsonb
    $fn$;

  create or replace function auth.uid() returns uuid
    language sql stable
    as $fn$
      select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $fn$;

  create or replace function auth.role() returns text
    language sql stable
    as $fn$
      select coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
      )::text
    $fn$;

  revoke all on schema auth from public;
  grant usage on schema auth to anon, authenticated, service_role;
  revoke all on all tables in schema auth from public, anon, authenticated;
  grant all on auth.users to service_role;
end
$auth$;

-- A profile for every user in auth.users that has none, made as the sign-up trigger
-- (groqgen.create_profile_for_new_user, 0002_schema.sql) makes it: the email, the name and
-- avatar from the user's metadata, cut to the column limits. A user whose email another
-- profile already has is skipped here and reported by `groqgen db check`.

insert into public.profiles (id, email, full_name, avatar_url)
select
  u.id,
  coalesce(left(u.email, 320), u.id::text || '@users.invalid'),
  left(nullif(btrim(coalesce(u.raw_user_meta_data ->> 'full_name', u.raw_user_meta_data ->> 'name', '')), ''), 200),
  left(nullif(btrim(coalesce(u.raw_user_meta_data ->> 'avatar_url', '')), ''), 2048)
from auth.users u
where not exists (select 1 from public.profiles p where p.id = u.id)
on conflict do nothing

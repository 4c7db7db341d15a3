-- groqgen adoption: the indexes a fresh install has, built before anything else changes.
--
-- `groqgen db migrate` builds each one CONCURRENTLY, outside any transaction: PostgreSQL then
-- reads the table without blocking its writers. The composite indexes are the ones in
-- 0002_schema.sql (section "Indexes"); this one is the index behind 0002's
-- `unique (id, user_id)` on projects, attached as that constraint when the tables switch.

create unique index projects_id_user_id_key on public.projects (id, user_id);

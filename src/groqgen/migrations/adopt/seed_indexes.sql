-- The seed's single-column indexes on the seven tables (user_id, project_id, activity_type,
-- created_at), whatever they are called: groqgen's composite indexes serve every query they
-- served, in the order the lists need, so they are dropped once those exist.

select format('%I.%I', n.nspname, ic.relname) as index_name
from pg_catalog.pg_index i
join pg_catalog.pg_class ic on ic.oid = i.indexrelid
join pg_catalog.pg_class t on t.oid = i.indrelid
join pg_catalog.pg_namespace n on n.oid = t.relnamespace
join pg_catalog.pg_attribute a on a.attrelid = t.oid and a.attnum = i.indkey[0]
where n.nspname = 'public'
  and t.relname in ('profiles', 'projects', 'prompts', 'code_generations', 'code_reviews',
                    'tests', 'activity_logs')
  and i.indnatts = 1
  and not i.indisunique
  and i.indexprs is null
  and i.indpred is null
  and ic.relam = (select oid from pg_catalog.pg_am where amname = 'btree')
  and a.attname in ('user_id', 'project_id', 'activity_type', 'created_at')
order by 1

-- Recall search (conversation_search): ranked full-text first, then a trigram match for names and
-- typos ("Jonh" finds "John", "Bjorn" finds "Bjørn"). Both indexes lead with agent_id, so a search
-- reads one agent's postings however many agents share the table.
--
-- pg_trgm, btree_gin (agent_id inside a GIN index) and unaccent are contrib extensions that
-- Debian's PostgreSQL and PGlite ship. Where one cannot be created (not installed, no permission)
-- the migration still succeeds, with a notice, and the search does without it: without pg_trgm
-- the fallback is a substring match (ILIKE), without btree_gin the indexes leave agent_id out,
-- without unaccent accents count as written.

DO $$
DECLARE
  ext text;
BEGIN
  FOREACH ext IN ARRAY ARRAY['pg_trgm', 'btree_gin', 'unaccent'] LOOP
    BEGIN
      EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I', ext);
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'memloom: extension % is not available (%); conversation_search works without it', ext, SQLERRM;
    END;
  END LOOP;
END $$;

-- The text the fallback compares: the message with its accents removed where unaccent exists, so
-- "Bjorn" finds "Bjørn" and "Jose" finds "José" (pg_trgm ignores case). unaccent() is only stable;
-- this wrapper names its dictionary with the schema, which makes it safe to declare immutable and
-- to index (the usual recipe). Without unaccent it returns the text as it is.
DO $$
DECLARE
  unaccent_schema text;
BEGIN
  SELECT n.nspname INTO unaccent_schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent';
  IF unaccent_schema IS NULL THEN
    CREATE FUNCTION memloom_fold_accents(t text) RETURNS text
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT t';
  ELSE
    EXECUTE format(
      'CREATE FUNCTION memloom_fold_accents(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS %L',
      format('SELECT %I.unaccent(%L::regdictionary, t)', unaccent_schema, format('%I.unaccent', unaccent_schema)));
  END IF;
END $$;

DO $$
DECLARE
  agent_key text := '';
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'btree_gin') THEN
    agent_key := 'agent_id, ';
    -- the expression of messages_fts_idx, which it replaces, behind agent_id
    CREATE INDEX messages_recall_fts_idx ON messages
      USING gin (agent_id, to_tsvector('english', coalesce(content, '')));
    DROP INDEX messages_fts_idx;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    EXECUTE format('CREATE INDEX messages_recall_trgm_idx ON messages USING gin (%s memloom_fold_accents(content) gin_trgm_ops)', agent_key);
  END IF;
END $$;

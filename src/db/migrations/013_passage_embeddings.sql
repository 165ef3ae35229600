-- Archival memory with embeddings. One schema whether or not pgvector exists: each passage keeps
-- its vector as real[] (unit length, so cosine similarity is a dot product), the model that made
-- it, and its dimension; NULL for an agent without an embedding_config.
--
-- Where the `vector` extension can be created (PGlite in `memloom dev`, the pgvector image of
-- docker-compose), search orders by `embedding::vector(<dim>) <=> query` over a partial HNSW
-- index per dimension, made by memloom_ensure_passage_index when the first passage of that
-- dimension is written. Elsewhere the migration still succeeds, with a notice, and search is an
-- exact scan with memloom_dot.

ALTER TABLE passages
  ADD COLUMN embedding       real[],
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_dim   integer GENERATED ALWAYS AS (cardinality(embedding)) STORED,
  ADD CONSTRAINT passages_embedding_model_check CHECK ((embedding IS NULL) = (embedding_model IS NULL)),
  ADD CONSTRAINT passages_embedding_shape_check
    CHECK (embedding IS NULL OR (array_ndims(embedding) = 1 AND array_position(embedding, NULL) IS NULL));

-- The full-text list keeps its substring fallback (`text ILIKE '%query%'`), which without an index
-- reads every passage of the agent: a trigram index answers it where pg_trgm exists (migration 012
-- creates it when it can), led by agent_id where btree_gin exists too.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    EXECUTE format('CREATE INDEX passages_text_trgm_idx ON passages USING gin (%s text gin_trgm_ops)',
      CASE WHEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'btree_gin') THEN 'agent_id,' ELSE '' END);
  END IF;
END $$;

-- The exact scan: the dot product of two vectors of one dimension (cosine similarity of unit
-- vectors). A PL/pgSQL loop: about twice as fast as `sum(x * y) FROM unnest(a, b)` per row.
CREATE FUNCTION memloom_dot(a real[], b real[]) RETURNS double precision
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  AS $$
DECLARE
  s double precision := 0;
BEGIN
  FOR i IN 1 .. least(cardinality(a), cardinality(b)) LOOP
    s := s + a[i]::double precision * b[i];
  END LOOP;
  RETURN s;
END $$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    RAISE NOTICE 'memloom: the pgvector extension is not installed; archival search is an exact scan';
  ELSE
    BEGIN
      CREATE EXTENSION IF NOT EXISTS vector;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'memloom: the pgvector extension could not be created (%); archival search is an exact scan', SQLERRM;
    END;
  END IF;
END $$;

-- Makes the HNSW cosine index of one dimension, once: `vector` up to 2000 dimensions, `halfvec`
-- up to 4000 (what pgvector's HNSW indexes), none beyond (search scans exactly) or without
-- pgvector. Returns whether the dimension has an index. Safe under concurrency: creators of one
-- dimension queue on an advisory lock, and a duplicate made meanwhile is not an error. Call it
-- before writing passages in a transaction (CREATE INDEX takes a SHARE lock on passages).
-- The thresholds match vectorType in src/db/passage-store.ts.
CREATE FUNCTION memloom_ensure_passage_index(dim integer) RETURNS boolean
  LANGUAGE plpgsql
  AS $$
DECLARE
  index_name text := 'passages_embedding_hnsw_' || dim;
  vector_type text := CASE WHEN dim <= 2000 THEN 'vector' ELSE 'halfvec' END;
BEGIN
  IF dim IS NULL OR dim < 1 OR dim > 4000 OR NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
    RETURN false;
  END IF;
  IF to_regclass(index_name) IS NOT NULL THEN
    RETURN true;
  END IF;
  PERFORM pg_advisory_xact_lock(7236114, dim);
  BEGIN
    EXECUTE format(
      'CREATE INDEX IF NOT EXISTS %I ON passages USING hnsw ((embedding::%s(%s)) %s) WHERE embedding_dim = %s',
      index_name, vector_type, dim, vector_type || '_cosine_ops', dim);
  EXCEPTION WHEN unique_violation OR duplicate_table THEN
    NULL; -- another session made it first
  END;
  RETURN true;
END $$;

-- Dimensions already stored (a database restored or copied before this migration ran).
SELECT memloom_ensure_passage_index(d)
FROM (SELECT DISTINCT embedding_dim AS d FROM passages WHERE embedding_dim IS NOT NULL) AS dims;

-- Archival memory at 100,000 passages an agent (measured by bench/archival-search.ts).
--
-- Tags. A tag filter that keeps few passages (`archival search --tag`, the `tags` of
-- archival_memory_search) reads them from this index instead of testing every passage of the
-- agent. With pgvector the planner then ranks those few by exact distance, where it used to walk
-- the HNSW graph past thousands of neighbours the filter drops (a tag on 1% of 100,000 passages:
-- p50 230 ms before, about 20 ms with it); without pgvector the exact scan computes the dot
-- product of those few only. Led by agent_id where btree_gin exists (migration 012 creates it
-- when it can), like the other GIN indexes of passages.
DO $$
BEGIN
  EXECUTE format('CREATE INDEX passages_tags_idx ON passages USING gin (%s tags)',
    CASE WHEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'btree_gin') THEN 'agent_id,' ELSE '' END);
END $$;

-- Re-embedding (src/db/reembed-store.ts). The passages of an agent without a vector of its
-- current model are the ranges of this index around (model, dimension): no vector (NULL), a model
-- sorting before or after it, the model at another dimension. A batch reads `limit` entries of
-- those ranges, not every passage of the agent; the counts of progress read the index alone.
-- Few distinct keys per agent, so btree deduplication keeps it small.
CREATE INDEX passages_embedding_model_idx ON passages (agent_id, embedding_model, embedding_dim);

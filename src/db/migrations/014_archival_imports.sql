-- Archival imports: a document chunked by the client, staged here in one transaction, then
-- embedded and committed to `passages` by the workflow `archival-import/<id>`. The id derives
-- from the agent, the content and the chunk settings, so importing the same document again
-- finds its import. Staged chunks are deleted once committed (or once the import failed):
-- nothing half-inserted ever reaches `passages`.
CREATE TABLE archival_imports (
  id                 text PRIMARY KEY,
  agent_id           text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  -- running, done, failed
  status             text NOT NULL DEFAULT 'running',
  -- the file's name (no folder), or null for text given directly
  source             text,
  content_sha256     text NOT NULL,
  bytes              integer NOT NULL,
  chunk_size         integer NOT NULL,
  chunk_overlap      integer NOT NULL,
  total_chunks       integer NOT NULL,
  embedded_chunks    integer NOT NULL DEFAULT 0,
  -- the agent's embedding model when staged; null: no embedding_config, passages without vectors
  embedding_model    text,
  tags               text[] NOT NULL DEFAULT '{}',
  inserted_passages  integer,
  error_type         text,
  error              text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  finished_at        timestamptz
);
CREATE INDEX archival_imports_agent_idx ON archival_imports (agent_id, created_at DESC);

CREATE TABLE archival_import_chunks (
  import_id        text NOT NULL REFERENCES archival_imports (id) ON DELETE CASCADE,
  idx              integer NOT NULL,
  text             text NOT NULL,
  -- unit length; null until embedded
  embedding        real[],
  embedding_model  text,
  PRIMARY KEY (import_id, idx)
);

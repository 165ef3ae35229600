-- The user tools that workers register, published so that every worker can offer them to the
-- model and route their calls to a worker that has them (task_queue), and so that an agent
-- naming a tool no worker registers can be told so.
CREATE TABLE tools (
  name        text PRIMARY KEY,
  description text NOT NULL,
  parameters  jsonb NOT NULL,
  timeout_ms  integer NOT NULL CHECK (timeout_ms > 0),
  task_queue  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

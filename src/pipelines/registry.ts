/**
 * The pipelines a worker runs: the built-ins and those of `--pipelines MODULE`.
 * @module
 */
import { ConfigError } from '../domain/errors.ts';
import type { PipelineDefinition } from './define-pipeline.ts';
import { researchAndWrite } from './research-and-write.ts';

export const BUILT_IN_PIPELINES: readonly PipelineDefinition[] = [researchAndWrite as unknown as PipelineDefinition];

export class PipelineRegistry {
  readonly #byName = new Map<string, PipelineDefinition>();

  constructor(user: readonly PipelineDefinition[] = []) {
    for (const p of [...BUILT_IN_PIPELINES, ...user]) {
      const seen = this.#byName.get(p.name);
      if (seen && seen !== p) throw new ConfigError(`two different pipelines are named "${p.name}"${BUILT_IN_PIPELINES.includes(seen) ? ' (a built-in)' : ''}`);
      this.#byName.set(p.name, p);
    }
  }

  get(name: string): PipelineDefinition | undefined {
    return this.#byName.get(name);
  }

  /** The pipeline, or a ConfigError that says how to register it. */
  require(name: string): PipelineDefinition {
    const p = this.#byName.get(name);
    if (!p) {
      throw new ConfigError(
        `pipeline "${name}" is not registered on this worker (it has ${this.names().join(', ')}): start every worker with --pipelines MODULE of the module that defines it`,
      );
    }
    return p;
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }

  all(): PipelineDefinition[] {
    return [...this.#byName.values()];
  }
}

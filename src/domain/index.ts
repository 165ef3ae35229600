/**
 * Pure domain code: types, schemas, ids, errors, prompt and context assembly. No I/O, safe to
 * import from workflow code.
 * @module
 */
export * from './agent.ts';
export * from './context-window.ts';
export * from './errors.ts';
export * from './ids.ts';
export * from './letta-message.ts';
export * from './llm-config.ts';
export * from './memory-render.ts';
export * from './stored-message.ts';
export * from './turn.ts';
export * from './validation.ts';
export * from './search-attributes.ts';

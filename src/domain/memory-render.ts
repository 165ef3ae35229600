/**
 * Renders core memory blocks into the system prompt, in Letta's layout.
 * @module
 */
import type { Block } from './agent.ts';

/** Where the rendered blocks go when the system prompt asks for them; else they are appended. */
export const CORE_MEMORY_VARIABLE = '{CORE_MEMORY}';

export function renderMemoryBlocks(blocks: readonly Pick<Block, 'label' | 'value' | 'limit' | 'description' | 'read_only'>[]): string {
  const parts = blocks.map((b) =>
    [
      `<${b.label}>`,
      ...(b.description ? [`<description>`, b.description, `</description>`] : []),
      '<metadata>',
      ...(b.read_only ? ['- read_only=true'] : []),
      `- chars_current=${b.value.length}`,
      `- chars_limit=${b.limit}`,
      '</metadata>',
      '<value>',
      b.value,
      '</value>',
      `</${b.label}>`,
    ].join('\n'),
  );
  return [
    '<memory_blocks>',
    'The following memory blocks are currently engaged in your core memory unit:',
    '',
    ...parts,
    '</memory_blocks>',
  ].join('\n');
}

/** The system prompt the model sees: the agent's `system` with its memory blocks. */
export function compileSystemPrompt(system: string, blocks: Parameters<typeof renderMemoryBlocks>[0]): string {
  const memory = renderMemoryBlocks(blocks);
  return system.includes(CORE_MEMORY_VARIABLE)
    ? system.split(CORE_MEMORY_VARIABLE).join(memory)
    : `${system}\n\n${memory}`;
}

/**
 * The scripted model's behaviour in the demo: a tiny rule-based "assistant" that uses memloom's
 * memory tools the way a real model would. It learns the user's name and what they love into the
 * `human` block, and answers questions about them from that block as it appears in the system
 * prompt — so its answers really come from memory, not from the conversation.
 * @module
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SUMMARIZER_MARKER } from '../domain/compaction.ts';
import { startScriptedModelServer } from './scripted-model-server.ts';
import type { ChatRequest, Responder, ScriptedModelServer, ScriptedStep } from './scripted-model-types.ts';

interface ChatMessage {
  role?: unknown;
  content?: unknown;
  tool_calls?: { function?: { name?: unknown; arguments?: unknown } }[];
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** The `human` block's value as rendered into the system prompt. */
export function humanBlock(systemPrompt: string): string {
  const match = /<human>[\s\S]*?<value>\n([\s\S]*?)\n?<\/value>/.exec(systemPrompt);
  return match?.[1]?.trim() ?? '';
}

/** Facts worth remembering in a user message, as memory lines. */
export function factsIn(message: string): string[] {
  const facts: string[] = [];
  const name = /\bmy name is ([A-Z][\p{L}'-]*)/iu.exec(message);
  if (name?.[1]) facts.push(`Name: ${name[1]}`);
  for (const m of message.matchAll(/\bI (?:really )?(love|like|enjoy) ([^.!?]+)/giu)) {
    facts.push(`${m[1]!.charAt(0).toUpperCase()}${m[1]!.slice(1)}s ${m[2]!.trim()}`);
  }
  return facts;
}

function describe(memory: string): string {
  const name = /Name: (\S+)/.exec(memory)?.[1];
  const likes = [...memory.matchAll(/(?:Loves|Likes|Enjoys) (.+)/g)].map((m) => m[1]!.replace(/\.$/, ''));
  if (likes.length === 0) return name ? `your name is ${name}` : 'nothing yet';
  return `${name ? `you're ${name}, and ` : ''}you love ${likes.join(' and ')}`;
}

/** The demo pipeline's researcher: a note per subject it is asked about. */
function researchNotes(asked: string): string {
  const subject = asked.split(': ').at(-1)?.trim() ?? asked;
  return `- ${subject}: three key facts, with sources (scripted notes).`;
}

/** The demo pipeline's writer: an article that quotes every note it was given. */
function article(asked: string): string {
  const topic = /about "([^"]+)"/.exec(asked)?.[1] ?? 'the topic';
  const notes = asked.split('\n').filter((line) => line.startsWith('- '));
  return [`# ${topic.charAt(0).toUpperCase()}${topic.slice(1)}`, '', `An article written from ${notes.length} research notes:`, ...notes].join('\n');
}

/** The demo's summarizer (compaction): the facts the user shared in the messages it is given. */
function summaryOf(transcript: string): string {
  // the previous summary's facts, then the new ones
  const kept = /What I learned: (.*)\.$/m.exec(transcript)?.[1]?.split('; ') ?? [];
  const facts = [...new Set([...kept, ...transcript.split('\n').flatMap((line) => (line.startsWith('user: ') ? factsIn(line) : []))])];
  return `The user and I talked for a while.${facts.length > 0 ? ` What I learned: ${facts.join('; ')}.` : ''}`;
}

/** Answers one chat request of the demo conversation, and the demo pipeline's researcher and writer. */
export const demoResponder: Responder = (request: ChatRequest): ScriptedStep => {
  const messages = request.messages as ChatMessage[];
  const system = text(messages[0]?.content);
  const asked = text(messages.at(-1)?.content);
  if (system.includes('You are a careful researcher')) return { kind: 'reply', content: researchNotes(asked) };
  if (system.includes('You are a writer')) return { kind: 'reply', content: article(asked) };
  if (system.startsWith(SUMMARIZER_MARKER)) return { kind: 'reply', content: summaryOf(asked) };
  const memory = humanBlock(system);
  const last = messages.at(-1);

  if (last?.role === 'tool') {
    // the step after our memory edit
    return {
      kind: 'reply',
      content: `Nice to meet you! I've saved to my core memory that ${describe(memory)}. I'll remember it in future conversations.`,
    };
  }

  const said = text(last?.content);
  const fresh = factsIn(said).filter((f) => !memory.toLowerCase().includes(f.toLowerCase()));
  if (fresh.length > 0) {
    return {
      kind: 'reply',
      reasoning: 'The user shared personal details. I should store them in my core memory (human block).',
      toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: fresh.join('\n') } }],
    };
  }
  if (/\b(what|remember|tell|know)\b.*\b(me|my|i)\b/i.test(said)) {
    return {
      kind: 'reply',
      reasoning: 'The answer is in my core memory: the human block.',
      content: memory ? `You told me that ${describe(memory)}.` : "I don't know anything about you yet.",
    };
  }
  return { kind: 'reply', content: memory ? `Good to see you again — I remember that ${describe(memory)}.` : 'Hello! How can I help?' };
};

/**
 * Where the demo's scripted model lives for a home: the demo records its port in
 * `<home>/demo-model.json`, and `memloom dev` on that home serves the model there again, so
 * `demo-assistant` keeps answering after the demo ends.
 */
const demoModelFile = (home: string): string => join(home, 'demo-model.json');

export function recordDemoModel(home: string, port: number): void {
  writeFileSync(demoModelFile(home), `${JSON.stringify({ port })}\n`);
}

export function forgetDemoModel(home: string): void {
  rmSync(demoModelFile(home), { force: true });
}

/** The port the demo's agent expects its scripted model on, if the demo ran on this home. */
export function recordedDemoModelPort(home: string): number | null {
  if (!existsSync(demoModelFile(home))) return null;
  try {
    const { port } = JSON.parse(readFileSync(demoModelFile(home), 'utf8')) as { port?: unknown };
    return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536 ? port : null;
  } catch {
    return null;
  }
}

/** Serves the demo's scripted model on host:port. */
export function startDemoModel(host: string, port: number): Promise<ScriptedModelServer> {
  return startScriptedModelServer({ responder: demoResponder, host, port });
}

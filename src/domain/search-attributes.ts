/**
 * memloom's typed search attributes: filters in the Temporal UI and `temporal workflow list`,
 * e.g. `AgentName = "my-assistant"`. Registered by `memloom migrate` and by the dev stack.
 * @module
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const AgentIdKey = defineSearchAttributeKey('AgentId', SearchAttributeType.KEYWORD);
export const AgentNameKey = defineSearchAttributeKey('AgentName', SearchAttributeType.KEYWORD);
/** The pipeline a run belongs to, e.g. `Pipeline = "research-and-write"`. */
export const PipelineKey = defineSearchAttributeKey('Pipeline', SearchAttributeType.KEYWORD);
/** Ids of the agents a pipeline run asks, e.g. `PipelineAgents = "agent-..."`. */
export const PipelineAgentsKey = defineSearchAttributeKey('PipelineAgents', SearchAttributeType.KEYWORD_LIST);
/** Failed turns of an agent's workflow run, e.g. `FailedTurns > 0` lists agents with failures. */
export const FailedTurnsKey = defineSearchAttributeKey('FailedTurns', SearchAttributeType.INT);
/** Message id of the run's latest failed turn, for `memloom turn show`. */
export const LastFailedTurnKey = defineSearchAttributeKey('LastFailedTurn', SearchAttributeType.KEYWORD);

export const MEMLOOM_SEARCH_ATTRIBUTES = [AgentIdKey, AgentNameKey, PipelineKey, PipelineAgentsKey, FailedTurnsKey, LastFailedTurnKey] as const;

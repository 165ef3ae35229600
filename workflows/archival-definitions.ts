/**
 * The archival workflows' queries, shared by the workflows and their callers (and shown in the
 * Temporal UI's Queries tab).
 * @module
 */
import { defineQuery } from '@temporalio/workflow';
import type { ArchivalImportProgress, ArchivalReembedProgress } from '../src/domain/archival.ts';

/** An import's state and its chunks embedded of the total. */
export const archivalImportStatusQuery = defineQuery<ArchivalImportProgress>('archivalImportStatus');

/** A re-embedding's state, its counts and the passages left. */
export const archivalReembedStatusQuery = defineQuery<ArchivalReembedProgress>('archivalReembedStatus');

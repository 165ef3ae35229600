/**
 * Which Temporal dev server belongs to which MEMLOOM_HOME. A stack that starts a server records
 * it in `<home>/temporal-server.json`; a server counts as this home's only while that record
 * names a live process whose command line serves this home's SQLite file. Anything else on the
 * port belongs to someone else, and a stack never attaches to it: its worker would take the
 * other stack's turns against the wrong database.
 * @module
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { processAlive, processCommandLine } from './process-alive.ts';

const OwnedServerSchema = z.object({
  /** Absolute MEMLOOM_HOME the server belongs to. */
  home: z.string(),
  address: z.string(),
  uiUrl: z.string().nullable(),
  /** The Temporal CLI process itself. */
  serverPid: z.number().int().positive(),
  /** The memloom process that started it and stops it. */
  ownerPid: z.number().int().positive(),
  /** The SQLite file under `home`: the server's identity on its command line. */
  dbFilename: z.string(),
});
export type OwnedServer = z.infer<typeof OwnedServerSchema>;

const serverFile = (home: string): string => join(home, 'temporal-server.json');

export function recordServer(server: OwnedServer): void {
  writeFileSync(serverFile(server.home), `${JSON.stringify(server, null, 2)}\n`);
}

export function forgetServer(home: string): void {
  rmSync(serverFile(home), { force: true });
}

/**
 * The server this home started, if it still runs (checked by pid and by its command line naming
 * this home's SQLite file, so a reused pid is not mistaken for it). A stale record is removed.
 */
export function recordedServer(home: string): OwnedServer | null {
  const path = serverFile(home);
  if (!existsSync(path)) return null;
  try {
    const server = OwnedServerSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
    const commandLine = processAlive(server.serverPid) ? processCommandLine(server.serverPid) : null;
    if (server.home === home && commandLine?.includes(server.dbFilename)) return server;
  } catch {
    // unreadable: stale
  }
  forgetServer(home);
  return null;
}

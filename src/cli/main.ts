/**
 * Entry point of the `memloom` command (see `bin/memloom.js`).
 * @module
 */
import { runCli } from './program.ts';

// `memloom ... | head` closes stdout early: stop quietly instead of crashing on EPIPE
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const exitCode = await runCli(process.argv);
process.exitCode = exitCode;
// every command closes what it opened; should a stray handle remain, do not hang on it
setTimeout(() => process.exit(exitCode), 2000).unref();

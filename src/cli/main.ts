/**
 * Entry point of the `memloom` command (see `bin/memloom.js`).
 * @module
 */
import { runCli } from './program.ts';

const exitCode = await runCli(process.argv);
process.exitCode = exitCode;
// every command closes what it opened; should a stray handle remain, do not hang on it
setTimeout(() => process.exit(exitCode), 2000).unref();

#!/usr/bin/env node
/** opampctl: the command line of OpAMP Commander (bin entry of the package). It talks only to the REST API. */
import { processIo } from './cli-runtime';
import { runCli } from './program';

void runCli(process.argv.slice(2), processIo()).then((code) => {
  // Let stdout drain (a pipe may be slow), then end with the code.
  process.exitCode = code;
});

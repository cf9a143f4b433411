#!/usr/bin/env node
// The harness CLI: parse flags and environment, run, print the report (table or --json), exit 0 / 1 (loss) / 2 (bad flags).
import { ArgsError, parseArgs, rampAdvice, USAGE } from './args.js';
import { exitCode, formatReport } from './report.js';
import { runHarness } from './run.js';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ArgsError) {
      process.stderr.write(`harness: ${error.message}\n(run with --help for the list of flags)\n`);
      return 2;
    }
    throw error;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const args = parsed.args;
  const advice = rampAdvice(args);
  if (advice !== undefined) process.stderr.write(`harness: ${advice.fatal ? 'warning' : 'note'}: ${advice.text}\n`);
  // First Ctrl-C ends the sending phase early (the run still settles and reports); a second one exits at once.
  const stop = new AbortController();
  process.on('SIGINT', () => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write('\nharness: stopping; settling and reporting (Ctrl-C again to quit now)\n');
    stop.abort();
  });
  const report = await runHarness(args, { progress: process.stderr, stopSignal: stop.signal });
  const text = args.json ? JSON.stringify(report) : formatReport(report);
  await new Promise<void>((resolve) => process.stdout.write(`${text}\n`, () => resolve()));
  return exitCode(report);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Not a verified run: the same code as a failed one.
    process.stderr.write(`harness: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

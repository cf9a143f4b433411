// Runs the harness CLI as a real child process for the fleet tests, and reads its JSON report.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureClientBundle, REPO } from '../../packages/client/test/support/fleet.js';
import type { HarnessReport } from '../src/report.js';

export const HARNESS_MAIN = `${REPO}harness/dist/main.js`;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the harness CLI; `during` is called once the run is under way, with the child's stderr so far. */
export function runCli(args: string[], during?: (stderr: () => string) => Promise<void>): Promise<CliRun & { duringError?: unknown }> {
  if (!existsSync(HARNESS_MAIN)) throw new Error(`${HARNESS_MAIN} is missing: build first (npx tsc -b harness)`);
  // The harness's process imports the client's bundle, not its per-file build.
  ensureClientBundle();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HARNESS_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let duringError: unknown;
    const duringDone = during?.(() => stderr).catch((error: unknown) => {
      duringError = error;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      void Promise.resolve(duringDone).then(() => resolve({ code, stdout, stderr, duringError }));
    });
  });
}

export function report(run: CliRun): HarnessReport {
  try {
    return JSON.parse(run.stdout) as HarnessReport;
  } catch {
    throw new Error(`harness printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr.slice(-3000)}`);
  }
}


// Raw websocket sessions against a target: open one through the handshake, write steps, and run one conformance case to a graded result.
import type { Case, Step } from './cases.js';
import { frame, RawClient, upgradeRequest } from './raw-client.js';
import type { Target } from './targets.js';

/** 2: what the RFC wants, exactly; 1: the connection was failed or closed as it should be, with another close code; 0: wrong. */
export type Grade = 0 | 1 | 2;

export interface CaseResult {
  id: string;
  grade: Grade;
  /** What was seen, for a failure message. */
  detail: string;
  /** For cases that fail the connection: ms from the last byte written to the server's FIN. */
  closeMs?: number;
}

/** Opens a websocket as `user` and waits for the 101 (and, on chatfleet, its `welcome`); the frames list starts empty after it. */
export async function openSession(target: Target, user: string, headers: Record<string, string> = {}): Promise<RawClient> {
  const client = new RawClient(target.port);
  await client.ready();
  await client.write(upgradeRequest(`127.0.0.1:${target.port}`, target.path(user), headers));
  await client.until(() => client.head !== undefined || client.serverClosed, 10_000);
  if (client.status !== 101) {
    client.destroy();
    throw new Error(`${target.name}: upgrade for ${user} answered ${client.head?.split('\r\n')[0] ?? 'nothing'}`);
  }
  if (target.greets) {
    await client.until(() => client.frames.length > 0 || client.serverClosed, 10_000);
    client.frames.splice(0, 1);
  }
  return client;
}

/** Writes the steps in order, chopped and paced as they say; stops once the server has closed. */
export async function writeSteps(client: RawClient, steps: Step[]): Promise<void> {
  for (const step of steps) {
    if (step.delayMs !== undefined) await pause(step.delayMs);
    if (client.serverClosed) return;
    const chop = step.chop ?? step.bytes.length;
    for (let at = 0; at < step.bytes.length; at += chop) {
      if (client.serverClosed) return;
      await client.write(step.bytes.subarray(at, at + chop));
    }
  }
}

/** Runs one case on a fresh connection and grades what the server did. */
export async function runCase(target: Target, c: Case): Promise<CaseResult> {
  const client = await openSession(target, `conf-${c.id.replaceAll('.', '-')}`);
  try {
    await writeSteps(client, c.steps);
    const writtenAt = performance.now();
    const expect = c.expect;
    if (expect.kind === 'accept') {
      const probe = Buffer.from(`probe-${c.id}`);
      await client.write(frame(9, probe));
      const answered = await client.until(
        () => client.serverClosed || client.frames.some((f) => f.opcode === 10 && f.payload.equals(probe)),
        15_000,
      );
      const pongs = client.frames.filter((f) => f.opcode === 10 && !f.payload.equals(probe)).map((f) => f.payload.toString('hex'));
      const answers = client.dataFrames().filter((f) => f.opcode !== 0);
      const texts = answers.map((f) => f.payload.toString());
      const problems: string[] = [];
      if (!answered) problems.push('the probe ping got no pong');
      if (client.closeFrame !== undefined) problems.push(`closed with ${client.closeFrame.code} ${client.closeFrame.reason}`);
      else if (client.serverClosed) problems.push('the server closed the connection');
      if (answers.length !== expect.answers) problems.push(`${answers.length} answers, not ${expect.answers}`);
      let from = 0;
      for (const marker of expect.markers ?? []) {
        const at = texts.findIndex((t, i) => i >= from && t.includes(marker));
        if (at === -1) problems.push(`no answer names ${marker}`);
        else from = at + 1;
      }
      if (JSON.stringify(pongs) !== JSON.stringify(expect.pongs ?? [])) problems.push(`pongs ${JSON.stringify(pongs)}`);
      return { id: c.id, grade: problems.length === 0 ? 2 : 0, detail: problems.join('; ') || 'ok' };
    }
    await client.until(() => client.serverClosed, 5000);
    const close = client.closeFrame;
    const closeMs = client.endedAt === undefined ? undefined : Math.max(0, client.endedAt - writtenAt);
    const seen = `${close === undefined ? 'no close frame' : `close ${close.code}`}, ${client.endedAt !== undefined ? 'FIN' : client.serverClosed ? `ended (${client.error ?? 'closed'})` : 'still open after 5 s'}`;
    if (!client.serverClosed) return { id: c.id, grade: 0, detail: seen };
    if (expect.kind === 'fail') {
      const exact = close !== undefined && expect.codes.includes(close.code) && client.endedAt !== undefined;
      return { id: c.id, grade: exact ? 2 : 1, detail: seen, ...(closeMs === undefined ? {} : { closeMs }) };
    }
    const problems: string[] = [];
    if (close === undefined || !expect.codes.includes(close.code)) problems.push(seen);
    const answers = client.dataFrames().filter((f) => f.opcode !== 0).length;
    if (expect.answers !== undefined && answers !== expect.answers) problems.push(`${answers} answers, not ${expect.answers}`);
    const pongs = client.frames.filter((f) => f.opcode === 10).length;
    if (expect.pongs !== undefined && pongs !== expect.pongs) problems.push(`${pongs} pongs, not ${expect.pongs}`);
    const closes = client.frames.filter((f) => f.opcode === 8).length;
    if (expect.closeFrames !== undefined && closes !== expect.closeFrames) problems.push(`${closes} close frames, not ${expect.closeFrames}`);
    return { id: c.id, grade: problems.length === 0 ? 2 : close === undefined ? 0 : 1, detail: problems.join('; ') || seen };
  } finally {
    client.destroy();
  }
}

/** A pause that paces what a case or an attack writes (never a wait for the server: those wait for events). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

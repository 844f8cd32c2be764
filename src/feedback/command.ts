/**
 * The `command` label source: an external program answers. It gets the batch as JSONL on stdin,
 * one `{"id", "prompt", "a", "b"}` per line, and writes JSONL on stdout, one `{"id", "verdict"}` per
 * answered query (verdict "a" | "b" | "tie" | "both-bad"; extra keys are kept as the label's
 * detail). It may answer a subset. A timeout, a non-zero exit, or a malformed line is one clear
 * error naming the command (and the line); answers of earlier batches stay in the ledger.
 */
import { spawn } from 'node:child_process';
import { stderrSummary } from '../math/errors.js';
import { z } from 'zod';
import {
  LabelSourceError,
  VERDICTS,
  type AsyncLabelSource,
  type LabelAnswer,
  type LabelQuery,
  type Verdict,
} from './types.js';

export const commandSourceSchema = z
  .object({
    kind: z.literal('command'),
    /** A shell command line (run with /bin/sh -c), or an argv array (no shell). */
    command: z.union([z.string().min(1), z.array(z.string()).min(1)]),
    /** Seconds per batch before the program is killed (default 600). */
    timeoutSeconds: z.number().positive().default(600),
    /** Working directory (in a loop config: relative to the config file, whose folder is the default). */
    cwd: z.string().optional(),
  })
  .strict();
export type CommandSourceConfig = z.output<typeof commandSourceSchema>;

interface RunOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export class CommandLabelSource implements AsyncLabelSource {
  readonly name: string;
  private readonly argv: string[];

  constructor(private readonly cfg: CommandSourceConfig) {
    this.argv = typeof cfg.command === 'string' ? ['/bin/sh', '-c', cfg.command] : cfg.command;
    const shown = typeof cfg.command === 'string' ? cfg.command : cfg.command.join(' ');
    this.name = `command:${shown}`;
  }

  async label(queries: readonly LabelQuery[]): Promise<LabelAnswer[]> {
    if (queries.length === 0) return [];
    const input =
      queries.map((q) => JSON.stringify({ id: q.id, prompt: q.prompt, a: q.a, b: q.b })).join('\n') + '\n';
    const out = await this.run(input);
    if (out.timedOut) this.fail(`timed out after ${this.cfg.timeoutSeconds} s (killed)`);
    if (out.code !== 0) {
      const why = stderrSummary(out.stderr);
      const how = out.signal ? `was killed by ${out.signal}` : `exited with code ${out.code}`;
      const where = ` (cwd ${this.cfg.cwd ?? process.cwd()})`;
      this.fail(`${how}${where}${why ? `; stderr: ${why}` : ''}`);
    }
    return this.parse(out.stdout, queries);
  }

  private fail(msg: string): never {
    throw new LabelSourceError(this.name, msg);
  }

  private parse(stdout: string, queries: readonly LabelQuery[]): LabelAnswer[] {
    const ids = new Set(queries.map((q) => q.id));
    const got = new Map<string, LabelAnswer>();
    stdout.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      const where = `stdout line ${i + 1}`;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        this.fail(`${where}: not JSON: ${JSON.stringify(line.slice(0, 80))}`);
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
        this.fail(`${where}: expected an object {"id", "verdict"}`);
      const { id, verdict, ...rest } = obj as Record<string, unknown>;
      if (typeof id !== 'string' || !ids.has(id)) this.fail(`${where}: unknown id ${JSON.stringify(id)}`);
      if (!VERDICTS.includes(verdict as Verdict))
        this.fail(`${where}: verdict must be one of ${VERDICTS.join(', ')}, got ${JSON.stringify(verdict)}`);
      if (got.has(id)) this.fail(`${where}: id ${id} answered twice`);
      const ans: LabelAnswer = { id, verdict: verdict as Verdict, source: this.name };
      if (Object.keys(rest).length > 0) ans.detail = rest;
      got.set(id, ans);
    });
    return queries.flatMap((q) => (got.has(q.id) ? [got.get(q.id)!] : []));
  }

  private run(input: string): Promise<RunOutput> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.argv[0], this.argv.slice(1), {
        cwd: this.cfg.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, this.cfg.timeoutSeconds * 1000);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.stdin.on('error', () => {
        // The program may exit without reading all of stdin; its exit status tells what happened.
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new LabelSourceError(this.name, `cannot start (${e.message})`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({
          code,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          timedOut,
        });
      });
      child.stdin.end(input);
    });
  }
}

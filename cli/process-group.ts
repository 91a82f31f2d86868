// A command spawned without a shell as the leader of its own process group, so one signal reaches
// everything it started: SIGSTOP / SIGCONT to pause and resume, SIGTERM then SIGKILL after a
// grace period to end it. Whatever is left of the group when the leader is gone is ended too.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** How often the group is looked at while waiting for its last members to go. */
export const GROUP_POLL_MS = 50;

export interface GroupExit {
  /** The leader's exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the command could not be started at all (ENOENT, EACCES, …). */
  error?: NodeJS.ErrnoException;
}

export interface ProcessGroupOptions {
  env: NodeJS.ProcessEnv;
  stdin: 'pipe' | 'ignore';
}

export class ProcessGroup {
  readonly child: ChildProcess;
  /** Resolves when the leader has exited (or failed to start). */
  readonly exited: Promise<GroupExit>;
  #exit: GroupExit | undefined;
  #terminating = false;
  #forced = false;
  #killTimer: NodeJS.Timeout | undefined;

  constructor(command: string, args: readonly string[], options: ProcessGroupOptions) {
    this.child = spawn(command, args, {
      detached: true, // its own process group: signals reach all of it, and not the terminal's
      stdio: [options.stdin, 'pipe', 'pipe'],
      env: options.env,
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve((this.#exit = { code, signal })));
      this.child.once('error', (error: NodeJS.ErrnoException) => {
        if (this.child.pid === undefined)
          resolve((this.#exit = { code: null, signal: null, error }));
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True while the leader runs. */
  get running(): boolean {
    return this.#exit === undefined && this.child.pid !== undefined;
  }

  /** True once terminate() has been called: whatever ends the process now, we ended it. */
  get terminating(): boolean {
    return this.#terminating;
  }

  /** True when the grace ran out and SIGKILL was needed. */
  get forced(): boolean {
    return this.#forced;
  }

  /** Sends a signal to the whole group; false when none of it is left. */
  signal(name: NodeJS.Signals | 0): boolean {
    if (this.child.pid === undefined) return false;
    try {
      process.kill(-this.child.pid, name);
      return true;
    } catch {
      return false; // ESRCH: the group is gone
    }
  }

  pause(): boolean {
    return this.running && this.signal('SIGSTOP');
  }

  resume(): boolean {
    return this.running && this.signal('SIGCONT');
  }

  /** SIGTERM to the group now, SIGKILL once `graceMs` has passed. Only the first call counts. */
  terminate(graceMs: number): void {
    if (this.#terminating || this.child.pid === undefined) return;
    this.#terminating = true;
    this.signal('SIGTERM');
    // A stopped (paused) process acts on SIGTERM only once it is continued.
    this.signal('SIGCONT');
    this.#killTimer = setTimeout(() => this.kill(), graceMs);
  }

  /** SIGKILL to the group at once (also from a process 'exit' handler: it is synchronous). */
  kill(): void {
    clearTimeout(this.#killTimer);
    if (this.hasLiveMembers()) {
      this.#forced = true;
      this.signal('SIGKILL');
    }
  }

  /**
   * After the leader is gone: ends what is left of the group (SIGTERM, SIGKILL after the grace)
   * and resolves once nothing of it runs.
   */
  async endStragglers(graceMs: number): Promise<void> {
    if (!this.hasLiveMembers()) return this.dispose();
    this.terminate(graceMs);
    const deadline = Date.now() + graceMs + 2_000;
    while (this.hasLiveMembers() && Date.now() < deadline) await sleep(GROUP_POLL_MS);
    this.kill();
    this.dispose();
  }

  dispose(): void {
    clearTimeout(this.#killTimer);
  }

  /**
   * Whether any process of the group still runs. Zombies do not count: they run nothing, and
   * where the system's init does not reap orphans they would otherwise seem to live forever.
   */
  hasLiveMembers(): boolean {
    if (!this.signal(0)) return false;
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      return true; // no /proc (macOS): kill(-pgid, 0) is all we know
    }
    const pgid = this.child.pid!;
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      const state = processState(entry);
      if (state && state.pgid === pgid && state.state !== 'Z') return true;
    }
    return false;
  }
}

/** State and process group of a pid from /proc/<pid>/stat, or undefined if it is gone. */
export function processState(pid: string | number): { state: string; pgid: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so read after the last ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, pgid: Number(fields[2]) };
}

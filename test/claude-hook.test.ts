// Claude Code's PreToolUse hook: `agent-ops hook claude-pre-tool-use` fed the recorded hook inputs,
// and the whole flow through `agent-ops exec --format claude` with a fake `claude` that calls
// the hook as Claude Code does (test/fixtures/fake-claude.mjs).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { api } from './helpers/http.ts';
import { cliEnv, spawnCli, storedEvents } from './helpers/cli.ts';
import { CLI, serverFor, tempDir } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const BASH_INPUT = fixture('claude-hook-bash.json');
const READ_INPUT = fixture('claude-hook-read.json');
const FAKE_CLAUDE = fixture('fake-claude.mjs');

/** Runs the hook as Claude Code would: the input on stdin, our environment plus `env`. */
function runHook(
  input: string,
  env: Record<string, string | undefined>,
  args: string[] = ['--tools', 'Bash,Edit,Write'],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [CLI, 'hook', 'claude-pre-tool-use', ...args], {
    env: cliEnv(env),
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  proc.stdin.end(input);
  return new Promise((resolve) => proc.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('claude-pre-tool-use hook', async (t) => {
  const server = await serverFor(t);
  const { url } = server;
  let counter = 0;
  const createRun = async (): Promise<string> => {
    const id = `hook-${++counter}`;
    assert.equal((await api(url, '/api/runs', { body: { id } })).status, 201);
    return id;
  };
  const pendingOf = async (runId: string): Promise<any[]> =>
    (await api<any[]>(url, `/api/approvals?runId=${runId}`)).body;

  await t.test(
    'a recorded Bash call waits for approval and answers allow with the note',
    async () => {
      const runId = await createRun();
      const hook = runHook(readFileSync(BASH_INPUT, 'utf8'), {
        AGENTOPS_RUN_ID: runId,
        AGENTOPS_SERVER: url,
      });
      const pending = await waitFor('the approval to be pending', async () => {
        const found = await pendingOf(runId);
        return found[0];
      });
      assert.equal(pending.approvalId, 'toolu_01RmRfBuild');
      assert.equal(pending.toolName, 'Bash');
      assert.equal(pending.title, 'Bash: rm -rf build <script>alert(1)</script>');
      const requested = (await storedEvents(url, runId)).find(
        (e) => e.type === 'approval.requested',
      );
      assert.deepEqual(requested.payload.args, {
        command: 'rm -rf build <script>alert(1)</script>',
        description: 'Remove the build directory',
      });
      assert.equal(requested.payload.detail, 'Remove the build directory');
      assert.equal(requested.payload.timeoutS, 600, 'the default --timeout is 10m');
      await api(url, `/api/runs/${runId}/approvals/toolu_01RmRfBuild`, {
        body: { decision: 'approve', note: 'build is disposable' },
      });
      const result = await hook;
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        hookSpecificOutput: {
          hookEventName: 'PreToolUse',
          permissionDecision: 'allow',
          permissionDecisionReason: 'build is disposable',
        },
      });
    },
  );

  await t.test('a denial answers deny; without a note the reason says who denied', async () => {
    const runId = await createRun();
    const hook = runHook(readFileSync(BASH_INPUT, 'utf8'), {
      AGENTOPS_RUN_ID: runId,
      AGENTOPS_SERVER: url,
    });
    await waitFor('the approval to be pending', async () => (await pendingOf(runId)).length > 0);
    await api(url, `/api/runs/${runId}/approvals/toolu_01RmRfBuild`, {
      body: { decision: 'deny', by: 'ana' },
    });
    const answer = JSON.parse((await hook).stdout).hookSpecificOutput;
    assert.equal(answer.permissionDecision, 'deny');
    assert.equal(answer.permissionDecisionReason, 'denied by ana in agent-ops');
  });

  await t.test('a tool outside --tools gets no decision and asks nothing', async () => {
    const runId = await createRun();
    const result = await runHook(readFileSync(READ_INPUT, 'utf8'), {
      AGENTOPS_RUN_ID: runId,
      AGENTOPS_SERVER: url,
    });
    assert.equal(result.code, 0);
    assert.equal(result.stdout, '');
    assert.deepEqual(await pendingOf(runId), []);
  });

  const asks: Array<[string, () => Promise<[string, Record<string, string | undefined>]>, RegExp]> =
    [
      [
        'the server cannot be reached',
        async () => [
          readFileSync(BASH_INPUT, 'utf8'),
          { AGENTOPS_RUN_ID: 'r1', AGENTOPS_SERVER: `http://127.0.0.1:${await closedPort()}` },
        ],
        /could not get a decision \(cannot reach the server/,
      ],
      [
        'no run is named',
        async () => [readFileSync(BASH_INPUT, 'utf8'), { AGENTOPS_SERVER: url }],
        /AGENTOPS_RUN_ID is not set/,
      ],
      [
        'the run does not exist',
        async () => [
          readFileSync(BASH_INPUT, 'utf8'),
          { AGENTOPS_RUN_ID: 'no-such-run', AGENTOPS_SERVER: url },
        ],
        /no run "no-such-run"/,
      ],
      [
        'the input is not a hook input',
        async () => ['not json', { AGENTOPS_RUN_ID: 'r1', AGENTOPS_SERVER: url }],
        /cannot read the hook input/,
      ],
      [
        'the key is wrong',
        async () => [
          readFileSync(BASH_INPUT, 'utf8'),
          { AGENTOPS_RUN_ID: 'r1', AGENTOPS_SERVER: url, AGENTOPS_API_KEY: 'wrong' },
        ],
        /could not get a decision/,
      ],
    ];
  for (const [what, setup, reason] of asks) {
    await t.test(`answers "ask", never allow, when ${what}`, async () => {
      const [input, env] = await setup();
      const result = await runHook(input, env);
      assert.equal(result.code, 0, result.stderr);
      const answer = JSON.parse(result.stdout).hookSpecificOutput;
      assert.equal(answer.permissionDecision, 'ask');
      assert.match(answer.permissionDecisionReason, reason);
    });
  }

  await t.test(
    'through exec --format claude: a fake claude calls the hook as Claude Code does',
    async () => {
      const project = tempDir('agent-ops-claude-');
      t.after(() => rmSync(project, { recursive: true, force: true }));
      mkdirSync(join(project, '.claude'));
      // The README's snippet, with this checkout's CLI for `agent-ops`.
      const hookCommand = `"${process.execPath}" "${CLI}" hook claude-pre-tool-use --tools Bash,Edit,Write`;
      writeFileSync(
        join(project, '.claude', 'settings.json'),
        JSON.stringify({
          hooks: {
            PreToolUse: [
              {
                matcher: 'Bash|Edit|Write|Read',
                hooks: [{ type: 'command', command: hookCommand, timeout: 900 }],
              },
            ],
          },
        }),
      );
      const runId = 'hook-exec-1';
      const exec = spawnCli(
        [
          'exec',
          '--id',
          runId,
          '--format',
          'claude',
          '--server',
          url,
          '--',
          process.execPath,
          FAKE_CLAUDE,
          '-p',
          'clean the build',
          '--output-format',
          'stream-json',
          '--verbose',
        ],
        { FAKE_CLAUDE_CALLS: [READ_INPUT, BASH_INPUT].join(delimiter) },
        project,
      );
      t.after(() => exec.proc.kill('SIGKILL'));
      await waitFor('the Bash call to wait for approval', async () => {
        const found = await pendingOf(runId).catch(() => []);
        return found.some((item) => item.approvalId === 'toolu_01RmRfBuild');
      });
      const approve = await api(url, `/api/runs/${runId}/approvals/toolu_01RmRfBuild`, {
        body: { decision: 'deny', note: 'keep the build, I need it' },
      });
      assert.equal(approve.status, 200, approve.text);
      const result = await exec.exited;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /fake-claude: Read toolu_02ReadAdd none: /);
      assert.match(
        result.stderr,
        /fake-claude: Bash toolu_01RmRfBuild deny: keep the build, I need it/,
      );
      const events = await storedEvents(url, runId);
      const results = events.filter((e) => e.type === 'tool.result');
      const bash = results.find((e) => e.payload.toolCallId === 'toolu_01RmRfBuild');
      assert.ok(bash, 'the denied call is in the run');
      assert.ok(bash.payload.error, 'as a failed call');
      assert.deepEqual(
        events.filter((e) => e.type.startsWith('approval.')).map((e) => e.type),
        ['approval.requested', 'approval.decided'],
      );
    },
  );
});

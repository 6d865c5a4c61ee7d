'use strict';
// startSeats(): the seats binary on a free port of 127.0.0.1, over a fresh SQLite database in a
// temporary directory, with the demo data (or a seed file), until stop().

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { binaryPath } = require('./binary.js');

const DEMO = {
  accountId: '699d98642c564d2e855e9661899b7252',
  token: 'Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY',
  email: 'user@example.com',
  apiKey: '144c9defac04969c7bfad8efaa8ea194',
  seatUid: 'f174e90a-fafe-4643-bbbc-4a0ed4fc8415',
};
const SEAT_EDIT = 'zero-trust-seats-update-a-user-seat';
const running = new Set();

// A test that ends (or fails) without stop() leaves no server behind.
process.once('exit', () => {
  for (const server of running) server.kill('SIGKILL');
});

async function startSeats(options = {}) {
  const binary = options.binary ?? binaryPath();
  const timeoutMs = options.startupTimeoutMs ?? 15000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seats-'));
  const operatorKey = crypto.randomBytes(32).toString('hex');
  const args = ['serve', '--listen', '127.0.0.1:0', '--database', `sqlite://${path.join(dir, 'seats.db')}`, '--journal-bodies'];
  args.push(...(options.seed ? ['--seed', options.seed] : ['--demo']), ...(options.args ?? []));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SEATS_')));
  env.SEATS_OPERATOR_KEY = operatorKey;
  const log = [];
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });

  const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let url;
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  exited.then(() => running.delete(child));
  const listening = new Promise((resolve, reject) => {
    child.once('error', reject);
    let buffered = '';
    const read = (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        log.push(line);
        if (log.length > 40) log.shift();
        if (!url && line.startsWith('seats listening on ')) {
          url = line.slice('seats listening on '.length).trim();
          resolve();
        }
      }
    };
    child.stdout.setEncoding('utf8').on('data', read);
    child.stderr.setEncoding('utf8').on('data', read);
  });

  const fail = async (what) => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    child.kill('SIGKILL');
    cleanup();
    return new Error(`the seats server ${what}; its last lines:\n${log.join('\n') || '(it printed nothing)'}`);
  };

  const deadline = Date.now() + timeoutMs;
  let timer;
  const outcome = await Promise.race([
    listening.then(() => 'listening', (e) => e),
    exited.then(({ code, signal }) => `exited with ${signal ?? `status ${code}`}`),
    new Promise((r) => { timer = setTimeout(() => r(`did not start listening within ${timeoutMs} ms`), timeoutMs); }),
  ]);
  clearTimeout(timer);
  if (outcome instanceof Error) {
    cleanup();
    throw new Error(`cannot run ${binary}: ${outcome.message}`);
  }
  if (outcome !== 'listening') throw await fail(outcome);
  for (;;) {
    if (child.exitCode !== null) throw await fail(`exited with status ${child.exitCode}`);
    try {
      const answer = await fetch(`${url}/readyz`);
      if (answer.status === 200) break;
    } catch {}
    if (Date.now() > deadline) throw await fail(`was not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }

  const operator = async (method, p, body) => {
    const answer = await fetch(`${url}/_seats/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await answer.text();
    if (!answer.ok) throw new Error(`${method} ${p}: ${answer.status} ${text}`);
    return text ? JSON.parse(text).result : null;
  };
  const journal = (filters = {}) => operator('GET', `/journal?${new URLSearchParams(filters)}`);
  return {
    url,
    baseURL: `${url}/client/v4`,
    ...DEMO,
    operatorKey,
    log: () => [...log],
    operator,
    reset: () => operator('POST', '/reset').then(() => undefined),
    journal,
    edits: async (seatUid) => {
      const entries = await journal({ operation_id: SEAT_EDIT });
      if (seatUid === undefined) return entries;
      return entries.filter((e) => Array.isArray(e.request_body) && e.request_body.some((i) => i && i.seat_uid === seatUid));
    },
    addFault: (rule) => operator('POST', '/faults', rule),
    clearFaults: () => operator('DELETE', '/faults').then(() => undefined),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
        await exited;
        clearTimeout(killer);
      }
      cleanup();
    },
  };
}

module.exports = { startSeats, DEMO };

"use strict";
/**
 * Drive the real @fal-ai/client 1.10.1 against a ws:// base URL on 127.0.0.1 and print JSON
 * (spec chapter 13, the JavaScript half of interop/fal_client_driver.py).
 *
 *   node interop/js/fal_js_driver.cjs ws://127.0.0.1:PORT --rest http://127.0.0.1:PORT
 *        [--app owner/app] [--key KEY] [--scenario NAME ...]
 *
 * The client hard-codes its hosts: realtime sockets go to `wss://fal.run/<app><path>?...` and
 * the token call to `POST https://rest.fal.ai/tokens/`. Nothing of it may leave loopback, so:
 *  - the token call goes through the client's own documented proxy option
 *    (`fal.config({proxyUrl: {url, when: "always"}})`), aimed at the target's `POST /tokens/`;
 *    the client adds `x-fal-target-url: https://rest.fal.ai/tokens/` as it does for a proxy;
 *  - `fal.config({fetch})` and the global `fetch` refuse any URL whose host is not 127.0.0.1;
 *  - the global `WebSocket` (Node 20 has none; the client uses the global) is `ws`, wrapped so
 *    that `wss://fal.run/...` becomes `<base>/...` and any other URL throws before connecting.
 * Everything else is the real client: its state machine, throttle, queue, token flow, msgpack
 * framing and its mapping of frames and closes to onResult/onError.
 *
 * Output: {"base", "app", "scenarios": {name: result}}. Each result has "ok" and what was
 * observed: "results"/"errors" (each with "t", ms since the scenario started), "sockets"
 * (URL, close code seen by the client), "fetches" (URL, headers, body, status) and "warnings".
 */

const { performance } = require("node:perf_hooks");
const WS = require("ws");
const { fal } = require("@fal-ai/client");

const LOOPBACK = "127.0.0.1";
const FAL_REALTIME_ORIGIN = "wss://fal.run/";
const SCENARIO_TIMEOUT_MS = 20000;
const STEP_TIMEOUT_MS = 5000;

function parseArgs(argv) {
  const args = { base: undefined, rest: undefined, app: "local/conformance-app", key: "local-key", scenarios: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--rest") args.rest = argv[++i];
    else if (a === "--app") args.app = argv[++i];
    else if (a === "--key") args.key = argv[++i];
    else if (a === "--scenario") args.scenarios.push(argv[++i]);
    else if (args.base === undefined) args.base = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!args.base || !args.rest) throw new Error("usage: fal_js_driver.cjs WS_BASE --rest HTTP_BASE");
  return args;
}

const ARGS = parseArgs(process.argv.slice(2));
const BASE = ARGS.base.replace(/\/+$/, "");
const REST = ARGS.rest.replace(/\/+$/, "");

// -- the loopback fence --------------------------------------------------------------------
function assertLoopback(url) {
  const host = new URL(url).hostname;
  if (host !== LOOPBACK) throw new Error(`refusing to reach ${url}: only ${LOOPBACK} is allowed`);
  return url;
}
assertLoopback(BASE);
assertLoopback(REST);

let record = null; // the observations of the running scenario
const t = () => Math.round((performance.now() - record.t0) * 10) / 10;

class LoopbackWebSocket extends WS {
  constructor(url, protocols) {
    const requested = String(url);
    if (!requested.startsWith(FAL_REALTIME_ORIGIN)) {
      throw new Error(`refusing a WebSocket to ${requested}`);
    }
    const local = assertLoopback(`${BASE}/${requested.slice(FAL_REALTIME_ORIGIN.length)}`);
    super(local, protocols);
    const socket = { url: local, requested, opened_at: t(), close_code: null, close_reason: null, frames: [] };
    record.sockets.push(socket);
    this._observed = socket;
    this.addEventListener("close", (event) => {
      socket.close_code = event.code;
      socket.close_reason = event.reason;
      socket.closed_at = t();
    });
  }

  /** Every frame the client writes, with its time: what went on the wire, not what was sent. */
  send(data, ...rest) {
    const frame = typeof data === "string" ? { text: data } : { hex: Buffer.from(data).toString("hex") };
    this._observed.frames.push({ t: t(), ...frame });
    return super.send(data, ...rest);
  }
}
globalThis.WebSocket = LoopbackWebSocket;

const realFetch = globalThis.fetch;
globalThis.fetch = (input) => {
  throw new Error(`refusing a fetch outside the loopback fence: ${String(input)}`);
};

async function loopbackFetch(url, init = {}) {
  assertLoopback(String(url));
  const call = {
    url: String(url),
    method: init.method,
    headers: Object.fromEntries(Object.entries(init.headers || {}).map(([k, v]) => [k.toLowerCase(), v])),
    body: init.body ? JSON.parse(init.body) : null,
    t: t(),
  };
  record.fetches.push(call);
  const response = await realFetch(url, init);
  call.status = response.status;
  return response;
}

const warn = console.warn;
console.warn = (...parts) => {
  if (record) record.warnings.push(parts.join(" "));
  else warn(...parts);
};

fal.config({
  credentials: ARGS.key,
  proxyUrl: { url: `${REST}/tokens/`, when: "always" },
  fetch: loopbackFetch,
  suppressLocalCredentialsWarning: true,
});

// -- helpers -------------------------------------------------------------------------------
function jsonable(value) {
  if (value instanceof Uint8Array) return { hex: Buffer.from(value).toString("hex") };
  if (Array.isArray(value)) return value.map(jsonable);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonable(v)]));
  }
  return value;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(predicate, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) return false;
    await sleep(2);
  }
  return true;
}

/** `fal.realtime.connect(app, options)` with onResult/onError recording into the scenario. */
function connect(options = {}, via = "connect") {
  const conn = fal.realtime.connect(ARGS.app, {
    ...options,
    onResult: (data) => record.results.push({ t: t(), via, data: jsonable(data) }),
    onError: (error) =>
      record.errors.push({
        t: t(),
        via,
        name: error && error.name,
        message: error && error.message,
        status: error && error.status,
        body: jsonable(error && error.body),
      }),
  });
  return {
    send(input) {
      record.sent.push({ t: t(), input: jsonable(input) });
      conn.send(input);
    },
    close: () => conn.close(),
  };
}

const results = () => record.results.length;
const errors = () => record.errors.length;
const prompts = () => record.results.map((r) => r.data.output);

// -- scenarios -----------------------------------------------------------------------------
const SCENARIOS = {
  /** Default options: three inputs 200 ms apart, each answered; then close. */
  async connect() {
    const c = connect();
    for (const [i, prompt] of ["hello", "p1", "p2"].entries()) {
      c.send({ prompt });
      await until(() => results() > i);
      await sleep(200);
    }
    c.close();
    await sleep(200);
  },

  /** Default throttle (128 ms): a burst of 10 sends 5 ms apart after the socket is open. */
  async throttle_default() {
    await burst({}, 10, 5, 700);
  },

  /** Default throttle: 10 sends in one synchronous loop after an idle spell. */
  async throttle_sync_burst() {
    const c = connect();
    c.send({ prompt: "warm" });
    await until(() => results() >= 1);
    await sleep(400);
    record.marks.push({ t: t(), mark: "burst" });
    for (let i = 0; i < 10; i++) c.send({ prompt: `p${i}` });
    await sleep(500);
    c.close();
    await sleep(100);
  },

  /** throttleInterval: 300: a burst of 5 sends 5 ms apart. */
  async throttle_custom() {
    await burst({ throttleInterval: 300 }, 5, 5, 900);
  },

  /** throttleInterval: 0: a burst of 10 back-to-back sends; every one is sent. */
  async throttle_off() {
    const c = connect({ throttleInterval: 0 });
    c.send({ prompt: "warm" });
    await until(() => results() >= 1);
    for (let i = 0; i < 10; i++) c.send({ prompt: `b${i}` });
    await until(() => results() >= 11);
    c.close();
    await sleep(100);
  },

  /** throttleInterval: 0: five sends before the socket is open; only the latest is kept. */
  async latest_wins_connecting() {
    const c = connect({ throttleInterval: 0 });
    for (let i = 0; i < 5; i++) c.send({ prompt: `c${i}` });
    await until(() => results() >= 1);
    await sleep(500);
    c.close();
    await sleep(100);
  },

  /** Default throttle: five sends before the socket is open (leading c0, trailing c4). */
  async latest_wins_connecting_throttled() {
    const c = connect();
    for (let i = 0; i < 5; i++) c.send({ prompt: `c${i}` });
    await until(() => prompts().includes("c4"));
    await sleep(400);
    c.close();
    await sleep(100);
  },

  /** Error frames: INVALID_INPUT and INTERNAL_ERROR reach onError; the socket goes on. */
  async error_frames() {
    const c = connect({ throttleInterval: 0 });
    c.send({ prompt: "ok1" });
    await until(() => results() >= 1);
    c.send({});
    await until(() => errors() >= 1);
    c.send({ prompt: "boom", fail: true });
    await until(() => errors() >= 2);
    c.send({ prompt: "after" });
    await until(() => results() >= 2);
    c.close();
    await sleep(100);
  },

  /** Server streaming: outputs, TIMEOUT + 1000 (both silent), then a send reconnects. */
  async stream_end_and_reconnect() {
    const c = connect({ throttleInterval: 0, path: "/realtime/stream" });
    c.send({ prompt: "s", count: 2 });
    await until(() => record.sockets.length === 1 && record.sockets[0].close_code !== null);
    await sleep(50);
    c.send({ prompt: "t", count: 1 });
    await until(() => results() >= 3);
    await until(() => record.sockets.length === 2 && record.sockets[1].close_code !== null);
    await sleep(50);
  },

  /** Idle timeout (session_timeout 1 s): the server ends the session; a later send reconnects. */
  async idle_timeout_reconnect() {
    const c = connect({ throttleInterval: 0, path: "/realtime/timeout" });
    c.send({ prompt: "a" });
    await until(() => record.sockets.length === 1 && record.sockets[0].close_code !== null, 4000);
    c.send({ prompt: "b" });
    await until(() => results() >= 2);
    c.close();
    await sleep(200);
  },

  /** The client's own close(), then a send on the closed connection. */
  async close() {
    const c = connect({ throttleInterval: 0 });
    c.send({ prompt: "x" });
    await until(() => results() >= 1);
    c.close();
    await until(() => record.sockets[0].close_code !== null);
    await sleep(200);
    record.marks.push({ t: t(), mark: "send after close" });
    c.send({ prompt: "y" });
    await until(() => results() >= 2, 2000);
    c.close();
    await sleep(200);
  },

  /** maxBuffering: 2 goes into the query; the session works. */
  async max_buffering() {
    const c = connect({ throttleInterval: 0, maxBuffering: 2 });
    c.send({ prompt: "mb" });
    await until(() => results() >= 1);
    c.close();
    await sleep(100);
  },

  /** Two connect() calls with one connectionKey share one socket; the later callbacks win. */
  async connection_key_reuse() {
    const first = connect({ throttleInterval: 0, connectionKey: "shared-key" }, "first");
    first.send({ prompt: "k1" });
    await until(() => results() >= 1);
    const second = connect({ throttleInterval: 0, connectionKey: "shared-key" }, "second");
    second.send({ prompt: "k2" });
    first.send({ prompt: "k3" });
    await until(() => results() >= 3);
    second.close();
    await sleep(100);
  },

  /** encodeMessage returning a string: what it writes while connecting and once open. */
  async custom_text_encoder() {
    const c = connect({ throttleInterval: 0, encodeMessage: (input) => JSON.stringify(input) });
    c.send({ prompt: "while-connecting" });
    await until(() => results() + errors() >= 1);
    c.send({ prompt: "when-open" });
    await until(() => results() + errors() >= 2);
    c.close();
    await sleep(100);
  },

  /** One round trip, then "READY" on stderr; the caller stops the server (close 1001). */
  async server_shutdown() {
    const c = connect({ throttleInterval: 0 });
    c.send({ prompt: "before shutdown" });
    await until(() => results() >= 1);
    process.stderr.write("READY\n");
    await until(() => record.sockets[0].close_code !== null, 15000);
    await sleep(100);
  },

  /** One send with whatever key was given; used with a wrong key (token call refused). */
  async unauthorized() {
    const c = connect({ throttleInterval: 0 });
    c.send({ prompt: "denied" });
    await sleep(1500);
    c.close();
    await sleep(100);
  },
};

async function burst(options, count, gapMs, settleMs) {
  const c = connect(options);
  c.send({ prompt: "warm" });
  await until(() => results() >= 1);
  await sleep(400); // past the throttle window of the warm-up send
  record.marks.push({ t: t(), mark: "burst" });
  for (let i = 0; i < count; i++) {
    c.send({ prompt: `p${i}` });
    await sleep(gapMs);
  }
  // The latest send is released a throttle interval later; on a loaded machine that may be
  // after any fixed pause, so wait (bounded) for its answer, then settle to see nothing more.
  await until(() => prompts().includes(`p${count - 1}`));
  await sleep(settleMs);
  c.close();
  await sleep(100);
}

async function runScenario(name) {
  record = { t0: performance.now(), sent: [], results: [], errors: [], sockets: [], fetches: [], warnings: [], marks: [] };
  let timer;
  try {
    const watchdog = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`scenario ${name} exceeded ${SCENARIO_TIMEOUT_MS} ms`)), SCENARIO_TIMEOUT_MS);
    });
    await Promise.race([SCENARIOS[name](), watchdog]);
    record.ok = true;
  } catch (error) {
    record.ok = false;
    record.exception = String(error && error.stack ? error.stack : error);
  } finally {
    clearTimeout(timer);
  }
  const { t0, ...observed } = record;
  return observed;
}

async function main() {
  const names = ARGS.scenarios.length ? ARGS.scenarios : Object.keys(SCENARIOS);
  for (const name of names) {
    if (!(name in SCENARIOS)) throw new Error(`unknown scenario ${name}`);
  }
  const scenarios = {};
  for (const name of names) scenarios[name] = await runScenario(name);
  process.stdout.write(JSON.stringify({ base: BASE, app: ARGS.app, scenarios }, null, 2) + "\n");
  // The client keeps token-refresh timers (108 s) alive; the run is over.
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(2);
});

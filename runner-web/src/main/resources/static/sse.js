// A server-sent events reader over fetch + ReadableStream, for the dashboard.
//
// Why not EventSource: it cannot send an Authorization header, so against a runner with
// `beacon.runner.security.open-reads=false` it only ever gets 401. This reader sends the headers it
// is given, resumes with Last-Event-ID after a dropped connection, backs off between attempts,
// stops for good on 401/403 (asking again cannot help until the user gives a token), and stops
// after the event the caller marks as the last one.

/**
 * Incremental parser of the text/event-stream format (WHATWG HTML, "Server-sent events",
 * §9.2.6 "Interpreting an event stream"). Feed it decoded text in chunks of any size with
 * {@link EventStreamParser#push}; it returns the events completed by that chunk, in order.
 *
 * - Lines end with CRLF, LF or CR; a CR at the end of one chunk followed by an LF at the start of
 *   the next is one line end, not two.
 * - `field: value` (one leading space of the value dropped), `field` alone (empty value), and
 *   comment lines starting with `:`, which are counted in {@link EventStreamParser#comments} and
 *   otherwise ignored. Unknown fields are ignored.
 * - `data` lines are joined with LF; an event is dispatched at a blank line if it had at least one
 *   `data` line, with `type` = its `event` field or `message`.
 * - `id` (without NUL) sets the last event id, which persists across events (and across
 *   connections: pass it to the constructor); every event carries it as `lastEventId`.
 * - `retry` with only digits sets {@link EventStreamParser#retry}, in milliseconds.
 *
 * A byte order mark is not its business: TextDecoder (default options) removes it.
 * An event still incomplete when the stream ends is discarded, as the standard says.
 */
export class EventStreamParser {
  constructor(lastEventId = '') {
    this.lastEventId = String(lastEventId ?? '');
    this.retry = null;
    this.comments = 0;
    this.pending = '';   // text after the last complete line
    this.data = [];      // data lines of the event being read
    this.type = '';
  }

  /** Parses `text` (the next decoded chunk); returns the events it completes: [{type, data, lastEventId}]. */
  push(text) {
    const buf = this.pending + text;
    const events = [];
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i + 1 === buf.length) {
        // A CR that ends the chunk: keep it, the next chunk may start with its LF.
        this.pending = buf.slice(start);
        return events;
      }
      this.line(buf.slice(start, i), events);
      if (c === 13 && buf.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.pending = buf.slice(start);
    return events;
  }

  line(line, events) {
    if (line === '') {
      if (this.data.length > 0) {
        events.push({type: this.type || 'message', data: this.data.join('\n'), lastEventId: this.lastEventId});
      }
      this.data = [];
      this.type = '';
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) {
      this.comments++;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'event': this.type = value; break;
      case 'data': this.data.push(value); break;
      case 'id': if (!value.includes('\u0000')) this.lastEventId = value; break;
      case 'retry': if (/^[0-9]+$/.test(value)) this.retry = Number(value); break;
      default: break;
    }
  }
}

/**
 * Follows the event stream at `url` until `isLast(event)` is true for a received event, the
 * server refuses it for good, or `close()` is called.
 *
 * Each connection is a GET with `Accept: text/event-stream`, the headers `headers()` returns at
 * that moment (so a token saved meanwhile is used on the next attempt) and, once an event id is
 * known, `Last-Event-ID`, so that the server sends only what came after: nothing missed, nothing
 * repeated. A connection that fails, ends before the last event, answers 5xx/408/429, or sends
 * nothing (not even a keep-alive comment) for `idleTimeoutMs` is retried after a back-off that
 * starts at `minDelayMs` (or the server's `retry:`), doubles up to `maxDelayMs`, is jittered, and
 * starts over once an event arrives. A 401 or 403 stops with `unauthorized`, any other 4xx or a
 * response that is not text/event-stream with `failed`: retrying would not change the answer.
 *
 * Callbacks: `onEvent({type, data, lastEventId})` for every event, in order; `onState(state, info)`
 * with `connecting` {attempt, lastEventId}, `open` {attempt}, `retrying` {attempt, delayMs, reason},
 * then one of `finished` {lastEventId}, `unauthorized` {status, problem}, `failed` {status, problem}.
 * Neither is called after `close()`.
 *
 * @returns {{close: () => void, done: Promise<{reason: string}>, readonly lastEventId: string}}
 *   `done` resolves (never rejects) once the reader has stopped, with reason `finished`,
 *   `unauthorized`, `failed` or `closed` (and the state's info).
 */
export function followEvents(url, {
  headers = () => ({}),
  lastEventId = '',
  isLast = () => false,
  onEvent = () => {},
  onState = () => {},
  minDelayMs = 1000,
  maxDelayMs = 15000,
  idleTimeoutMs = 45000,
  fetch: fetchImpl = (...args) => globalThis.fetch(...args),
} = {}) {
  let closed = false;
  let lastId = String(lastEventId ?? '');
  let controller = null;
  let wake = null;

  const report = (state, info) => {
    if (!closed) onState(state, info);
  };

  const pause = ms => new Promise(resolve => {
    const timer = setTimeout(resolve, ms);
    wake = () => { clearTimeout(timer); resolve(); };
  }).finally(() => { wake = null; });

  const readProblem = async res => {
    try {
      const type = res.headers.get('Content-Type') || '';
      if (type.includes('json')) return await res.json();
      const text = await res.text();
      return text ? {detail: text} : {};
    } catch {
      return {};
    }
  };

  async function connectOnce(attempt) {
    controller = new AbortController();
    const signal = controller.signal;
    let idle = false;
    let watchdog = null;
    let sawEvent = false;
    let parser = null;
    const retry = reason => ({retry: reason, sawEvent, retryMs: parser ? parser.retry : null});
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => { idle = true; controller.abort(); }, idleTimeoutMs);
    };
    try {
      const h = {...headers(), Accept: 'text/event-stream'};
      if (lastId !== '') h['Last-Event-ID'] = lastId;
      report('connecting', {attempt, lastEventId: lastId});
      arm();
      const res = await fetchImpl(url, {headers: h, cache: 'no-store', credentials: 'same-origin', signal});
      if (res.status === 401 || res.status === 403) {
        return {stop: 'unauthorized', info: {status: res.status, problem: await readProblem(res)}};
      }
      if (!res.ok) {
        const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
        const problem = await readProblem(res);
        if (!retryable) return {stop: 'failed', info: {status: res.status, problem}};
        return retry(`HTTP ${res.status}`);
      }
      const type = (res.headers.get('Content-Type') || '').toLowerCase();
      if (!type.startsWith('text/event-stream') || !res.body) {
        controller.abort();
        return {stop: 'failed', info: {status: res.status, problem: {title: 'Not an event stream', detail: `Content-Type: ${type || 'none'}`}}};
      }
      report('open', {attempt});
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      parser = new EventStreamParser(lastId);
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        arm();
        for (const event of parser.push(decoder.decode(value, {stream: true}))) {
          lastId = event.lastEventId;
          sawEvent = true;
          if (closed) return {stop: 'closed'};
          try {
            onEvent(event);
          } catch (e) {
            console.error('event handler failed', e);
          }
          if (closed) return {stop: 'closed'};
          if (isLast(event)) {
            controller.abort();
            return {stop: 'finished', info: {lastEventId: lastId}};
          }
        }
      }
      return retry('the server ended the stream');
    } catch (e) {
      if (closed) return {stop: 'closed'};
      return retry(idle ? `nothing received for ${Math.round(idleTimeoutMs / 1000)} s` : String((e && e.message) || e));
    } finally {
      clearTimeout(watchdog);
    }
  }

  async function run() {
    let base = minDelayMs;
    let delay = base;
    for (let attempt = 1; ; attempt++) {
      if (closed) return {reason: 'closed'};
      const outcome = await connectOnce(attempt);
      if (outcome.stop) {
        if (outcome.stop !== 'closed') report(outcome.stop, outcome.info);
        closed = true;
        return {reason: outcome.stop, ...(outcome.info || {})};
      }
      if (closed) return {reason: 'closed'};
      if (Number.isFinite(outcome.retryMs)) base = outcome.retryMs;
      if (outcome.sawEvent) delay = base; // the connection worked: start the back-off over
      const wait = Math.round(delay / 2 + Math.random() * (delay / 2));
      report('retrying', {attempt, delayMs: wait, reason: outcome.retry});
      await pause(wait);
      delay = Math.min(Math.max(delay * 2, base), maxDelayMs);
    }
  }

  const done = run().catch(e => {
    console.error('event stream reader failed', e);
    return {reason: 'failed', problem: {title: 'Event stream reader failed', detail: String(e)}};
  });

  return {
    close() {
      if (closed) return;
      closed = true;
      if (controller) controller.abort();
      if (wake) wake();
    },
    done,
    get lastEventId() { return lastId; },
  };
}

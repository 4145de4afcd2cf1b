// Beacon Runner dashboard: plain ES module, no build step.
//
// Routes (hash based, so the page works under any base path):
//   #/                    jobs: submit form and recent jobs
//   #/jobs/{id}           one job: the question × endpoint matrix, live over server-sent events
//                         (read with fetch, see sse.js, so that the bearer token is sent on the stream too)
//   #/jobs/{id}/compare   the regions' answers side by side
// Every URL the page requests is relative to the page (`jobs/…`, never `/jobs/…`).
// The API token, when the user saved one, goes with every request to the API (authHeaders()).

import {diffWords} from './diff.js';
import {indexJson, lineOf, lineOfField} from './json-locate.js';
import {followEvents} from './sse.js';

// Served as `/beacon` instead of `/beacon/`, relative URLs would resolve against the parent path.
if (!location.pathname.endsWith('/') && !/\.[A-Za-z0-9]+$/.test(location.pathname)) {
  location.replace(`${location.pathname}/${location.search}${location.hash}`);
}

/* ------------------------------------------------------------------ helpers */

/** Creates an element: h('a', {href: '#/', class: 'x'}, 'text', child, …). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      el.className = value;
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const enc = encodeURIComponent;

function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const two = n => String(n).padStart(2, '0');
  return hh > 0 ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

function fmtMs(ms) {
  if (ms === null || ms === undefined) return '';
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

/* ------------------------------------------------------------------ token */

const TOKEN_KEY = 'beacon.runner.token';
/** Fired on window when the user saves or forgets the token, so that a view refused with 401 can try again. */
const TOKEN_CHANGED = 'beacon:token-changed';
const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || '',
  set: v => {
    if (v) sessionStorage.setItem(TOKEN_KEY, v); else sessionStorage.removeItem(TOKEN_KEY);
    window.dispatchEvent(new CustomEvent(TOKEN_CHANGED));
  },
};

/**
 * `Authorization: Bearer <token>` for the token saved in this session, or nothing. Sent on every
 * call to the API, reads and the event stream included, so the page also works against a runner
 * with `beacon.runner.security.open-reads=false`.
 */
function authHeaders() {
  const t = token.get();
  return t ? {Authorization: `Bearer ${t}`} : {};
}

function isAuthRefusal(status) {
  return status === 401 || status === 403;
}

function initTokenForm() {
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const state = document.getElementById('token-state');
  const show = () => {
    state.textContent = token.get() ? 'Token set for this session' : 'No token';
    input.value = '';
    input.placeholder = token.get() ? '•••••••• (saved)' : 'not set';
  };
  form.addEventListener('submit', e => {
    e.preventDefault();
    token.set(input.value.trim());
    show();
  });
  document.getElementById('token-clear').addEventListener('click', () => {
    token.set('');
    show();
  });
  show();
}

/* ------------------------------------------------------------------ API */

/**
 * Calls the runner. Resolves to {ok, status, data, problem, headers}; never rejects for an HTTP
 * error (a network failure becomes status 0 with a problem saying so).
 */
/**
 * A button that saves the job's executions as a file (?format=csv|ndjson). Fetched with the API token,
 * which a plain link could not send, and handed to the browser as a download.
 */
function downloadButton(jobId, format, label) {
  const button = h('button', {type: 'button', class: 'btn', id: `download-${format}`, dataset: {format}}, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const res = await fetch(`jobs/${enc(jobId)}/executions?format=${format}`, {headers: authHeaders(), credentials: 'same-origin'});
      if (!res.ok) { button.title = `Download failed: HTTP ${res.status}`; return; }
      const disposition = res.headers.get('Content-Disposition') || '';
      const name = (/filename="?([^";]+)"?/.exec(disposition) || [])[1] || `job-${jobId}-executions.${format === 'csv' ? 'csv' : 'jsonl'}`;
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', {href: url, download: name, hidden: true});
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      button.dataset.downloaded = name;
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

async function api(path, {method = 'GET', body, headers = {}} = {}) {
  const h2 = {Accept: 'application/json, application/problem+json', ...headers, ...authHeaders()};
  if (body !== undefined && !h2['Content-Type']) h2['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {method, headers: h2, body, credentials: 'same-origin', cache: 'no-store'});
  } catch (e) {
    return {ok: false, status: 0, data: null, problem: {title: 'Network error', detail: String(e.message || e)}};
  }
  const type = res.headers.get('Content-Type') || '';
  let data = null;
  if (type.includes('json')) {
    try { data = await res.json(); } catch { data = null; }
  } else {
    const text = await res.text().catch(() => '');
    data = text ? {detail: text} : null;
  }
  if (res.ok) return {ok: true, status: res.status, data, headers: res.headers};
  const problem = data && typeof data === 'object' ? data : {};
  if (!problem.title) problem.title = `${res.status} ${res.statusText || 'error'}`;
  return {ok: false, status: res.status, data, problem, headers: res.headers};
}

/** A short sentence for a failed call, for the page. */
function problemText(r) {
  const p = r.problem || {};
  const parts = [p.title, p.detail].filter(Boolean);
  let text = parts.join(': ') || `Request failed (${r.status})`;
  if (isAuthRefusal(r.status)) text += ' — enter the API token at the top of the page.';
  return text;
}

/* ------------------------------------------------------------------ states */

const CELL_STATES = {
  PENDING: {cls: 'pending', icon: '○', short: 'Pending', label: 'Pending'},
  RUNNING: {cls: 'running', icon: '↻', short: 'Running', label: 'Running'},
  SUCCEEDED: {cls: 'succeeded', icon: '✓', short: 'OK', label: 'Succeeded'},
  FAILED: {cls: 'failed', icon: '✕', short: 'Failed', label: 'Failed'},
  TIMED_OUT: {cls: 'timed-out', icon: '◷', short: 'Timed out', label: 'Timed out'},
  CANCELLED: {cls: 'cancelled', icon: '⊘', short: 'Cancelled', label: 'Cancelled'},
};

const JOB_STATES = {
  QUEUED: {cls: 'pending', icon: '○', label: 'Queued'},
  RUNNING: {cls: 'running', icon: '↻', label: 'Running'},
  SUCCEEDED: {cls: 'succeeded', icon: '✓', label: 'Succeeded'},
  PARTIAL: {cls: 'partial', icon: '◐', label: 'Partial'},
  FAILED: {cls: 'failed', icon: '✕', label: 'Failed'},
  CANCELLED: {cls: 'cancelled', icon: '⊘', label: 'Cancelled'},
  TIMED_OUT: {cls: 'timed-out', icon: '◷', label: 'Timed out'},
};
const TERMINAL_JOB = new Set(['SUCCEEDED', 'PARTIAL', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

function jobBadge(status) {
  const s = JOB_STATES[status] || {cls: 'pending', icon: '?', label: status || 'Unknown'};
  return h('span', {class: `badge state-${s.cls}`, dataset: {status: status || ''}},
    h('span', {class: 'badge-icon', 'aria-hidden': 'true'}, s.icon), ' ', s.label);
}

function cellBadge(status) {
  const s = CELL_STATES[status] || CELL_STATES.PENDING;
  return h('span', {class: `badge state-${s.cls}`},
    h('span', {class: 'badge-icon', 'aria-hidden': 'true'}, s.icon), ' ', s.label);
}

/* ------------------------------------------------------------------ router */

let cleanup = () => {};

function route() {
  cleanup();
  cleanup = () => {};
  const view = document.getElementById('view');
  view.replaceChildren();
  const hash = location.hash.replace(/^#\/?/, '');
  const parts = hash.split('/').filter(Boolean).map(decodeURIComponent);
  const legacyId = new URLSearchParams(location.search).get('id');
  document.querySelectorAll('[data-nav]').forEach(a => a.removeAttribute('aria-current'));
  if (parts[0] === 'jobs' && parts[1] && parts[2] === 'compare') {
    cleanup = comparisonView(view, parts[1]) || cleanup;
  } else if (parts[0] === 'jobs' && parts[1]) {
    cleanup = jobView(view, parts[1]) || cleanup;
  } else if (!hash && legacyId) {
    cleanup = jobView(view, legacyId) || cleanup;
  } else {
    document.querySelector('[data-nav="jobs"]')?.setAttribute('aria-current', 'page');
    cleanup = jobsView(view) || cleanup;
  }
  const heading = view.querySelector('h1');
  if (heading) document.title = `${heading.textContent} · Beacon Runner`;
}

/* ------------------------------------------------------------------ jobs page */

const SPEC_KEY = id => `beacon.runner.spec.${id}`;
const DRAFT_KEY = 'beacon.runner.draft';

function jobsView(root) {
  const timers = [];
  let disposed = false;

  // --- submit form
  const textarea = h('textarea', {
    id: 'spec', name: 'spec', rows: 24, wrap: 'off', spellcheck: 'false', autocapitalize: 'off',
    'aria-describedby': 'spec-help spec-errors', class: 'code-input',
  });
  const gutter = h('div', {class: 'gutter', 'aria-hidden': 'true'});
  const errorsBox = h('div', {id: 'spec-errors', class: 'form-errors', role: 'alert'});
  const submitBtn = h('button', {type: 'submit', class: 'btn btn-primary', id: 'submit-job'}, 'Submit job');
  const idemInput = h('input', {id: 'idem-key', name: 'idempotencyKey', type: 'text', autocomplete: 'off',
    placeholder: 'optional', spellcheck: 'false'});
  const submitState = h('span', {class: 'submit-state', role: 'status'});
  let errorLines = new Map(); // line -> [messages]

  const renderGutter = () => {
    const lines = textarea.value.split('\n').length;
    const frag = document.createDocumentFragment();
    for (let i = 1; i <= lines; i++) {
      const bad = errorLines.has(i);
      frag.append(h('div', {class: bad ? 'gutter-line gutter-error' : 'gutter-line',
        title: bad ? errorLines.get(i).join('\n') : null}, bad ? `! ${i}` : String(i)));
    }
    gutter.replaceChildren(frag);
    gutter.scrollTop = textarea.scrollTop;
  };
  textarea.addEventListener('scroll', () => { gutter.scrollTop = textarea.scrollTop; });
  textarea.addEventListener('input', () => {
    sessionStorage.setItem(DRAFT_KEY, textarea.value);
    renderGutter();
  });

  const selectLine = line => {
    const text = textarea.value;
    let start = 0;
    for (let i = 1; i < line; i++) start = text.indexOf('\n', start) + 1;
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    textarea.focus();
    textarea.setSelectionRange(start, end);
    const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 18;
    textarea.scrollTop = Math.max(0, (line - 4) * lineHeight);
  };

  const clearErrors = () => {
    errorLines = new Map();
    errorsBox.replaceChildren();
    textarea.removeAttribute('aria-invalid');
    renderGutter();
  };

  const showErrors = (r) => {
    const text = textarea.value;
    const index = indexJson(text);
    const p = r.problem || {};
    let errors = Array.isArray(p.errors) ? p.errors : [];
    if (errors.length === 0 && index.error) {
      errors = [{field: '$', message: p.detail || index.error.message}];
    }
    errorLines = new Map();
    const items = errors.map(err => {
      const field = err.field ?? err.pointer ?? err.name ?? '$';
      let line = lineOfField(text, field, index);
      if (field === '$' && index.error) line = lineOf(text, index.error.offset);
      if (line) errorLines.set(line, [...(errorLines.get(line) || []), `${field}: ${err.message}`]);
      return h('li', {class: 'form-error', dataset: {field}},
        h('button', {type: 'button', class: 'error-field', onclick: () => line && selectLine(line),
          'aria-label': `${field}${line ? `, line ${line}` : ''}: go to field`},
        h('code', {}, field)),
        line ? h('span', {class: 'error-line'}, ` line ${line}`) : null,
        ' — ', h('span', {class: 'error-message'}, err.message || ''));
    });
    const count = items.length;
    errorsBox.replaceChildren(
      h('p', {class: 'form-errors-title'},
        h('span', {'aria-hidden': 'true'}, '⚠ '),
        count > 0 ? `${count} problem${count === 1 ? '' : 's'} with this job: ` : '', problemText(r)),
      count > 0 ? h('ul', {class: 'form-error-list'}, items) : null);
    textarea.setAttribute('aria-invalid', 'true');
    renderGutter();
    const first = [...errorLines.keys()].sort((a, b) => a - b)[0];
    if (first) {
      const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 18;
      textarea.scrollTop = Math.max(0, (first - 4) * lineHeight);
      gutter.scrollTop = textarea.scrollTop;
    }
  };

  const form = h('form', {class: 'submit-form', id: 'submit-form', novalidate: true,
    onsubmit: async e => {
      e.preventDefault();
      clearErrors();
      submitBtn.disabled = true;
      submitState.textContent = 'Submitting…';
      const headers = {'Content-Type': 'application/json'};
      if (idemInput.value.trim()) headers['Idempotency-Key'] = idemInput.value.trim();
      const r = await api('jobs', {method: 'POST', body: textarea.value, headers});
      submitBtn.disabled = false;
      if (disposed) return;
      if (r.ok && r.data && r.data.id) {
        submitState.textContent = r.status === 200 ? 'Already submitted — opening the job.' : 'Submitted.';
        try { sessionStorage.setItem(SPEC_KEY(r.data.id), JSON.stringify(JSON.parse(textarea.value))); } catch { /* ignore */ }
        location.hash = `#/jobs/${enc(r.data.id)}`;
      } else {
        submitState.textContent = 'Not submitted.';
        showErrors(r.ok ? {problem: {title: 'Unexpected response', detail: 'no job id in the response'}} : r);
        if (r.status === 401) document.getElementById('token-input')?.focus();
      }
    }},
  h('div', {class: 'field'},
    h('label', {for: 'spec'}, 'Job specification (JSON)'),
    h('p', {id: 'spec-help', class: 'help'},
      'Prefilled with the example job: 8 questions × 8 endpoints. Edit freely; the runner validates it.'),
    h('div', {class: 'code-editor'}, gutter, textarea)),
  errorsBox,
  h('div', {class: 'form-row'},
    h('div', {class: 'field field-inline'},
      h('label', {for: 'idem-key'}, 'Idempotency key'), idemInput),
    h('div', {class: 'actions'},
      h('button', {type: 'button', class: 'btn btn-ghost', id: 'reset-example', onclick: async () => {
        await loadExample(true);
      }}, 'Reset to example'),
      h('button', {type: 'button', class: 'btn btn-ghost', id: 'format-json', onclick: () => {
        try {
          textarea.value = JSON.stringify(JSON.parse(textarea.value), null, 2);
          sessionStorage.setItem(DRAFT_KEY, textarea.value);
          clearErrors();
        } catch (err) {
          showErrors({status: 400, problem: {title: 'Not valid JSON', detail: err.message}});
        }
      }}, 'Format'),
      submitBtn, submitState)));

  const loadExample = async (force) => {
    const draft = sessionStorage.getItem(DRAFT_KEY);
    if (draft && !force) {
      textarea.value = draft;
    } else {
      const r = await fetch('example-job.json', {cache: 'no-store'}).catch(() => null);
      textarea.value = r && r.ok ? await r.text() : '{\n  "questions": [],\n  "models": []\n}\n';
      sessionStorage.removeItem(DRAFT_KEY);
    }
    clearErrors();
  };

  // --- recent jobs
  const statusFilter = h('select', {id: 'status-filter', name: 'status'},
    h('option', {value: ''}, 'All statuses'),
    Object.entries(JOB_STATES).map(([k, v]) => h('option', {value: k}, v.label)));
  const tbody = h('tbody');
  const listState = h('p', {class: 'list-state', role: 'status'});
  const moreBtn = h('button', {type: 'button', class: 'btn btn-ghost', hidden: true}, 'Older jobs');
  let loaded = [];
  let nextBefore = null;

  const jobRow = job => {
    const c = job.counts || {};
    const done = (c.succeeded || 0) + (c.failed || 0) + (c.timedOut || 0) + (c.cancelled || 0);
    const cells = job.cells || done + (c.pending || 0);
    const pct = cells ? Math.round((done / cells) * 100) : 0;
    return h('tr', {dataset: {jobId: job.id}},
      h('td', {}, h('a', {href: `#/jobs/${enc(job.id)}`, class: 'job-link'}, job.name || '(unnamed)'),
        h('div', {class: 'muted mono small'}, String(job.id).slice(0, 13))),
      h('td', {}, jobBadge(job.status)),
      h('td', {},
        h('div', {class: 'progress-line'},
          h('progress', {max: cells || 1, value: done, 'aria-label': `${done} of ${cells} cells finished`}),
          h('span', {class: 'small'}, `${done}/${cells}`, h('span', {class: 'muted'}, ` (${pct}%)`))),
        (c.failed || c.timedOut || c.cancelled)
          ? h('div', {class: 'small muted'},
            [c.failed ? `${c.failed} failed` : null, c.timedOut ? `${c.timedOut} timed out` : null,
              c.cancelled ? `${c.cancelled} cancelled` : null].filter(Boolean).join(' · '))
          : null),
      h('td', {class: 'small'}, fmtTime(job.createdAt)),
      h('td', {}, h('a', {href: `#/jobs/${enc(job.id)}/compare`, class: 'small'}, 'Compare')));
  };

  const listOf = data => {
    if (Array.isArray(data)) return data;
    if (!data || typeof data !== 'object') return [];
    return data.items || data.jobs || data.content || data.data || [];
  };

  const loadJobs = async (more = false) => {
    const params = new URLSearchParams();
    if (statusFilter.value) params.set('status', statusFilter.value);
    params.set('limit', '20');
    if (more && nextBefore) params.set('before', nextBefore);
    const r = await api(`jobs?${params}`);
    if (disposed) return;
    if (!r.ok) {
      listState.textContent = `Could not load jobs: ${problemText(r)}`;
      return;
    }
    const jobs = listOf(r.data);
    loaded = more ? [...loaded, ...jobs] : jobs;
    const next = r.data && !Array.isArray(r.data) ? (r.data.next || r.data.nextBefore || r.data.links?.next) : null;
    if (next && /before=/.test(String(next))) {
      nextBefore = new URL(String(next), location.href).searchParams.get('before');
    } else if (next) {
      nextBefore = String(next);
    } else {
      nextBefore = jobs.length >= 20 ? (jobs[jobs.length - 1].id) : null;
    }
    moreBtn.hidden = !nextBefore;
    tbody.replaceChildren(...loaded.map(jobRow));
    listState.textContent = loaded.length === 0 ? 'No jobs yet — submit one above.'
      : `${loaded.length} job${loaded.length === 1 ? '' : 's'} shown, newest first.`;
  };
  statusFilter.addEventListener('change', () => loadJobs());
  moreBtn.addEventListener('click', () => loadJobs(true));

  append(root, [
    h('h1', {class: 'page-title'}, 'Jobs'),
    h('div', {class: 'jobs-layout'},
      h('section', {class: 'panel', 'aria-labelledby': 'submit-title'},
        h('h2', {id: 'submit-title'}, 'Submit a job'), form),
      h('section', {class: 'panel', 'aria-labelledby': 'recent-title'},
        h('div', {class: 'panel-head'},
          h('h2', {id: 'recent-title'}, 'Recent jobs'),
          h('div', {class: 'panel-tools'},
            h('label', {for: 'status-filter', class: 'visually-hidden'}, 'Filter by status'), statusFilter,
            h('button', {type: 'button', class: 'btn btn-small', id: 'refresh-jobs', onclick: () => loadJobs()}, 'Refresh'))),
        h('div', {class: 'table-wrap'},
          h('table', {class: 'jobs-table', id: 'jobs-table'},
            h('caption', {class: 'visually-hidden'}, 'Recent jobs, newest first'),
            h('thead', {}, h('tr', {},
              h('th', {scope: 'col'}, 'Job'), h('th', {scope: 'col'}, 'Status'),
              h('th', {scope: 'col'}, 'Progress'), h('th', {scope: 'col'}, 'Created'),
              h('th', {scope: 'col'}, h('span', {class: 'visually-hidden'}, 'Comparison')))),
            tbody)),
        listState, moreBtn)),
  ]);

  loadExample(false);
  loadJobs();
  timers.push(setInterval(() => {
    if (!document.hidden && loaded.some(j => !TERMINAL_JOB.has(j.status))) loadJobs();
  }, 3000));
  const onToken = () => loadJobs();
  window.addEventListener(TOKEN_CHANGED, onToken);

  return () => {
    disposed = true;
    timers.forEach(clearInterval);
    window.removeEventListener(TOKEN_CHANGED, onToken);
  };
}

/* ------------------------------------------------------------------ job page */

function jobView(root, jobId) {
  let disposed = false;
  let stream = null;      // the followEvents reader while connected or reconnecting
  let streamGen = 0;      // callbacks of a reader closed since are ignored
  let needsToken = false; // refused with 401/403: waiting for the user to save a token
  let tick = null;

  const st = {
    job: null,
    questions: [],       // [{id, text} | null] in job order; null = not known yet
    endpoints: [],       // ['model@region'] in job order
    fixedLayout: false,  // true when the layout came from the spec
    cells: new Map(),    // `${questionId}\u0000${endpoint}` -> [execution view by sample]
    samples: 1,          // samples per question and endpoint (the job view says)
    current: null,       // {questionId, index, total} while a question runs
    finishedQuestions: new Set(),
    lastSeq: 0,
    finished: false,
    status: null,
    startedAt: null,
    finishedAt: null,
    selected: null,      // key of the cell shown in the detail panel
    activeCell: null,    // key of the cell in the tab order (arrow keys move it)
    firstCell: null,
  };

  const title = h('h1', {class: 'page-title'}, 'Job');
  const statusSlot = h('span', {id: 'job-status'});
  const connState = h('span', {class: 'conn', id: 'conn-state', role: 'status'}, 'Connecting…');
  const currentBox = h('p', {class: 'current', id: 'current-question'});
  const countsBox = h('div', {class: 'counts', id: 'counts', 'aria-live': 'polite', 'aria-atomic': 'true'});
  const elapsedBox = h('span', {id: 'elapsed', class: 'mono'});
  const cancelBtn = h('button', {type: 'button', class: 'btn btn-danger', id: 'cancel-job'}, 'Cancel job');
  // Offered once the job has finished with cells that did not succeed: a new job asks only those again.
  const retryBtn = h('button', {type: 'button', class: 'btn', id: 'retry-job', hidden: true}, 'Retry failed cells');
  const actionState = h('span', {class: 'small', role: 'status', id: 'action-state'});
  const authNotice = h('div', {class: 'notice notice-error stream-notice', id: 'auth-notice', role: 'alert', hidden: true});
  const streamNotice = h('div', {class: 'notice notice-error stream-notice', id: 'stream-notice', role: 'alert', hidden: true});
  const matrixWrap = h('div', {class: 'matrix-wrap', tabindex: '0', role: 'region', 'aria-label': 'Result matrix',
    'aria-describedby': 'matrix-help'});
  const detail = h('section', {class: 'panel cell-detail', id: 'cell-detail', 'aria-live': 'polite', hidden: true});
  const metaList = h('dl', {class: 'meta'});

  append(root, [
    h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'}, h('a', {href: '#/'}, 'Jobs'), ' / ', h('span', {}, jobId)),
    h('div', {class: 'job-head'},
      h('div', {}, title, h('div', {class: 'job-sub'}, statusSlot, connState)),
      h('div', {class: 'job-actions'},
        h('a', {class: 'btn', href: `#/jobs/${enc(jobId)}/compare`, id: 'open-comparison'}, 'Compare regions'),
        downloadButton(jobId, 'csv', 'Download CSV'),
        downloadButton(jobId, 'ndjson', 'Download NDJSON'),
        retryBtn, cancelBtn, actionState)),
    authNotice,
    streamNotice,
    h('section', {class: 'panel summary', 'aria-label': 'Progress'},
      currentBox,
      h('div', {class: 'summary-row'}, countsBox,
        h('div', {class: 'elapsed'}, h('span', {class: 'muted'}, 'Elapsed '), elapsedBox)),
      metaList),
    h('div', {class: 'job-grid', id: 'job-grid'},
      h('section', {class: 'panel matrix-panel', 'aria-labelledby': 'matrix-title'},
        h('div', {class: 'panel-head'}, h('h2', {id: 'matrix-title'}, 'Questions × endpoints'), legend()),
        h('p', {class: 'small muted', id: 'matrix-help'}, 'Arrow keys move between cells; Enter shows a cell\'s answer.'),
        matrixWrap),
      detail),
  ]);

  const key = (q, ep) => `${q}\u0000${ep}`;
  const epOf = x => `${x.modelId}@${x.region}`;
  /** The stored samples of one question at one endpoint, indexed by sample (holes: not finished yet). */
  const samplesAt = (q, ep) => st.cells.get(key(q, ep)) || [];
  const doneAt = (q, ep) => samplesAt(q, ep).filter(Boolean);
  // A matrix cell stands for all its samples: the worst status shows once every sample is done.
  const STATUS_RANK = ['SUCCEEDED', 'CANCELLED', 'TIMED_OUT', 'FAILED'];
  const worst = views => views.map(x => x.status).reduce((a, b) => (STATUS_RANK.indexOf(b) > STATUS_RANK.indexOf(a) ? b : a));

  function applySpec(spec) {
    if (!spec || !Array.isArray(spec.questions) || !Array.isArray(spec.models)) return false;
    st.questions = spec.questions.map(q => ({id: String(q.id), text: q.text || ''}));
    st.endpoints = spec.models.flatMap(m => (m.regions || []).map(r => `${m.id}@${r}`));
    st.fixedLayout = true;
    return true;
  }

  function ensureQuestion(questionId, index) {
    let at = st.questions.findIndex(q => q && q.id === questionId);
    if (at >= 0) return at;
    if (st.fixedLayout) { st.questions.push({id: questionId, text: ''}); return st.questions.length - 1; }
    if (Number.isInteger(index) && index >= 0) {
      while (st.questions.length <= index) st.questions.push(null);
      if (!st.questions[index]) { st.questions[index] = {id: questionId, text: ''}; return index; }
    }
    at = st.questions.findIndex(q => q === null);
    if (at < 0) { st.questions.push({id: questionId, text: ''}); return st.questions.length - 1; }
    st.questions[at] = {id: questionId, text: ''};
    return at;
  }

  function ensureEndpoint(ep) {
    if (!st.endpoints.includes(ep)) st.endpoints.push(ep);
  }

  function counts() {
    const c = {succeeded: 0, failed: 0, timedOut: 0, cancelled: 0, running: 0, pending: 0};
    for (const views of st.cells.values()) {
      for (const x of views) {
        if (!x) continue;
        if (x.status === 'SUCCEEDED') c.succeeded++;
        else if (x.status === 'FAILED') c.failed++;
        else if (x.status === 'TIMED_OUT') c.timedOut++;
        else if (x.status === 'CANCELLED') c.cancelled++;
      }
    }
    const total = st.job?.cells || (st.questions.length * st.endpoints.length * st.samples);
    if (st.current && !st.finished) {
      for (const ep of st.endpoints) c.running += Math.max(0, st.samples - doneAt(st.current.questionId, ep).length);
    }
    c.total = total;
    c.pending = Math.max(0, total - c.succeeded - c.failed - c.timedOut - c.cancelled - c.running);
    return c;
  }

  function cellStatus(q, ep) {
    const done = doneAt(q, ep);
    if (done.length >= st.samples) return worst(done);
    if (!st.finished && st.current && st.current.questionId === q) return 'RUNNING';
    return done.length ? worst(done) : 'PENDING';
  }

  function cellButton(q, ep) {
    const status = cellStatus(q, ep);
    const s = CELL_STATES[status] || CELL_STATES.PENDING;
    const done = doneAt(q, ep);
    const x = done[0];
    let extra = '';
    if (st.samples > 1) extra = `${done.filter(v => v.status === 'SUCCEEDED').length}/${st.samples} ok`;
    else if (x && status === 'SUCCEEDED') extra = fmtMs(x.latencyMs);
    else if (x && x.error && x.error.code && !['TIMEOUT', 'CANCELLED'].includes(x.error.code)) extra = x.error.code;
    const k = key(q, ep);
    return h('button', {
      type: 'button', class: `cell state-${s.cls}${st.selected === k ? ' selected' : ''}`,
      dataset: {state: status, question: q, endpoint: ep},
      'aria-label': `${q} on ${ep}: ${s.label}${extra ? `, ${extra}` : ''}`,
      'aria-pressed': st.selected === k ? 'true' : 'false',
      tabindex: (st.activeCell || st.firstCell) === k ? '0' : '-1',
      onclick: () => { st.selected = st.selected === k ? null : k; st.activeCell = k; renderMatrix(); renderDetail(); },
    },
    h('span', {class: 'cell-icon', 'aria-hidden': 'true'}, s.icon),
    h('span', {class: 'cell-label'}, s.short),
    extra ? h('span', {class: 'cell-extra'}, extra) : null);
  }

  function renderMatrix() {
    // Columns grouped by model (in the order models first appear), regions in their order.
    const models = [];
    for (const ep of st.endpoints) {
      const [model, region] = splitEndpoint(ep);
      const group = models.find(m => m.model === model);
      if (group) group.regions.push({ep, region});
      else models.push({model, regions: [{ep, region}]});
    }
    const columns = models.flatMap(m => m.regions.map(r => r.ep));
    const rows = st.questions.length ? st.questions : [];
    const firstRow = rows.find(Boolean);
    st.firstCell = firstRow && columns.length ? key(firstRow.id, columns[0]) : null;
    const table = h('table', {class: 'matrix', id: 'matrix'},
      h('caption', {class: 'visually-hidden'}, 'Status of each question on each endpoint'),
      h('thead', {},
        h('tr', {},
          h('td', {class: 'corner'}),
          models.map(m => h('th', {scope: 'colgroup', colspan: m.regions.length, class: 'model-head'}, m.model))),
        h('tr', {},
          h('th', {scope: 'col', class: 'q-head'}, 'Question'),
          models.flatMap(m => m.regions.map(r => h('th', {scope: 'col', class: 'region-head', title: r.ep}, r.region))))),
      h('tbody', {},
        rows.map((q, i) => {
          const isCurrent = q && st.current && st.current.questionId === q.id && !st.finished;
          return h('tr', {class: isCurrent ? 'current-row' : null, dataset: {question: q ? q.id : ''}},
            h('th', {scope: 'row', class: 'q-cell'},
              h('span', {class: 'q-index'}, `${i + 1}.`), ' ',
              q ? h('span', {class: 'q-id'}, q.id) : h('span', {class: 'muted'}, 'not started'),
              isCurrent ? h('span', {class: 'q-now'}, ' ◀ now') : null,
              q && q.text ? h('div', {class: 'q-text'}, q.text) : null),
            columns.map(ep => h('td', {}, q ? cellButton(q.id, ep)
              : h('span', {class: 'cell state-pending', dataset: {state: 'PENDING'}},
                h('span', {class: 'cell-icon', 'aria-hidden': 'true'}, '○'), h('span', {class: 'cell-label'}, 'Pending')))));
        })));
    // Rebuilding the table must not take the keyboard focus or the scroll position away from the user.
    const active = document.activeElement;
    const focused = active && matrixWrap.contains(active) && active.classList.contains('cell')
      ? [active.dataset.question, active.dataset.endpoint] : null;
    const scrollLeft = matrixWrap.scrollLeft;
    if (st.endpoints.length === 0) {
      matrixWrap.replaceChildren(h('p', {class: 'muted'}, st.finished ? 'No results.'
        : needsToken ? 'Nothing to show without an accepted API token.' : 'Waiting for the first results…'));
    } else {
      matrixWrap.replaceChildren(table);
    }
    matrixWrap.scrollLeft = scrollLeft;
    // Only one cell is in the tab order; arrow keys move between cells (see onMatrixKey).
    const cellsNow = matrixWrap.querySelectorAll('button.cell');
    if (cellsNow.length && ![...cellsNow].some(b => b.tabIndex === 0)) cellsNow[0].tabIndex = 0;
    if (focused) {
      matrixWrap.querySelector(`.cell[data-question="${CSS.escape(focused[0])}"][data-endpoint="${CSS.escape(focused[1])}"]`)
        ?.focus({preventScroll: true});
    }
  }

  /** Arrow keys, Home and End move the focus between the matrix's cells, like in a grid. */
  function onMatrixKey(e) {
    const cell = e.target.closest && e.target.closest('button.cell');
    if (!cell) return;
    const rowsEls = [...matrixWrap.querySelectorAll('tbody tr')];
    const grid = rowsEls.map(r => [...r.querySelectorAll('button.cell')]);
    const r = rowsEls.indexOf(cell.closest('tr'));
    const c = grid[r].indexOf(cell);
    let nr = r;
    let nc = c;
    switch (e.key) {
      case 'ArrowLeft': nc = Math.max(0, c - 1); break;
      case 'ArrowRight': nc = Math.min(grid[r].length - 1, c + 1); break;
      case 'ArrowUp': do { nr--; } while (nr >= 0 && grid[nr].length === 0); break;
      case 'ArrowDown': do { nr++; } while (nr < grid.length && grid[nr].length === 0); break;
      case 'Home': nc = 0; if (e.ctrlKey) nr = grid.findIndex(g => g.length); break;
      case 'End': nc = grid[r].length - 1; if (e.ctrlKey) nr = grid.length - 1 - [...grid].reverse().findIndex(g => g.length); break;
      default: return;
    }
    e.preventDefault();
    if (nr < 0 || nr >= grid.length || !grid[nr][nc]) return;
    const next = grid[nr][nc];
    cell.tabIndex = -1;
    next.tabIndex = 0;
    st.activeCell = key(next.dataset.question, next.dataset.endpoint);
    next.focus();
  }
  matrixWrap.addEventListener('keydown', onMatrixKey);

  function renderDetail() {
    const grid = detail.parentElement;
    if (!st.selected) { detail.hidden = true; detail.replaceChildren(); grid.classList.remove('with-detail'); return; }
    const wasHidden = detail.hidden;
    const [q, ep] = st.selected.split('\u0000');
    const views = samplesAt(q, ep);
    const x = views[0];
    const status = cellStatus(q, ep);
    const rows = [];
    const add = (k, v) => { if (v !== undefined && v !== null && v !== '') rows.push(h('dt', {}, k), h('dd', {}, v)); };
    add('Status', cellBadge(status));
    if (st.samples > 1) {
      add('Samples', `${views.filter(Boolean).length} of ${st.samples} finished`);
    } else if (x) {
      add('Provider', x.providerId);
      add('Attempts', x.attempts);
      add('Latency', fmtMs(x.latencyMs));
      add('Finish reason', x.output?.finishReason);
      if (x.output?.usage) add('Tokens', `${x.output.usage.promptTokens ?? '?'} in / ${x.output.usage.completionTokens ?? '?'} out`);
      if (x.error) add('Error', `${x.error.code || ''}${x.error.message ? ` — ${x.error.message}` : ''}`);
      // What the provider said about itself when it answered (its provenance).
      const p = x.provenance;
      if (p) {
        add('Served model', p.servedModel);
        add('Fingerprint', p.systemFingerprint);
        add('Response id', p.responseId);
        for (const [name, value] of Object.entries(p.headers || {})) add(name, value);
      }
    }
    detail.hidden = false;
    detail.replaceChildren(
      h('div', {class: 'panel-head'},
        h('h2', {}, `${q} · ${ep}`),
        h('button', {type: 'button', class: 'btn btn-small btn-ghost', onclick: () => { st.selected = null; renderMatrix(); renderDetail(); }}, 'Close')),
      h('dl', {class: 'meta'}, rows),
      st.samples > 1 ? sampleList(views)
        : x?.output?.text ? h('pre', {class: 'answer'}, x.output.text) : h('p', {class: 'muted'}, x ? 'No answer text.' : 'No result yet.'));
    grid.classList.add('with-detail');
    if (wasHidden) detail.scrollIntoView({block: 'nearest'});
  }

  /** Every sample of the selected cell, in order: its status, latency or error, and its answer. */
  function sampleList(views) {
    return h('ol', {class: 'sample-list', start: '0'}, Array.from({length: st.samples}, (_, i) => {
      const v = views[i];
      const label = v ? (CELL_STATES[v.status] || CELL_STATES.PENDING).label : 'Not finished';
      const info = v ? [v.status === 'SUCCEEDED' ? fmtMs(v.latencyMs) : v.error?.code || '',
        v.provenance?.servedModel ? `served by ${v.provenance.servedModel}` : ''].filter(Boolean).join(' · ') : '';
      return h('li', {class: 'sample', dataset: {sample: String(i), state: v ? v.status : 'PENDING'}},
        h('p', {class: 'small'}, h('strong', {}, `Sample ${i}`), ` · ${label}${info ? ` · ${info}` : ''}`),
        v?.output?.text ? h('pre', {class: 'answer'}, v.output.text) : null);
    }));
  }

  function renderSummary() {
    const job = st.job || {};
    title.textContent = job.name ? `Job ${job.name}` : 'Job';
    document.title = `${title.textContent} (${(JOB_STATES[st.status || job.status] || {}).label || '…'}) · Beacon Runner`;
    statusSlot.replaceChildren(jobBadge(st.status || job.status));
    const c = counts();
    // Only touch the live region when a number changed, so screen readers hear changes, not every event.
    const signature = JSON.stringify(c);
    if (countsBox.dataset.signature !== signature) {
      countsBox.dataset.signature = signature;
      countsBox.replaceChildren(
        countChip('succeeded', 'SUCCEEDED', c.succeeded),
        countChip('failed', 'FAILED', c.failed),
        countChip('timed-out', 'TIMED_OUT', c.timedOut),
        countChip('cancelled', 'CANCELLED', c.cancelled),
        countChip('running', 'RUNNING', c.running),
        countChip('pending', 'PENDING', c.pending),
        h('span', {class: 'count-total'}, `${c.total - c.pending - c.running} of ${c.total} cells finished`));
    }
    if (st.finished) {
      currentBox.replaceChildren(h('strong', {}, 'Finished'), ` — ${(JOB_STATES[st.status] || {}).label || st.status}.`);
    } else if (st.current) {
      const q = st.questions[st.current.index] || st.questions.find(x => x && x.id === st.current.questionId);
      currentBox.replaceChildren('Question ', h('strong', {}, `${st.current.index + 1} of ${st.current.total || st.questions.length}`),
        ': ', h('code', {}, st.current.questionId), q && q.text ? ` — ${q.text}` : '');
    } else {
      currentBox.textContent = (st.status || job.status) === 'QUEUED' ? 'Queued, waiting for a runner.' : 'Between questions.';
    }
    cancelBtn.disabled = st.finished || TERMINAL_JOB.has(st.status);
    retryBtn.hidden = !(st.finished || TERMINAL_JOB.has(st.status)) || c.failed + c.timedOut + c.cancelled === 0;
    metaList.replaceChildren(...[
      h('dt', {}, 'Id'), h('dd', {class: 'mono'}, jobId),
      job.retryOf ? h('dt', {}, 'Retry of') : null,
      job.retryOf ? h('dd', {}, h('a', {href: `#/jobs/${enc(job.retryOf)}`, id: 'retry-of', class: 'mono'}, job.retryOf)) : null,
      (job.retries || []).length ? h('dt', {}, 'Retried as') : null,
      (job.retries || []).length ? h('dd', {id: 'retried-as'}, job.retries.map((r, i) => [i ? ', ' : '',
        h('a', {href: `#/jobs/${enc(r)}`, class: 'mono retry-link'}, r)])) : null,
      h('dt', {}, 'Created'), h('dd', {}, fmtTime(job.createdAt)),
      h('dt', {}, 'Started'), h('dd', {}, fmtTime(st.startedAt)),
      h('dt', {}, 'Finished'), h('dd', {}, fmtTime(st.finishedAt)),
      h('dt', {}, 'Size'), h('dd', {}, `${job.questions ?? st.questions.length} questions × ${job.endpoints ?? st.endpoints.length} endpoints`
        + (st.samples > 1 ? ` × ${st.samples} samples` : ''))].filter(Boolean));
    renderElapsed();
  }

  function renderElapsed() {
    if (!st.startedAt) { elapsedBox.textContent = '—'; return; }
    const end = st.finishedAt ? new Date(st.finishedAt).getTime() : Date.now();
    elapsedBox.textContent = fmtDuration(end - new Date(st.startedAt).getTime());
  }

  // Rebuilding a large matrix on every frame while events stream in kept a slow machine's main
  // thread busy enough to delay clicks (Cancel) by seconds: at most one rebuild per RENDER_EVERY_MS.
  const RENDER_EVERY_MS = 200;
  let renderQueued = false;
  let renderedAt = -Infinity;
  function render() {
    if (renderQueued || disposed) return;
    renderQueued = true;
    setTimeout(() => requestAnimationFrame(() => {
      renderQueued = false;
      if (disposed) return;
      renderedAt = performance.now();
      renderSummary();
      renderMatrix();
      if (st.selected) renderDetail();
    }), Math.max(0, renderedAt + RENDER_EVERY_MS - performance.now()));
  }

  async function refreshJob() {
    const r = await api(`jobs/${enc(jobId)}`);
    if (disposed || !r.ok) return r;
    st.job = r.data;
    st.samples = Math.max(1, Number(r.data.samples) || 1);
    const rank = s => (TERMINAL_JOB.has(s) ? 2 : s === 'RUNNING' ? 1 : 0);
    if (!st.finished && (!st.status || rank(r.data.status) >= rank(st.status))) st.status = r.data.status;
    st.startedAt = r.data.startedAt || st.startedAt;
    st.finishedAt = r.data.finishedAt || st.finishedAt;
    if (!st.fixedLayout) applySpec(r.data.spec);
    render();
    return r;
  }

  function knownCells() {
    let n = 0;
    for (const views of st.cells.values()) n += views.filter(Boolean).length;
    return n;
  }

  /** Fills the matrix from the stored rows (every cell of a finished job has one). */
  async function fillFromExecutions() {
    const r = await api(`jobs/${enc(jobId)}/executions`);
    if (disposed || !r.ok || !Array.isArray(r.data)) return;
    for (const x of r.data) {
      const ep = epOf(x);
      ensureEndpoint(ep);
      ensureQuestion(x.questionId);
      const views = st.cells.get(key(x.questionId, ep)) || [];
      views[Number(x.sample) || 0] = x;
      st.cells.set(key(x.questionId, ep), views);
    }
    render();
  }

  /** Orders columns (and known rows) like the server does, when no spec told us. */
  async function seedLayoutFromExecutions() {
    if (st.fixedLayout) return;
    const r = await api(`jobs/${enc(jobId)}/executions`);
    if (disposed || !r.ok) return;
    const list = Array.isArray(r.data) ? r.data : (r.data?.items || r.data?.executions || []);
    const eps = [];
    const qs = [];
    for (const x of list) {
      const ep = epOf(x);
      if (!eps.includes(ep)) eps.push(ep);
      if (!qs.includes(x.questionId)) qs.push(x.questionId);
    }
    st.endpoints = [...eps, ...st.endpoints.filter(e => !eps.includes(e))];
    qs.forEach((q, i) => ensureQuestion(q, i));
    render();
  }

  function onEvent(ev) {
    let data;
    try { data = JSON.parse(ev.data); } catch { return; }
    const seq = Number(ev.lastEventId || data.seq || 0);
    if (seq && seq <= st.lastSeq) return; // already applied (replay after a reconnect)
    if (seq && st.lastSeq && seq > st.lastSeq + 1) {
      // A gap: something was missed. Start over from the beginning.
      restartFresh();
      return;
    }
    if (seq) st.lastSeq = seq;
    switch (ev.type) {
      case 'job.queued':
        if (!st.finished) st.status = 'QUEUED';
        break;
      case 'job.started':
        if (!st.finished) st.status = 'RUNNING';
        if (!st.startedAt) { st.startedAt = new Date().toISOString(); refreshJob(); }
        break;
      case 'question.started':
        st.status = st.finished ? st.status : 'RUNNING';
        ensureQuestion(data.questionId, data.index);
        st.current = {questionId: data.questionId, index: data.index ?? st.questions.findIndex(q => q && q.id === data.questionId),
          total: data.total};
        break;
      case 'execution.finished': {
        const x = data.execution || data;
        const ep = epOf(x);
        ensureEndpoint(ep);
        ensureQuestion(x.questionId);
        const views = st.cells.get(key(x.questionId, ep)) || [];
        views[Number(x.sample) || 0] = x;
        st.cells.set(key(x.questionId, ep), views);
        break;
      }
      case 'question.finished':
        st.finishedQuestions.add(data.questionId);
        if (st.current && st.current.questionId === data.questionId) st.current = null;
        if (!st.fixedLayout && data.index === 0) seedLayoutFromExecutions();
        break;
      case 'job.finished':
        st.finished = true;
        st.status = data.status || st.status;
        st.current = null;
        if (!st.finishedAt) st.finishedAt = new Date().toISOString();
        closeStream();
        setConn('done');
        refreshJob();
        if (!st.fixedLayout) seedLayoutFromExecutions();
        // A job cancelled before it started has its rows but no execution.finished for them: read
        // the rows once it is finished whenever the events did not account for every cell.
        if (data.counts && knownCells() < (data.counts.succeeded || 0) + (data.counts.failed || 0)
            + (data.counts.timedOut || 0) + (data.counts.cancelled || 0)) fillFromExecutions();
        break;
      default:
        break;
    }
    render();
  }

  function setConn(state, text) {
    connState.textContent = text || {
      connecting: 'Connecting…', live: '● Live', reconnecting: '↻ Reconnecting…', done: '■ Stream closed (job finished)',
      error: '✕ Not connected', unauthorized: '✕ Token required',
    }[state] || state;
    connState.dataset.state = state;
  }

  function closeStream() {
    streamGen++;
    if (stream) { stream.close(); stream = null; }
  }

  /**
   * Shows why the page cannot read the job and stops there: asking again without another token
   * would only be refused again. Saving a token in the header starts the page over (onToken).
   */
  function askForToken(status, problem) {
    closeStream();
    needsToken = true;
    setConn('unauthorized');
    const had = Boolean(token.get());
    const said = problem && (problem.detail || problem.title);
    authNotice.replaceChildren(
      h('strong', {}, had ? `The API token was refused (${status}).` : 'This runner needs an API token to show jobs.'),
      ' ', had ? 'Enter a valid token' : 'Enter it', ' under “API token” at the top of the page and press Save: the page then connects by itself.',
      said ? h('span', {class: 'small'}, ` Runner: ${said}`) : null);
    authNotice.hidden = false;
    cancelBtn.disabled = true;
    renderMatrix();
  }

  /** Follows the job's event stream from after st.lastSeq (Last-Event-ID) until job.finished. */
  function connect() {
    closeStream();
    if (disposed || st.finished) return;
    const gen = ++streamGen;
    const current = () => gen === streamGen && !disposed;
    streamNotice.hidden = true;
    stream = followEvents(`jobs/${enc(jobId)}/events`, {
      headers: authHeaders,
      lastEventId: st.lastSeq > 0 ? String(st.lastSeq) : '',
      isLast: ev => ev.type === 'job.finished',
      onEvent: ev => { if (current()) onEvent(ev); },
      onState: (state, info) => {
        if (!current()) return;
        switch (state) {
          case 'connecting':
            setConn(info.attempt > 1 ? 'reconnecting' : 'connecting');
            break;
          case 'open':
            setConn('live');
            break;
          case 'retrying':
            setConn('reconnecting', `↻ Connection lost, reconnecting in ${Math.max(1, Math.round(info.delayMs / 1000))} s…`);
            break;
          case 'unauthorized':
            stream = null;
            askForToken(info.status, info.problem);
            break;
          case 'failed':
            stream = null;
            setConn('error');
            streamNotice.textContent = `The event stream could not be read: ${problemText({status: info.status, problem: info.problem})}`;
            streamNotice.hidden = false;
            break;
          default: // finished: onEvent handled job.finished
            break;
        }
      },
    });
  }

  function restartFresh() {
    st.cells.clear();
    st.current = null;
    st.lastSeq = 0;
    st.finishedQuestions.clear();
    connect();
  }

  retryBtn.addEventListener('click', async () => {
    retryBtn.disabled = true;
    actionState.textContent = 'Starting a retry…';
    const r = await api(`jobs/${enc(jobId)}/retry`, {method: 'POST'});
    if (disposed) return;
    retryBtn.disabled = false;
    if (r.ok && r.data && r.data.id) {
      location.hash = `#/jobs/${enc(r.data.id)}`;
    } else {
      actionState.textContent = `Could not retry: ${problemText(r)}`;
    }
  });

  cancelBtn.addEventListener('click', async () => {
    cancelBtn.disabled = true;
    actionState.textContent = 'Cancelling…';
    const r = await api(`jobs/${enc(jobId)}/cancel`, {method: 'POST'});
    if (disposed) return;
    if (r.ok) {
      actionState.textContent = 'Cancel requested.';
      if (r.data && r.data.status && !st.finished) st.status = r.data.status;
    } else {
      actionState.textContent = `Could not cancel: ${problemText(r)}`;
      cancelBtn.disabled = st.finished;
      if (r.status === 401) document.getElementById('token-input')?.focus();
    }
    render();
  });

  /** Loads the job, then follows its events; run again after a 401 once the user saved a token. */
  async function start() {
    needsToken = false;
    authNotice.hidden = true;
    setConn('connecting');
    const r = await refreshJob();
    if (disposed) return;
    if (!r.ok) {
      if (isAuthRefusal(r.status)) {
        askForToken(r.status, r.problem);
        return;
      }
      setConn('error');
      matrixWrap.replaceChildren(h('p', {class: 'notice notice-error', role: 'alert'},
        r.status === 404 ? `No job with id ${jobId}.` : `Could not load the job: ${problemText(r)}`));
      cancelBtn.disabled = true;
      return;
    }
    cancelBtn.disabled = st.finished || TERMINAL_JOB.has(st.status);
    if (!st.fixedLayout) {
      while (st.questions.length < (r.data.questions || 0)) st.questions.push(null);
      await seedLayoutFromExecutions();
    }
    if (disposed || needsToken) return;
    connect();
  }

  const onToken = () => { if (needsToken && !disposed) start(); };
  window.addEventListener(TOKEN_CHANGED, onToken);

  try { applySpec(JSON.parse(sessionStorage.getItem(SPEC_KEY(jobId)) || 'null')); } catch { /* ignore */ }
  renderMatrix();
  start();
  tick = setInterval(() => { if (!st.finishedAt) renderElapsed(); }, 1000);

  return () => {
    disposed = true;
    closeStream();
    clearInterval(tick);
    window.removeEventListener(TOKEN_CHANGED, onToken);
  };
}

function splitEndpoint(ep) {
  const at = ep.lastIndexOf('@');
  return at < 0 ? [ep, ''] : [ep.slice(0, at), ep.slice(at + 1)];
}

function countChip(cls, status, n) {
  const s = CELL_STATES[status];
  return h('span', {class: `count state-${cls}`, dataset: {count: status}},
    h('span', {'aria-hidden': 'true', class: 'count-icon'}, s.icon), ' ',
    h('span', {class: 'count-n'}, String(n)), ' ', s.label.toLowerCase());
}

function legend() {
  return h('ul', {class: 'legend', 'aria-label': 'Legend'},
    Object.entries(CELL_STATES).map(([, s]) => h('li', {class: `badge state-${s.cls}`},
      h('span', {class: 'badge-icon', 'aria-hidden': 'true'}, s.icon), ' ', s.label)));
}

/* ------------------------------------------------------------------ comparison */

/** How a number is shown: p/q-values with up to 4 significant digits, scores with 2 decimals. */
function fmtP(v) {
  if (v === null || v === undefined) return '—';
  return v < 0.001 ? Number(v).toExponential(1) : String(Number(Number(v).toPrecision(2)));
}

function fmtPct(v) {
  return v === null || v === undefined ? '—' : `${(v * 100).toFixed(v > 0 && v < 0.1 ? 1 : 0)} %`;
}

/** The heat map's colour class of one (question, model): significant, close, not, or not testable. */
function qClass(effect, alpha) {
  if (!effect || !effect.testable) return 'q-na';
  if (effect.qValue < alpha) return 'q-sig';
  if (effect.qValue < Math.max(0.25, alpha * 5)) return 'q-near';
  return 'q-none';
}

function comparisonView(root, jobId) {
  let disposed = false;
  const body = h('div', {id: 'comparison', 'aria-busy': 'true'}, h('p', {class: 'muted'}, 'Loading the comparison…'));
  const overview = h('div', {id: 'comparison-overview'});
  const liveState = h('span', {id: 'comparison-live', class: 'small muted', role: 'status'});
  const onlyDivergent = h('input', {type: 'checkbox', id: 'only-divergent'});
  const showRemoved = h('input', {type: 'checkbox', id: 'show-removed', checked: true});
  const openSamples = new Set(); // which regions' sample lists the user opened, kept across live updates
  // Drift: another run of the same questions to compare this one with (?baseline=).
  const baselineInput = h('input', {type: 'text', id: 'baseline-id', class: 'mono', size: '38', placeholder: 'job id of an earlier run',
    'aria-label': 'Baseline job id'});
  const baselineBtn = h('button', {type: 'button', class: 'btn btn-small', id: 'apply-baseline'}, 'Compare with baseline');
  let baseline = '';
  let data = null;
  let stream = null;

  append(root, [
    h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'},
      h('a', {href: '#/'}, 'Jobs'), ' / ', h('a', {href: `#/jobs/${enc(jobId)}`}, jobId), ' / ', h('span', {}, 'Comparison')),
    h('h1', {class: 'page-title'}, 'Regions compared'),
    h('div', {class: 'panel compare-tools'},
      h('p', {class: 'small'}, 'Each model\'s answers side by side. The first region is the baseline; in the other columns ',
        h('ins', {class: 'diff-add'}, 'added words'), ' are marked and ', h('del', {class: 'diff-del'}, 'missing words'),
        ' are struck through.'),
      h('div', {class: 'form-row'},
        h('label', {class: 'check'}, onlyDivergent, ' Only divergent models'),
        h('label', {class: 'check'}, showRemoved, ' Show missing words'),
        h('a', {class: 'btn btn-small', href: `#/jobs/${enc(jobId)}`}, 'Back to the job'), liveState),
      h('div', {class: 'form-row'}, h('label', {for: 'baseline-id'}, 'Drift from an earlier run: '), baselineInput, baselineBtn)),
    overview,
    body,
  ]);

  const renderAll = () => {
    if (!data) return;
    body.classList.toggle('hide-removed', !showRemoved.checked);
    const questions = data.questions || [];
    overview.replaceChildren(...overviewPanels(data));
    const sections = questions.map((q, qi) => {
      const models = (q.models || []).filter(m => !onlyDivergent.checked || m.divergent);
      if (models.length === 0 && onlyDivergent.checked) return null;
      return h('section', {class: 'panel question', id: `q-${qi}`, 'aria-labelledby': `q-${qi}-title`, dataset: {question: q.questionId}},
        h('h2', {id: `q-${qi}-title`}, h('span', {class: 'q-index'}, `${qi + 1}.`), ' ', h('code', {}, q.questionId),
          q.text ? h('span', {class: 'q-title-text'}, ` ${q.text}`) : null),
        models.map(m => modelBlock(q, m)));
    }).filter(Boolean);
    body.replaceChildren(
      h('p', {class: 'small muted'}, `Similarity measure: ${data.measure || 'unspecified'}. ${questions.length} questions`,
        data.samples ? `, ${data.samples} sample${data.samples === 1 ? '' : 's'} per endpoint.` : '.'),
      questions.length > 1 ? h('nav', {class: 'q-jump', 'aria-label': 'Questions'},
        questions.map((q, qi) => h('a', {href: '#', onclick: e => { e.preventDefault(); jumpTo(qi); }}, q.questionId))) : null,
      ...(sections.length ? sections : [h('p', {class: 'muted'}, 'Nothing to show.')]));
  };

  function jumpTo(qi) {
    const target = document.getElementById(`q-${qi}`);
    target?.scrollIntoView({behavior: 'smooth', block: 'start'});
    target?.querySelector('h2')?.setAttribute('tabindex', '-1');
    target?.querySelector('h2')?.focus({preventScroll: true});
  }

  /** The job at a glance: tests and divergent counts, the q-value heat map, refusal rates with intervals. */
  function overviewPanels(d) {
    const alpha = d.alpha ?? 0.05;
    const questions = d.questions || [];
    const models = questions.length ? (questions[0].models || []).map(m => m.modelId) : [];
    const summary = d.summary || {tests: 0, divergent: 0, perRegion: []};
    const byTest = questions.reduce((n, q) => n + (q.models || []).filter(m => m.divergent && m.regionEffect?.testable).length, 0);
    const heat = h('table', {id: 'qvalue-heatmap', class: 'heatmap'},
      h('caption', {}, 'Region effect per question and model: Benjamini–Hochberg q-value (divergent below ',
        String(alpha), '); “n/t”: not testable'),
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Question'), models.map(m => h('th', {scope: 'col'}, h('code', {}, m))))),
      h('tbody', {}, questions.map((q, qi) => h('tr', {},
        h('th', {scope: 'row'}, h('a', {href: '#', onclick: e => { e.preventDefault(); jumpTo(qi); }}, q.questionId)),
        (q.models || []).map(m => {
          const e = m.regionEffect || {};
          const label = e.testable ? `q = ${fmtP(e.qValue)}` : 'n/t';
          return h('td', {class: `heat ${qClass(e, alpha)}${m.divergent ? ' heat-divergent' : ''}`,
            dataset: {question: q.questionId, model: m.modelId, testable: String(Boolean(e.testable))},
            title: e.testable ? `p = ${fmtP(e.pValue)}, q = ${fmtP(e.qValue)}, effect ${e.statistic}` : (e.reason || 'not testable')},
          m.divergent ? h('span', {'aria-label': 'divergent'}, '≠ ') : null, label);
        })))));
    const legend = h('ul', {class: 'legend heat-legend', 'aria-label': 'Heat map legend'},
      h('li', {class: 'heat q-sig'}, `q < ${alpha}`), h('li', {class: 'heat q-near'}, `q < ${Math.max(0.25, alpha * 5)}`),
      h('li', {class: 'heat q-none'}, 'higher'), h('li', {class: 'heat q-na'}, 'not testable'));
    const rates = h('ul', {id: 'refusal-rates', class: 'rate-bars', 'aria-label': 'Refusal rate per endpoint with 95 % interval'},
      (summary.perRegion || []).map(r => {
        const ci = r.refusalRateCi95 || null;
        const label = r.answers ? `${r.refusals}/${r.answers} · ${fmtPct(r.refusalRate)}`
          + (ci ? ` [${fmtPct(ci[0])} – ${fmtPct(ci[1])}]` : '') : 'no answers yet';
        return h('li', {class: 'rate-row', dataset: {endpoint: `${r.modelId}@${r.region}`}},
          h('span', {class: 'rate-name'}, h('code', {}, `${r.modelId}@${r.region}`)),
          h('span', {class: 'rate-track', 'aria-hidden': 'true'},
            r.answers ? h('span', {class: 'rate-bar', style: `width:${(r.refusalRate || 0) * 100}%`}) : null,
            ci ? h('span', {class: 'rate-ci', style: `left:${ci[0] * 100}%;width:${(ci[1] - ci[0]) * 100}%`}) : null),
          h('span', {class: 'rate-label small'}, label));
      }));
    return [
      h('section', {class: 'panel overview', 'aria-labelledby': 'overview-title'},
        h('h2', {id: 'overview-title'}, 'Overview'),
        h('p', {id: 'comparison-summary'}, `${summary.tests} of ${questions.length * models.length} question × model tests testable; `,
          h('strong', {}, `${summary.divergent} divergent`), ` — ${byTest} by the region-effect test (q below alpha ${alpha}, `,
          'Benjamini–Hochberg over the job\'s tests), ', `${summary.divergent - byTest} by the one-sample rule where not testable.`),
        h('div', {class: 'overview-grid'},
          h('div', {class: 'heat-wrap'}, heat, legend),
          h('div', {}, h('h3', {}, 'Refusal rate per endpoint'), rates,
            h('p', {class: 'small muted'}, 'Bar: share of succeeded answers that are refusals; band: Wilson 95 % interval.')))),
    ];
  }

  function regionEffectLine(m) {
    const e = m.regionEffect || {};
    if (!e.testable) {
      return h('p', {class: 'small region-effect not-testable'}, 'Region effect not testable: ', e.reason || 'too few answers', '.',
        m.divergent ? ' Divergent by the one-sample rule (a pair below 0.5 or only some regions refused).' : '');
    }
    return h('p', {class: 'small region-effect'}, 'Region effect: ',
      h('strong', {}, `q = ${fmtP(e.qValue)}`), ` (p = ${fmtP(e.pValue)}, ${Number(e.permutations).toLocaleString()} permutations), `,
      `effect ${e.statistic} (mean distance between regions − within)`,
      m.servedModelsDiffer ? h('span', {class: 'badge state-partial'}, ' Served models differ') : null);
  }

  function modelBlock(q, m) {
    const regions = m.regions || [];
    const base = regions[0];
    const sims = m.similarities || [];
    const scoreOf = (a, b) => sims.find(s => (s.regionA === a && s.regionB === b) || (s.regionA === b && s.regionB === a));
    return h('article', {class: `model-block${m.divergent ? ' divergent' : ''}`, dataset: {model: m.modelId}},
      h('header', {class: 'model-block-head'},
        h('h3', {}, m.modelId),
        m.divergent ? h('span', {class: 'badge state-failed'}, h('span', {'aria-hidden': 'true', class: 'badge-icon'}, '≠'), ' Divergent')
          : h('span', {class: 'badge state-succeeded'}, h('span', {'aria-hidden': 'true', class: 'badge-icon'}, '='), ' Consistent'),
        sims.length ? h('ul', {class: 'sims', 'aria-label': 'Similarity between regions'},
          sims.map(s => h('li', {class: `sim ${s.score < 0.5 ? 'sim-low' : ''}`},
            `${s.regionA} ↔ ${s.regionB} `, h('strong', {}, Number(s.score).toFixed(2)),
            h('meter', {min: 0, max: 1, low: 0.5, optimum: 1, value: s.score, 'aria-hidden': 'true'})))) : null),
      regionEffectLine(m),
      h('div', {class: 'region-cols', style: `--cols:${Math.max(1, regions.length)}`},
        regions.map((r, i) => regionColumn(q, m, r, i === 0 ? null : base, i === 0 ? null : scoreOf(base.region, r.region)))));
  }

  function samplesList(q, m, r) {
    const answers = r.answers || [];
    if (answers.length < 2) return null;
    const id = `${q.questionId}/${m.modelId}@${r.region}`;
    const details = h('details', {class: 'samples', open: openSamples.has(id)},
      h('summary', {}, `All ${answers.length} samples`),
      h('ol', {class: 'sample-list', start: 0}, answers.map(a => h('li', {class: 'sample', dataset: {sample: String(a.sample)}},
        h('span', {class: 'small muted'}, `#${a.sample} `), a.status ? cellBadge(a.status) : h('span', {class: 'muted small'}, 'pending'),
        a.refusal ? h('span', {class: 'badge state-refusal', title: a.refusalReason || ''}, ' ⚑ Refusal') : null,
        a.text ? h('p', {class: 'sample-text'}, a.text) : null))));
    details.addEventListener('toggle', () => { if (details.open) openSamples.add(id); else openSamples.delete(id); });
    return details;
  }

  function regionColumn(q, m, r, base, sim) {
    let textEl;
    let diffNote = null;
    if (r.text === null || r.text === undefined || r.text === '') {
      textEl = h('p', {class: 'muted answer-text'}, r.status === 'SUCCEEDED' ? '(empty answer)'
        : r.status ? `No answer${r.errorCode ? ` (${r.errorCode})` : ''}.` : 'No answer yet.');
    } else if (!base || !base.text) {
      textEl = h('p', {class: 'answer-text'}, r.text);
    } else {
      const d = diffWords(base.text, r.text);
      textEl = h('p', {class: 'answer-text'}, d.parts.map(p => {
        if (p.kind === 'add') return h('ins', {class: 'diff-add'}, p.text);
        if (p.kind === 'del') return h('del', {class: 'diff-del'}, p.text);
        return p.text;
      }));
      diffNote = h('p', {class: 'small muted diff-note'}, d.truncated ? 'Too long to diff.'
        : `vs ${base.region}: ${d.added} added, ${d.removed} missing, ${d.same} shared words`);
    }
    const ci = r.refusalRateCi95;
    return h('section', {class: 'region-col', dataset: {region: r.region}, 'aria-label': `${r.region} answer`},
      h('header', {class: 'region-col-head'},
        h('h4', {}, r.region, base ? null : h('span', {class: 'muted small'}, ' (baseline)')),
        r.status ? cellBadge(r.status) : cellBadge('PENDING'),
        r.refusal ? h('span', {class: 'badge state-refusal', title: r.refusalReason || ''},
          h('span', {'aria-hidden': 'true', class: 'badge-icon'}, '⚑'), ' Refusal') : null),
      h('p', {class: 'small muted region-meta'},
        [r.latencyMs !== null && r.latencyMs !== undefined ? fmtMs(r.latencyMs) : null,
          r.finishReason ? `finish: ${r.finishReason}` : null, r.errorCode ? `error: ${r.errorCode}` : null,
          sim ? `similarity to ${base.region}: ${Number(sim.score).toFixed(2)}` : null].filter(Boolean).join(' · ')),
      (r.answers || []).length > 1 ? h('p', {class: 'small region-stats'},
        `${r.refusals}/${r.succeeded} refused`, ci ? ` (${fmtPct(r.refusalRate)}, 95 % ${fmtPct(ci[0])}–${fmtPct(ci[1])})` : '',
        r.withinSimilarity !== null && r.withinSimilarity !== undefined ? ` · within-region similarity ${Number(r.withinSimilarity).toFixed(2)}` : '',
        (r.servedModels || []).length ? ` · served: ${r.servedModels.join(', ')}` : '') : null,
      r.refusal && r.refusalReason ? h('p', {class: 'small refusal-reason'}, 'Refusal: ', r.refusalReason) : null,
      r.baseline ? baselineNote(r.baseline) : null,
      textEl, diffNote, samplesList(q, m, r));
  }

  /** How this region's answers compare with the baseline run's: changed or not, and the figures. */
  function baselineNote(b) {
    const figures = [b.similarity !== null && b.similarity !== undefined ? `similarity ${Number(b.similarity).toFixed(2)}` : null,
      b.pValue !== null && b.pValue !== undefined ? `p = ${Number(b.pValue).toPrecision(2)}` : null,
      `${b.answers} baseline answer${b.answers === 1 ? '' : 's'}`].filter(Boolean).join(' · ');
    const state = b.changed === true ? 'changed' : b.changed === false ? 'unchanged' : 'not comparable';
    return h('p', {class: `small baseline-note baseline-${state.replace(' ', '-')}`, dataset: {changed: String(b.changed)}},
      h('strong', {}, b.changed === true ? 'Changed since the baseline' : b.changed === false ? 'Unchanged since the baseline'
        : 'No baseline answers to compare'), figures ? ` (${figures})` : '');
  }

  baselineBtn.addEventListener('click', () => { baseline = baselineInput.value.trim(); load(); });

  onlyDivergent.addEventListener('change', renderAll);
  showRemoved.addEventListener('change', () => body.classList.toggle('hide-removed', !showRemoved.checked));

  let needsToken = false;
  let loading = false;
  let again = false;
  const load = async () => {
    if (loading) { again = true; return; } // one request at a time; the latest change is read after it
    loading = true;
    needsToken = false;
    const r = await api(`jobs/${enc(jobId)}/comparison${baseline ? `?baseline=${enc(baseline)}` : ''}`);
    loading = false;
    if (disposed) return;
    body.removeAttribute('aria-busy');
    if (!r.ok) {
      needsToken = isAuthRefusal(r.status);
      body.replaceChildren(h('p', {class: 'notice notice-error', role: 'alert'}, `Could not load the comparison: ${problemText(r)}`));
      return;
    }
    data = r.data;
    renderAll();
    if (again) { again = false; load(); }
  };

  // While the job runs, reload when answers arrive: at most every RELOAD_MS, and once more at job.finished.
  const RELOAD_MS = 1500;
  let reloadTimer = null;
  const scheduleReload = () => {
    if (reloadTimer || disposed) return;
    reloadTimer = setTimeout(() => { reloadTimer = null; load(); }, RELOAD_MS);
  };
  const follow = async () => {
    const job = await api(`jobs/${enc(jobId)}`);
    if (disposed || !job.ok || TERMINAL_JOB.has(job.data.status)) return;
    liveState.textContent = '● Updating while the job runs';
    stream = followEvents(`jobs/${enc(jobId)}/events`, {
      headers: authHeaders,
      isLast: ev => ev.type === 'job.finished',
      onEvent: ev => {
        if (disposed) return;
        if (ev.type === 'job.finished') {
          liveState.textContent = 'Job finished.';
          clearTimeout(reloadTimer);
          reloadTimer = null;
          load();
        } else if (ev.type === 'execution.finished') {
          scheduleReload();
        }
      },
      onState: state => {
        if (!disposed && (state === 'failed' || state === 'unauthorized')) liveState.textContent = '';
      },
    });
  };

  const onToken = () => { if (needsToken && !disposed) { load(); follow(); } };
  window.addEventListener(TOKEN_CHANGED, onToken);
  load();
  follow();

  return () => {
    disposed = true;
    clearTimeout(reloadTimer);
    if (stream) stream.close();
    window.removeEventListener(TOKEN_CHANGED, onToken);
  };
}

/* ------------------------------------------------------------------ start */

initTokenForm();
window.addEventListener('hashchange', () => {
  route();
  window.scrollTo(0, 0);
  document.getElementById('main')?.focus({preventScroll: true});
});
route();

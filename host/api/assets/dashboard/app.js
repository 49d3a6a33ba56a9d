// Hypernet Swarm dashboard: reads the host's HTTP API once, then follows /api/events and
// patches what each event changes. No framework and no build step. Every element is made
// with textContent, never innerHTML, so task titles, errors and model output cannot inject
// markup.

const SVG_NS = 'http://www.w3.org/2000/svg';
const TOKEN_KEY = 'hypernet.token';
const HOUR = 3600e3;
const DAY = 24 * HOUR;

const ACTIVE = ['pending', 'blocked', 'ready', 'assigned', 'running', 'needs_input', 'delegated'];
const FINISHED = ['completed', 'failed', 'cancelled'];
const STATUSES = [...ACTIVE, ...FINISHED];
const PRIORITY_RANK = { critical: 3, high: 2, normal: 1, low: 0 };
// Event kinds that name a status differently from the task's own word.
const KIND_STATUS = { started: 'running', retried: 'ready', blocked: 'blocked' };

const ROW_HEIGHT = 46;
const OVERSCAN = 6;
const PAGE = 500;
const FINISHED_KEPT = 3000; // finished tasks held in memory; older ones are let go
const OUTPUT_KEPT = 20000; // characters of streamed output per task
const WORKER_CARDS = 48;
const WORKER_DETAILS = 24;
const APPROVALS_LISTED = 50; // pending requests shown
const DECIDED_SCANNED = 50; // newest requests read to find the recently decided ones
const DECIDED_SHOWN = 5;
const ARGS_SHOWN = 160; // characters of a request's arguments in its row

// ---------------------------------------------------------------- small helpers

const $ = (selector) => document.querySelector(selector);

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : String(child));
  }
  return el;
}

/** Replaces an element's children, skipping empty ones. */
function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** An HTML element: `h('span', {class: 'x', text: 'y', onclick}, ...children)`. */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  return append(el, children);
}

/** An SVG element with attributes. */
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null) el.setAttribute(key, value);
  }
  return append(el, children);
}

const fmt = {
  usd(micros) {
    if (micros === null || micros === undefined) return '—';
    const d = micros / 1e6;
    if (d === 0) return '$0';
    if (d >= 100) return `$${d.toFixed(0)}`;
    if (d >= 1) return `$${d.toFixed(2)}`;
    if (d >= 0.0001) return `$${d.toFixed(d >= 0.01 ? 3 : 4)}`;
    // Amounts under a hundredth of a cent are shown to the micro-dollar.
    return `$${d.toFixed(6).replace(/0+$/, '')}`;
  },
  count(n) {
    if (n === null || n === undefined) return '—';
    if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
    if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
    if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
    return String(n);
  },
  span(ms) {
    const s = Math.max(0, ms / 1000);
    if (s < 60) return `${Math.floor(s)}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
    return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  },
  ago(ms) {
    if (!ms) return '—';
    const d = Date.now() - ms;
    return d < 0 ? `in ${fmt.span(-d)}` : `${fmt.span(d)} ago`;
  },
  time(ms) {
    return ms ? new Date(ms).toLocaleString() : '—';
  },
  /** The time of day, `HH:MM:SS` in local time. */
  clock(ms) {
    const d = new Date(ms);
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  },
  pct(x) {
    return `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;
  },
};

const taskNum = (id) => Number(String(id).replace(/^T-/, '')) || 0;
const itemsOf = (x) => (Array.isArray(x) ? x : x && Array.isArray(x.items) ? x.items : []);

/**
 * Runs `fn` at most once per `ms`, after the call that asked: a burst of events costs one
 * request, and a request asked for while one runs is made once it ends.
 */
function throttle(fn, ms) {
  let timer = null;
  let last = -Infinity;
  let running = false;
  let again = false;
  const run = async () => {
    timer = null;
    last = performance.now();
    running = true;
    try {
      await fn();
    } catch {
      // each loader shows its own error in its panel
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (running) {
      again = true;
    } else if (!timer) {
      timer = setTimeout(run, Math.max(0, last + ms - performance.now()));
    }
  };
  return schedule;
}

/** Calls `fn` once in the next animation frame however often it is asked. */
function perFrame(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      fn();
    });
  };
}

// ---------------------------------------------------------------- token and API calls

const auth = {
  token: null,

  /** Takes `#token=` from the address (and clears it from there), else the stored one. */
  load() {
    const match = /(?:^|&)token=([^&]*)/.exec(location.hash.slice(1));
    if (match) {
      this.save(decodeURIComponent(match[1]));
      history.replaceState(null, '', location.pathname + location.search);
    } else {
      try {
        this.token = localStorage.getItem(TOKEN_KEY) || null;
      } catch {
        this.token = null;
      }
    }
  },

  save(token) {
    this.token = token.trim() || null;
    try {
      if (this.token) localStorage.setItem(TOKEN_KEY, this.token);
      else localStorage.removeItem(TOKEN_KEY);
    } catch {
      // storage may be off; the token then lasts as long as the page
    }
  },
};

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the API; answers the parsed JSON or throws an ApiError carrying the host's message. */
async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'network', `the host is not answering (${e.message})`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error;
    if (response.status === 401) tokenForm.show(error && error.message);
    throw new ApiError(
      response.status,
      (error && error.code) || 'http',
      (error && error.message) || `${method} ${path}: HTTP ${response.status}`,
    );
  }
  return data;
}

/** True for a 404 that is the route missing (an older host), not a missing thing. */
const routeMissing = (e) =>
  e instanceof ApiError && e.status === 404 && (e.code === 'http' || e.message.startsWith('no route'));

// ---------------------------------------------------------------- the store

const store = {
  tasks: new Map(),
  byStatus: new Map(STATUSES.map((s) => [s, new Set()])),
  output: new Map(), // task id -> model output streamed so far
  workers: new Map(),
  hourly: new Map(), // worker name -> 24 hourly buckets from the host
  plugins: [],
  budget: null,
  cost: null,
  history: null,
  status: null,
  statusAt: 0,
  // Tasks by status over everything stored: a baseline from /api/summary, then moved by
  // each event's `from` and `status`.
  counts: null,
  paged: false, // the host answers task listings in pages
  lastEventId: 0,
  pid: null, // the host's process: a new one starts its event ids again
  selected: null,
  routes: { graph: true, history: true, approvals: true, bus: true, cost: true },
};

function setStatusIndex(id, from, to) {
  if (from === to) return;
  if (from && store.byStatus.has(from)) store.byStatus.get(from).delete(id);
  if (to) {
    if (!store.byStatus.has(to)) store.byStatus.set(to, new Set());
    store.byStatus.get(to).add(id);
  }
  board.touch(from, to);
}

/** Stores a task as the API gave it (replacing what was known). */
function putTask(task) {
  const old = store.tasks.get(task.id);
  task._rev = (old ? old._rev : 0) + 1;
  store.tasks.set(task.id, task);
  setStatusIndex(task.id, old && old.status, task.status);
  board.touch(task.status);
  if (task.id === store.selected) detail.changed();
  return task;
}

/** Changes some fields of a task (from an event); creates it when unknown. */
function patchTask(id, patch) {
  const old = store.tasks.get(id);
  const task = old || { id, title: '', priority: 'normal', tags: [], attempts: 0, _rev: 0 };
  const from = old ? old.status : null;
  for (const [key, value] of Object.entries(patch)) {
    if (value !== undefined) task[key] = value;
  }
  task._rev += 1;
  store.tasks.set(id, task);
  setStatusIndex(id, from, task.status);
  board.touch(task.status);
  if (id === store.selected) detail.changed();
  graph.changed(id);
  return task;
}

function dropTask(id) {
  const task = store.tasks.get(id);
  if (!task) return;
  store.tasks.delete(id);
  store.output.delete(id);
  setStatusIndex(id, task.status, null);
}

function mergeTasks(list) {
  for (const task of list) {
    if (task && task.id) putTask(task);
  }
}

// ---------------------------------------------------------------- loading

async function loadTasks() {
  const first = await api(`/api/tasks?limit=${PAGE}`);
  mergeTasks(itemsOf(first));
  store.paged = !Array.isArray(first) && first !== null && typeof first.total === 'number';
  if (!store.paged) return;
  // The open queue is loaded whole (up to a bound); finished tasks page in as columns scroll.
  const active = ACTIVE.join(',');
  for (let offset = 0; offset < 20 * PAGE; offset += PAGE) {
    const page = await api(`/api/tasks?status=${active}&offset=${offset}&limit=${PAGE}`);
    const items = itemsOf(page);
    mergeTasks(items);
    if (items.length < PAGE || offset + PAGE >= page.total) break;
  }
}

/** Reads the tasks, noting on the board when that fails. */
function reloadTasks() {
  return loadTasks().then(
    () => {
      board.error = null;
    },
    (e) => {
      board.error = `tasks: ${e.message}`;
    },
  );
}

/** One count per status over every stored task (the host scans them: only at start). */
async function loadCounts() {
  const summary = await api('/api/summary');
  store.counts = { ...(summary.by_status || {}) };
}

/** Moves one task between the counts of two statuses. */
function countMove(from, to) {
  if (!store.counts || from === to) return;
  if (from) store.counts[from] = Math.max(0, (store.counts[from] || 0) - 1);
  if (to) store.counts[to] = (store.counts[to] || 0) + 1;
}

async function loadStatus() {
  store.status = await api('/api/status');
  store.statusAt = Date.now();
  // A host that counts completed tasks here counts every status; one that counts only
  // the tasks it holds is exact for the unfinished ones, and the rest keep their count.
  const held = store.status.tasks || {};
  if (!store.counts) store.counts = { ...held };
  const exact = 'completed' in held ? STATUSES : ACTIVE;
  for (const status of exact) store.counts[status] = held[status] || 0;
  header.render();
  board.touch(...STATUSES);
}

async function loadWorkers() {
  try {
    const list = itemsOf(await api('/api/workers'));
    const names = new Set(list.map((w) => w.name));
    for (const name of store.workers.keys()) {
      if (!names.has(name)) store.workers.delete(name);
    }
    for (const worker of list) store.workers.set(worker.name, worker);
    workers.error = null;
  } catch (e) {
    workers.error = e.message;
  }
  workers.render();
}

async function loadWorkerDetails() {
  const names = [...store.workers.keys()].slice(0, WORKER_DETAILS);
  await Promise.all(
    names.map(async (name) => {
      try {
        const worker = await api(`/api/workers/${encodeURIComponent(name)}`);
        if (Array.isArray(worker.hourly)) store.hourly.set(name, worker.hourly);
      } catch {
        // the card keeps the figures it has
      }
    }),
  );
  workers.render();
}

async function loadPlugins() {
  try {
    store.plugins = itemsOf(await api('/api/plugins'));
    plugins.error = null;
  } catch (e) {
    plugins.error = e.message;
  }
  plugins.render();
}

async function loadBudget() {
  try {
    store.budget = await api('/api/budget');
    budget.error = null;
  } catch (e) {
    budget.error = e.message;
  }
  if (store.routes.cost) {
    try {
      store.cost = await api('/api/cost?days=1');
    } catch (e) {
      if (routeMissing(e)) store.routes.cost = false;
    }
  }
  budget.render();
  header.render();
}

async function loadHistory() {
  if (!store.routes.history) return;
  try {
    store.history = await api('/api/budget/history?days=14');
  } catch (e) {
    if (routeMissing(e)) store.routes.history = false;
  }
  budget.render();
}

async function loadFailures() {
  try {
    mergeTasks(itemsOf(await api('/api/failures?limit=50')));
    failures.error = null;
  } catch (e) {
    failures.error = e.message;
  }
  failures.render();
}

/** The pending requests and the newest decided ones; a host without the queue is left be. */
async function loadApprovals() {
  if (!store.routes.approvals) return;
  const epoch = approvals.epoch;
  try {
    const [pending, recent] = await Promise.all([
      api(`/api/approvals?status=pending&limit=${APPROVALS_LISTED}`),
      api(`/api/approvals?limit=${DECIDED_SCANNED}`),
    ]);
    // A decision made meanwhile is newer than this answer; the refresh it asked for follows.
    if (epoch !== approvals.epoch) return;
    approvals.take(pending, itemsOf(recent));
    approvals.error = null;
  } catch (e) {
    if (routeMissing(e)) store.routes.approvals = false;
    else approvals.error = e.message;
  }
  approvals.render();
}

/** The newest messages between workers; a host without the bus is left be. */
async function loadBus() {
  if (!store.routes.bus) return;
  try {
    const page = await api(`/api/bus?limit=${BUS_LISTED}`);
    bus.messages = itemsOf(page);
    bus.total = (page && page.total) || bus.messages.length;
    bus.error = null;
  } catch (e) {
    if (routeMissing(e)) store.routes.bus = false;
    else bus.error = e.message;
  }
  bus.render();
}

const refresh = {
  status: throttle(loadStatus, 1000),
  workers: throttle(loadWorkers, 3000),
  workerDetails: throttle(loadWorkerDetails, 60000),
  plugins: throttle(loadPlugins, 250),
  budget: throttle(loadBudget, 2000),
  history: throttle(loadHistory, 60000),
  failures: throttle(() => failures.render(), 500),
  approvals: throttle(loadApprovals, 500),
  bus: throttle(loadBus, 1000),
};

// ---------------------------------------------------------------- header

const header = {
  render() {
    const s = store.status;
    const dl = $('#summary');
    dl.replaceChildren();
    if (s) {
      const t = store.counts || {};
      const sum = (keys) => keys.reduce((n, k) => n + (t[k] || 0), 0);
      const uptime = (s.uptime_ms || 0) + (Date.now() - store.statusAt);
      const delegated = sum(['delegated']);
      // Each figure counts one thing: a task reserved for a worker (`assigned`) is not
      // running until its call starts.
      const items = [
        ['queued', sum(['pending', 'blocked', 'ready']), 'Tasks waiting: just filed, on dependencies, or for a worker'],
        ['reserved', sum(['assigned']), 'Tasks reserved for a worker (assigned), not started yet'],
        ['running', sum(['running']), 'Tasks whose model call is in flight here'],
        delegated ? ['delegated', delegated, 'Tasks run by another swarm'] : null,
        ['input', sum(['needs_input']), 'Tasks waiting for a person: a question or an approval'],
        ['done', sum(['completed']), 'Tasks completed'],
        ['failed', sum(['failed']), 'Tasks failed (some wait for an automatic retry)'],
        [
          'workers',
          `${s.workers ? s.workers.busy : 0}/${s.workers ? s.workers.total : 0} busy`,
          'Workers holding a task, of all workers',
        ],
        [
          'plugins',
          `${s.plugins ? s.plugins.loaded : 0}/${s.plugins ? s.plugins.total : 0}`,
          'Plugins loaded, of those in the manifest',
        ],
        ['up', fmt.span(uptime), 'Time since the host started'],
      ];
      for (const [label, value, hint] of items.filter(Boolean)) {
        dl.append(
          h(
            'div',
            { dataset: { stat: label }, title: hint },
            h('dt', { text: label }),
            h('dd', { text: fmt.count(value) }),
          ),
        );
      }
    }
    const mini = $('#budget-mini');
    mini.replaceChildren();
    const b = store.budget;
    if (b) {
      const limit = b.daily_limit_micros;
      const share = limit ? Math.min(1, b.spent_today_micros / limit) : 0;
      const bar = h('span', { class: 'bar' }, h('span', { class: 'fill' }));
      bar.firstChild.style.width = `${share * 100}%`;
      mini.classList.toggle('hot', share >= 0.8);
      append(mini, [
        h('span', {
          text: `today ${fmt.usd(b.spent_today_micros)}${limit ? ` of ${fmt.usd(limit)}` : ' · no limit'}`,
        }),
        limit ? bar : null,
        b.paused ? h('span', { class: 'badge bad', text: 'paused' }) : null,
      ]);
    }
  },

  connection(state, text) {
    const el = $('#conn');
    el.dataset.state = state;
    el.textContent = text || state;
    document.body.dataset.live = state === 'live' ? '1' : '0';
  },
};

// ---------------------------------------------------------------- token form

const tokenForm = {
  init() {
    const form = $('#token-form');
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      auth.save($('#token-input').value);
      $('#token-input').value = '';
      form.hidden = Boolean(auth.token);
      stream.restart();
      refresh.plugins();
      refresh.budget();
      refresh.approvals();
    });
    $('#token-forget').addEventListener('click', () => {
      auth.save('');
      stream.restart();
      this.show();
    });
    $('#token-toggle').addEventListener('click', () => {
      form.hidden = !form.hidden;
      if (!form.hidden) $('#token-input').focus();
    });
    if (!auth.token) this.show();
  },

  show(reason) {
    $('#token-form').hidden = false;
    if (reason) $('#token-note').textContent = reason;
  },
};

// ---------------------------------------------------------------- the board

function byQueue(a, b) {
  return (PRIORITY_RANK[b.priority] || 0) - (PRIORITY_RANK[a.priority] || 0) || taskNum(a.id) - taskNum(b.id);
}

/** Reserved tasks first (they start next), then the queue's order. */
function byReady(a, b) {
  return (b.status === 'assigned') - (a.status === 'assigned') || byQueue(a, b);
}

function byStart(a, b) {
  return (
    (a.status === 'running' ? 0 : 1) - (b.status === 'running' ? 0 : 1) ||
    (a.started_ms || 0) - (b.started_ms || 0) ||
    taskNum(a.id) - taskNum(b.id)
  );
}

function byFinish(a, b) {
  return (b.finished_ms || 0) - (a.finished_ms || 0) || taskNum(b.id) - taskNum(a.id);
}

// Five columns, so that titles have room at 1366 pixels; each row's chip names its status.
const COLUMNS = [
  {
    key: 'waiting',
    title: 'Waiting',
    statuses: ['pending', 'blocked'],
    order: byQueue,
    hint: 'Just filed (pending), or waiting on dependencies (blocked)',
  },
  {
    key: 'ready',
    title: 'Ready',
    statuses: ['assigned', 'ready'],
    order: byReady,
    hint: 'Waiting for a worker (ready); reserved for a worker that is busy (assigned) on top',
  },
  {
    key: 'running',
    title: 'Running',
    statuses: ['running', 'delegated'],
    order: byStart,
    hint: 'Model call in flight (running), or run by another swarm (delegated)',
  },
  {
    key: 'input',
    title: 'Needs input',
    statuses: ['needs_input'],
    order: byQueue,
    hint: 'Waiting for a person: an answer to a question, or an approval',
  },
  {
    key: 'finished',
    title: 'Finished',
    statuses: ['completed', 'failed', 'cancelled'],
    order: byFinish,
    hint: 'Completed, failed or cancelled, newest first',
  },
];

/** What a status chip's colour means, for its tooltip. */
const STATUS_HINT = {
  pending: 'just filed',
  blocked: 'waits on its dependencies',
  ready: 'waits for a worker',
  assigned: 'reserved for a worker, not started yet',
  running: 'its model call is in flight',
  needs_input: 'waits for a person',
  delegated: 'run by another swarm',
  completed: 'done',
  failed: 'failed',
  cancelled: 'withdrawn',
};

/** A failed task waiting for its automatic retry: when, as `retrying at 12:04:31 · in 9m`. */
function retryNote(task) {
  if (task.status !== 'failed' || !task.retry_at_ms) return null;
  const left = task.retry_at_ms - Date.now();
  return `retrying at ${fmt.clock(task.retry_at_ms)}${left > 1000 ? ` · in ${fmt.span(left)}` : ''}`;
}

/** What a row shows under its title. */
function rowMeta(task) {
  const parts = [];
  if (task.status === 'assigned' && task.worker) parts.push(`next for ${task.worker}`);
  else if (task.worker) parts.push(task.worker);
  else if (task.status === 'delegated' && task.delegation) parts.push(`at ${task.delegation.swarm}`);
  if (task.status === 'blocked' && task.blocked_reason) parts.push(task.blocked_reason);
  const asked = (task.clarifications || []).at(-1);
  if (task.status === 'needs_input' && asked) parts.push(`asks: ${asked.question}`);
  if (task.attempts > 1 || task.status === 'failed')
    parts.push(`try ${task.attempts}/${task.max_attempts || '?'}`);
  const retrying = retryNote(task);
  if (retrying) parts.push(retrying);
  const when = task.finished_ms || task.started_ms || task.created_ms;
  if (when) parts.push(fmt.ago(when));
  return parts.join(' · ');
}

/** One column of the board: only the rows in view (plus a few) exist in the DOM. */
class Column {
  constructor(def) {
    this.def = def;
    this.ids = [];
    this.loaded = 0;
    this.dirty = true;
    this.loading = false;
    this.pool = [];
    this.count = h('span', { class: 'count' });
    this.spacer = h('div', { class: 'spacer' });
    this.viewport = h('div', { class: 'col-body' }, this.spacer);
    this.el = h(
      'section',
      { class: `col col-${def.key}`, dataset: { column: def.key } },
      h('header', { title: def.hint }, h('h3', { text: def.title }), this.count),
      this.viewport,
    );
    this.viewport.addEventListener('scroll', () => board.schedule(), { passive: true });
    this.viewport.addEventListener('click', (e) => {
      const row = e.target.closest('.task-row');
      if (row) detail.select(row.dataset.task);
    });
    this.viewport.addEventListener('keydown', (e) => {
      const row = e.target.closest('.task-row');
      if (row && (e.key === 'Enter' || e.key === ' ')) {
        e.preventDefault();
        detail.select(row.dataset.task);
      }
    });
  }

  /** Recomputes which tasks the column lists, in order. */
  rebuild(matches) {
    const tasks = [];
    for (const status of this.def.statuses) {
      for (const id of store.byStatus.get(status) || []) {
        const task = store.tasks.get(id);
        if (task) tasks.push(task);
      }
    }
    tasks.sort(this.def.order);
    if (this.def.order === byFinish && tasks.length > FINISHED_KEPT) {
      for (const task of tasks.splice(FINISHED_KEPT)) {
        if (task.id !== store.selected) dropTask(task.id);
      }
    }
    this.loaded = tasks.length;
    this.ids = tasks.filter(matches).map((t) => t.id);
    this.dirty = false;
  }

  /** The host's count of this column's tasks, when known. */
  total() {
    const counts = store.counts;
    if (!counts) return null;
    return this.def.statuses.reduce((n, s) => n + (counts[s] || 0), 0);
  }

  render(filtering) {
    const n = this.ids.length;
    const total = this.total();
    const shown = filtering ? `${n} of ${this.loaded}` : String(Math.max(total || 0, n));
    if (this.count.textContent !== shown) this.count.textContent = shown;
    this.spacer.style.height = `${n * ROW_HEIGHT}px`;
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(n, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    while (this.pool.length < last - first) {
      const row = makeRow();
      this.pool.push(row);
      this.spacer.append(row.el);
    }
    while (this.pool.length > last - first) this.pool.pop().el.remove();
    for (let i = 0; i < this.pool.length; i += 1) {
      const index = first + i;
      const row = this.pool[i];
      const task = store.tasks.get(this.ids[index]);
      if (!task) {
        // let go since the last rebuild: the next frame lists the column again
        this.dirty = true;
        board.schedule();
        continue;
      }
      if (row.index !== index) {
        row.el.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
        row.index = index;
      }
      const selected = task.id === store.selected;
      if (
        row.id !== task.id ||
        row.rev !== task._rev ||
        row.selected !== selected ||
        row.tick !== board.tick
      ) {
        fillRow(row, task, selected);
      }
    }
    const nearEnd = top + height > n * ROW_HEIGHT - 4 * ROW_HEIGHT;
    if (nearEnd && !filtering && store.paged && total !== null && this.loaded < total) this.loadMore();
  }

  async loadMore() {
    if (this.loading) return;
    this.loading = true;
    try {
      const statuses = this.def.statuses.join(',');
      const page = await api(`/api/tasks?status=${statuses}&offset=${this.loaded}&limit=200`);
      mergeTasks(itemsOf(page));
    } catch {
      // scrolling again tries again
    } finally {
      this.loading = false;
    }
  }
}

function makeRow() {
  const id = h('span', { class: 'tid' });
  const prio = h('span', { class: 'prio' });
  const title = h('span', { class: 'title' });
  const chip = h('span', { class: 'chip' });
  const meta = h('span', { class: 'meta' });
  const el = h(
    'div',
    { class: 'task-row', role: 'button', tabindex: '0' },
    h('div', { class: 'line' }, prio, title),
    h('div', { class: 'line sub' }, id, chip, meta),
  );
  return {
    el,
    parts: { id, prio, title, chip, meta },
    id: null,
    rev: -1,
    index: -1,
    selected: false,
    tick: -1,
  };
}

function fillRow(row, task, selected) {
  const { parts } = row;
  row.el.dataset.task = task.id;
  row.el.dataset.status = task.status;
  row.el.classList.toggle('selected', selected);
  parts.id.textContent = task.id;
  parts.prio.className = `prio p-${task.priority}`;
  parts.prio.title = `${task.priority} priority`;
  parts.title.textContent = task.title || '(untitled)';
  row.el.title = task.title || '';
  parts.chip.className = `chip s-${task.status}`;
  parts.chip.textContent = task.status;
  parts.chip.title = STATUS_HINT[task.status] || task.status;
  parts.meta.textContent = rowMeta(task);
  row.id = task.id;
  row.rev = task._rev;
  row.selected = selected;
  row.tick = board.tick;
}

const board = {
  columns: [],
  filter: '',
  tick: 0,
  error: null,

  init() {
    const root = $('#board');
    for (const def of COLUMNS) {
      const column = new Column(def);
      this.columns.push(column);
      root.append(column.el);
    }
    $('#filter').addEventListener('input', (e) => {
      this.filter = e.target.value.trim().toLowerCase();
      for (const column of this.columns) {
        column.dirty = true;
        column.viewport.scrollTop = 0;
      }
      this.schedule();
      if (store.paged && this.filter) this.search();
    });
    window.addEventListener('resize', () => this.schedule());
  },

  /** Marks the columns holding these statuses for a rebuild. */
  touch(...statuses) {
    for (const column of this.columns) {
      if (statuses.some((s) => column.def.statuses.includes(s))) column.dirty = true;
    }
    this.schedule();
  },

  /** Asks the host for matches beyond the tasks in memory (a host that answers pages). */
  search: (() => {
    let timer = null;
    return () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const q = board.filter;
        if (!q) return;
        try {
          mergeTasks(itemsOf(await api(`/api/tasks?q=${encodeURIComponent(q)}&limit=200`)));
        } catch {
          // the filter still applies to the tasks in memory
        }
      }, 300);
    };
  })(),

  /** Re-renders relative times. */
  age() {
    this.tick += 1;
    this.schedule();
  },

  matches(task) {
    const q = board.filter;
    if (!q) return true;
    return (
      task.id.toLowerCase() === q ||
      (task.title || '').toLowerCase().includes(q) ||
      (task.worker || '').toLowerCase().includes(q) ||
      (task.tags || []).some((t) => t.toLowerCase() === q)
    );
  },

  render() {
    const filtering = Boolean(this.filter);
    for (const column of this.columns) {
      if (column.dirty) column.rebuild((t) => this.matches(t));
    }
    // Empty columns shrink to their header, giving their width to the others.
    const any = this.columns.some((c) => c.ids.length);
    const widths = this.columns.map((c) => (c.ids.length || !any ? 'minmax(0, 1fr)' : 'max-content')).join(' ');
    if (this.widths !== widths) {
      this.widths = widths;
      $('#board').style.gridTemplateColumns = widths;
    }
    for (const column of this.columns) column.render(filtering);
    const loaded = store.tasks.size;
    const note = $('#loaded-note');
    note.textContent = this.error || (loaded ? `${loaded} loaded` : '');
    note.classList.toggle('error', Boolean(this.error));
  },
};
board.schedule = perFrame(() => board.render());

// ---------------------------------------------------------------- the selected task

function field(label, value) {
  if (value === null || value === undefined || value === '') return null;
  return [h('dt', { text: label }), h('dd', {}, value)];
}

function taskLink(id) {
  return h('button', { type: 'button', class: 'link', text: id, onclick: () => detail.select(id) });
}

const detail = {
  error: null,
  outputEl: null,

  async select(id) {
    if (!id) return;
    const previous = store.selected;
    store.selected = id;
    board.schedule();
    this.error = null;
    this.render();
    if (previous !== id) graph.load(id);
    await this.fetch();
  },

  async fetch() {
    const id = store.selected;
    try {
      const task = await api(`/api/tasks/${encodeURIComponent(id)}`);
      if (store.selected === id) putTask(task);
    } catch (e) {
      if (store.selected === id) this.error = e.message;
    }
    if (store.selected === id) this.render();
  },

  changed() {
    this.schedule();
  },

  /** Closes the task's view, giving the board its height back. */
  close() {
    store.selected = null;
    this.error = null;
    graph.data = null;
    board.schedule();
    this.render();
  },

  async act(action, body) {
    const id = store.selected;
    try {
      putTask(await api(`/api/tasks/${encodeURIComponent(id)}/${action}`, { method: 'POST', body }));
      this.error = null;
    } catch (e) {
      this.error = `${action}: ${e.message}`;
    }
    this.render();
  },

  render() {
    const root = $('#detail');
    const id = store.selected;
    const task = id && store.tasks.get(id);
    root.dataset.open = id ? '1' : '0';
    if (!task) {
      fill(
        root,
        h('p', {
          class: 'empty',
          text: id ? `Loading ${id}…` : 'Select a task to see its details and dependency graph.',
        }),
        this.error ? h('p', { class: 'error', text: this.error }) : null,
      );
      return;
    }
    const result = task.result || null;
    const tokens = result ? (result.input_tokens || 0) + (result.output_tokens || 0) : null;
    const live = store.output.get(task.id);
    const open = !FINISHED.includes(task.status);
    const scrolled = [graph.el.scrollLeft, graph.el.scrollTop];
    const retrying = retryNote(task);
    this.outputEl = live !== undefined && open ? h('pre', { class: 'output live', text: live }) : null;
    const info = h(
      'div',
      { class: 'detail-info' },
      h(
        'header',
        { class: 'detail-head' },
        h('span', { class: 'tid', text: task.id }),
        h('span', {
          class: `chip s-${task.status}`,
          title: STATUS_HINT[task.status] || task.status,
          text: task.status,
        }),
        h('span', { class: `prio p-${task.priority}`, title: `${task.priority} priority` }),
        h(
          'span',
          { class: 'actions' },
          task.status !== 'completed' && task.status !== 'cancelled' ? this.button('cancel', 'Cancel') : null,
          // A failed task with a retry scheduled is retried by the host; the button is
          // for those that failed for good.
          task.status === 'failed' && !retrying ? this.button('retry', 'Retry') : null,
          retrying ? h('span', { class: 'retrying note', text: retrying }) : null,
        ),
        h('button', {
          type: 'button',
          class: 'quiet close',
          title: 'Close',
          'aria-label': 'Close the task',
          text: '×',
          onclick: () => this.close(),
        }),
        h('h2', { text: task.title || '(untitled)' }),
      ),
      this.error ? h('p', { class: 'error', text: this.error }) : null,
      h(
        'dl',
        { class: 'fields' },
        field('worker', task.worker),
        field('model', task.model || (result && result.model)),
        field('route', task.route_reason),
        field(
          'attempts',
          task.max_attempts ? `${task.attempts} of ${task.max_attempts}` : String(task.attempts || 0),
        ),
        field('tags', (task.tags || []).join(', ')),
        field(
          'depends on',
          (task.depends_on || []).length ? (task.depends_on || []).map((d) => [taskLink(d), ' ']) : null,
        ),
        field('blocked', task.status === 'blocked' ? task.blocked_reason : null),
        field('filed', task.created_ms ? `${fmt.ago(task.created_ms)} by ${task.filed_by || '?'}` : null),
        field('started', task.started_ms ? fmt.ago(task.started_ms) : null),
        field('finished', task.finished_ms ? fmt.ago(task.finished_ms) : null),
        field('retry', retrying),
        field(
          'tokens',
          tokens !== null
            ? `${fmt.count(tokens)} (${fmt.count(result.input_tokens)} in, ${fmt.count(result.output_tokens)} out)`
            : null,
        ),
        field('cost', result ? fmt.usd(result.cost_micros) : null),
      ),
      task.description ? h('p', { class: 'description', text: task.description }) : null,
      this.questions(task),
      task.error ? h('pre', { class: 'error-box', text: task.error }) : null,
      this.outputEl ? [h('h3', { text: 'Output (streaming)' }), this.outputEl] : null,
      result && result.text
        ? [h('h3', { text: 'Answer' }), h('pre', { class: 'output', text: result.text })]
        : null,
    );
    const deps = h(
      'div',
      { class: 'detail-graph' },
      h(
        'h3',
        {},
        'Dependencies ',
        h('span', { class: 'note', text: 'what it waits on, left; what waits on it, right' }),
      ),
      graph.el,
    );
    fill(root, info, deps);
    [graph.el.scrollLeft, graph.el.scrollTop] = scrolled;
  },

  /** The questions the worker asked, their answers, and a form while one is open. */
  questions(task) {
    const asked = task.clarifications || [];
    if (!asked.length) return null;
    const list = h(
      'dl',
      { class: 'questions' },
      asked.map((c) => [
        h('dt', { text: `${c.asked_by || 'worker'} asks: ${c.question}` }),
        h('dd', { text: c.answer ? c.answer : 'not answered yet' }),
      ]),
    );
    if (task.status !== 'needs_input') return [h('h3', { text: 'Questions' }), list];
    const approval = asked.at(-1).approval;
    if (approval) {
      const waits = `Waits on approval request ${approval}: approve or deny it under Approvals.`;
      return [h('h3', { text: 'Needs your approval' }), list, h('p', { class: 'note', text: waits })];
    }
    const input = h('textarea', { name: 'answer', rows: 3, placeholder: 'Your answer' });
    const form = h(
      'form',
      {
        class: 'answer-form',
        onsubmit: (e) => {
          e.preventDefault();
          const answer = input.value.trim();
          if (answer) this.act('answer', { answer });
        },
      },
      input,
      h('button', { type: 'submit', dataset: { action: 'answer' }, text: 'Answer' }),
    );
    return [h('h3', { text: 'Needs your input' }), list, form];
  },

  button(action, text) {
    return h('button', { type: 'button', dataset: { action }, text, onclick: () => this.act(action) });
  },

  /** Appends streamed output to the open view without rebuilding it. */
  showOutput(id) {
    if (id !== store.selected) return;
    const text = store.output.get(id) || '';
    if (this.outputEl) {
      this.outputEl.textContent = text;
      this.outputEl.scrollTop = this.outputEl.scrollHeight;
    } else {
      this.render();
    }
  },
};
detail.schedule = throttle(async () => detail.render(), 200);

// ---------------------------------------------------------------- dependency graph

const NODE_W = 132;
const NODE_H = 34;
const GAP_X = 28;
const GAP_Y = 10;
const GRAPH_NODES = 80;
// The whole graph is shrunk to the panel's width, down to this share of its size; a
// larger one scrolls.
const GRAPH_MIN_SCALE = 0.6;

/** The graph of `id` built from the tasks in memory (used when the host has no graph route). */
function localGraph(id) {
  const dependents = new Map();
  for (const task of store.tasks.values()) {
    for (const dep of task.depends_on || []) {
      if (!dependents.has(dep)) dependents.set(dep, []);
      dependents.get(dep).push(task.id);
    }
  }
  const seen = new Set([id]);
  const queue = [id];
  while (queue.length && seen.size < GRAPH_NODES) {
    const current = queue.shift();
    const task = store.tasks.get(current);
    const next = [...((task && task.depends_on) || []), ...(dependents.get(current) || [])];
    for (const other of next) {
      if (!seen.has(other) && seen.size < GRAPH_NODES) {
        seen.add(other);
        queue.push(other);
      }
    }
  }
  const nodes = [...seen].map((n) => {
    const task = store.tasks.get(n);
    return task
      ? {
          id: n,
          title: task.title,
          status: task.status,
          worker: task.worker,
          depends_on: task.depends_on || [],
        }
      : { id: n, title: '', status: 'unknown', depends_on: [] };
  });
  const edges = [];
  for (const node of nodes) {
    for (const dep of node.depends_on) {
      if (seen.has(dep)) edges.push({ from: dep, to: node.id });
    }
  }
  return { task: id, nodes, edges };
}

/** Columns of nodes: a node sits one column right of its furthest dependency. */
function layered(nodes, edges) {
  const deps = new Map(nodes.map((n) => [n.id, []]));
  for (const edge of edges) {
    if (deps.has(edge.from) && deps.has(edge.to)) deps.get(edge.to).push(edge.from);
  }
  const layer = new Map();
  const visiting = new Set();
  const depth = (id) => {
    if (layer.has(id)) return layer.get(id);
    if (visiting.has(id)) return 0;
    visiting.add(id);
    let d = 0;
    for (const dep of deps.get(id)) d = Math.max(d, depth(dep) + 1);
    visiting.delete(id);
    layer.set(id, d);
    return d;
  };
  const columns = [];
  for (const node of nodes) {
    const d = depth(node.id);
    (columns[d] = columns[d] || []).push(node);
  }
  // Order each column by the mean row of its dependencies, to keep edges short.
  const row = new Map();
  columns.forEach((column, i) => {
    const mean = (node) => {
      const rows = deps
        .get(node.id)
        .map((d) => row.get(d))
        .filter((r) => r !== undefined);
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : 0;
    };
    column.sort((a, b) => (i > 0 ? mean(a) - mean(b) : 0) || taskNum(a.id) - taskNum(b.id));
    column.forEach((node, j) => row.set(node.id, j));
  });
  return columns.filter(Boolean);
}

function shorten(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

const graph = {
  el: h('div', { class: 'graph' }),
  data: null,
  ids: new Set(),

  async load(id) {
    this.data = null;
    this.draw();
    let data = null;
    if (store.routes.graph) {
      try {
        data = await api(`/api/tasks/${encodeURIComponent(id)}/graph`);
      } catch (e) {
        if (routeMissing(e)) store.routes.graph = false;
      }
    }
    if (store.selected !== id) return;
    this.data = data && Array.isArray(data.nodes) ? data : localGraph(id);
    this.ids = new Set(this.data.nodes.map((n) => n.id));
    this.draw();
  },

  /** A task in the drawn graph changed: take its status from the store. */
  changed(id) {
    if (!this.data || !this.ids.has(id)) return;
    const task = store.tasks.get(id);
    const node = this.data.nodes.find((n) => n.id === id);
    if (task && node && node.status !== task.status) {
      node.status = task.status;
      this.redraw();
    }
  },

  draw() {
    const data = this.data;
    this.el.replaceChildren();
    if (!data) {
      this.el.append(h('p', { class: 'note', text: 'Loading…' }));
      return;
    }
    if (data.nodes.length <= 1) {
      this.el.append(h('p', { class: 'note', text: 'No dependencies and no dependents.' }));
      return;
    }
    if (data.truncated) {
      this.el.append(
        h('p', { class: 'note', text: `Only the nearest ${data.nodes.length} tasks are drawn.` }),
      );
    }
    const columns = layered(data.nodes, data.edges || []);
    const tallest = Math.max(...columns.map((c) => c.length));
    const width = columns.length * (NODE_W + GAP_X) - GAP_X + 8;
    const height = tallest * (NODE_H + GAP_Y) - GAP_Y + 8;
    const at = new Map();
    columns.forEach((column, i) => {
      const offset = ((tallest - column.length) * (NODE_H + GAP_Y)) / 2;
      column.forEach((node, j) =>
        at.set(node.id, { x: 4 + i * (NODE_W + GAP_X), y: 4 + offset + j * (NODE_H + GAP_Y) }),
      );
    });
    const root = svg('svg', {
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': `Dependency graph of ${data.task}`,
    });
    root.append(
      svg(
        'defs',
        {},
        svg(
          'marker',
          {
            id: 'dag-arrow',
            viewBox: '0 0 8 8',
            refX: 7,
            refY: 4,
            markerWidth: 7,
            markerHeight: 7,
            orient: 'auto',
          },
          svg('path', { d: 'M0,0 L8,4 L0,8 z', class: 'arrow' }),
        ),
      ),
    );
    for (const edge of data.edges || []) {
      const a = at.get(edge.from);
      const b = at.get(edge.to);
      if (!a || !b) continue;
      const x1 = a.x + NODE_W;
      const y1 = a.y + NODE_H / 2;
      const x2 = b.x - 2;
      const y2 = b.y + NODE_H / 2;
      const bend = Math.max(16, (x2 - x1) / 2);
      root.append(
        svg('path', {
          class: 'edge',
          d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
          'marker-end': 'url(#dag-arrow)',
        }),
      );
    }
    for (const node of data.nodes) {
      const p = at.get(node.id);
      const classes = ['node', `s-${node.status}`, node.id === data.task ? 'focus' : ''].join(' ');
      const g = svg('g', {
        class: classes,
        transform: `translate(${p.x},${p.y})`,
        tabindex: 0,
        'data-node': node.id,
      });
      g.append(
        svg('title', {}, `${node.id} ${node.title || ''} (${node.status})`),
        svg('rect', { width: NODE_W, height: NODE_H, rx: 5 }),
        svg('text', { x: 7, y: 14, class: 'nid' }, `${node.id} · ${node.status}`),
        svg('text', { x: 7, y: 27, class: 'ntitle' }, shorten(node.title || '', 20)),
      );
      g.addEventListener('click', () => detail.select(node.id));
      g.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') detail.select(node.id);
      });
      root.append(g);
    }
    // CSS shrinks it to the panel's width (keeping its proportions), no further than this.
    root.style.minWidth = `${Math.ceil(width * GRAPH_MIN_SCALE)}px`;
    this.el.append(root);
    // The first time a task's graph is drawn, show it with the column of its dependencies
    // (when the whole graph does not fit).
    const focus = at.get(data.task);
    if (focus && this.centered !== data.task) {
      this.centered = data.task;
      const scale = root.getBoundingClientRect().width / width || 1;
      this.el.scrollLeft = Math.max(0, (focus.x - NODE_W - GAP_X) * scale);
      this.el.scrollTop = Math.max(0, focus.y * scale - (this.el.clientHeight - NODE_H * scale) / 2);
    }
  },
};
graph.redraw = perFrame(() => graph.draw());

// ---------------------------------------------------------------- small charts

/** An empty chart: its frame, its description for tooltips and screen readers, a baseline. */
function chartFrame(width, height, label, cls = '') {
  const root = svg('svg', {
    class: `chart ${cls}`,
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': label,
  });
  root.append(svg('title', {}, label));
  root.append(svg('line', { class: 'base', x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5 }));
  return root;
}

/** Bars for 24 hourly values, `failed` stacked on `done`. */
function barChart(done, failed, { width = 120, height = 30, label }) {
  const n = done.length;
  const top = Math.max(1, ...done.map((d, i) => d + (failed ? failed[i] : 0)));
  const w = width / n;
  const root = chartFrame(width, height, label);
  done.forEach((d, i) => {
    const f = failed ? failed[i] : 0;
    const hd = (d / top) * (height - 2);
    const hf = (f / top) * (height - 2);
    if (hd > 0)
      root.append(
        svg('rect', {
          class: 'bar-ok',
          x: i * w + 0.5,
          y: height - hd,
          width: Math.max(1, w - 1),
          height: hd,
        }),
      );
    if (hf > 0)
      root.append(
        svg('rect', {
          class: 'bar-bad',
          x: i * w + 0.5,
          y: height - hd - hf,
          width: Math.max(1, w - 1),
          height: hf,
        }),
      );
  });
  return root;
}

/** A line with its area for hourly values. */
function sparkline(values, { width = 120, height = 30, label, cls = '' }) {
  const top = Math.max(...values, 0);
  const root = chartFrame(width, height, label, cls);
  if (top > 0) {
    const step = width / Math.max(1, values.length - 1);
    const points = values.map(
      (v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / top) * (height - 3)).toFixed(1)}`,
    );
    root.append(
      svg('path', { class: 'area', d: `M0,${height} L${points.join(' L')} L${width},${height} z` }),
    );
    root.append(svg('path', { class: 'line', d: `M${points.join(' L')}` }));
  }
  return root;
}

function chartBox(title, value, chart) {
  return h(
    'figure',
    { class: 'mini' },
    chart,
    h('figcaption', {}, h('span', { text: title }), h('b', { text: value })),
  );
}

// ---------------------------------------------------------------- workers

/** 24 hourly buckets ending with the current hour, from the host or from loaded tasks. */
function hourlyOf(name) {
  const now = Date.now();
  const thisHour = Math.floor(now / HOUR) * HOUR;
  const buckets = Array.from({ length: 24 }, (_, i) => ({
    hour_ms: thisHour - (23 - i) * HOUR,
    completed: 0,
    failed: 0,
    tokens: 0,
    cost_micros: 0,
  }));
  const slot = (ms) => {
    const i = 23 - Math.floor((thisHour - Math.floor(ms / HOUR) * HOUR) / HOUR);
    return i >= 0 && i < 24 ? buckets[i] : null;
  };
  const fromHost = store.hourly.get(name);
  if (fromHost) {
    for (const hour of fromHost) {
      const b = slot(hour.hour_ms);
      if (!b) continue;
      b.completed += hour.completed || 0;
      b.failed += hour.failed || 0;
      b.tokens += hour.tokens || 0;
      b.cost_micros += hour.cost_micros || 0;
    }
    return buckets;
  }
  for (const status of ['completed', 'failed']) {
    for (const id of store.byStatus.get(status)) {
      const task = store.tasks.get(id);
      if (!task || task.worker !== name || !task.finished_ms) continue;
      const b = slot(task.finished_ms);
      if (!b) continue;
      b[status] += 1;
      if (task.result) {
        b.tokens += (task.result.input_tokens || 0) + (task.result.output_tokens || 0);
        b.cost_micros += task.result.cost_micros || 0;
      }
    }
  }
  return buckets;
}

const workers = {
  error: null,
  live: new Map(), // worker -> task whose output streams
  opened: new Set(), // workers whose charts are shown

  /** Keeps the cards right between two refreshes. */
  onTaskEvent(status, payload, at) {
    const worker = payload.worker && store.workers.get(payload.worker);
    if (!worker) return;
    const id = payload.id;
    if (status === 'assigned') {
      if (!worker.current_task) worker.current_task = id;
      else if (worker.current_task !== id) worker.next_task = id;
    } else if (status === 'running') {
      worker.current_task = id;
      if (worker.next_task === id) worker.next_task = null;
    } else if (FINISHED.includes(status) || status === 'ready') {
      if (worker.current_task === id) worker.current_task = null;
      if (worker.next_task === id) worker.next_task = null;
      this.live.delete(payload.worker);
    }
    const stats = worker.stats || (worker.stats = {});
    if (status === 'completed' || status === 'failed') this.countHour(payload.worker, status, payload, at);
    if (status === 'completed') {
      stats.tasks_done = (stats.tasks_done || 0) + 1;
      stats.tokens = (stats.tokens || 0) + (payload.input_tokens || 0) + (payload.output_tokens || 0);
      stats.cost_micros = (stats.cost_micros || 0) + (payload.cost_micros || 0);
      stats.last_active_ms = at;
    } else if (status === 'failed') {
      stats.tasks_failed = (stats.tasks_failed || 0) + 1;
      stats.last_active_ms = at;
    }
    this.schedule();
  },

  /** Adds a finished call to the host's hourly figures until they are read again. */
  countHour(name, status, payload, at) {
    const hours = store.hourly.get(name);
    if (!hours) return; // figures computed from the tasks in memory follow by themselves
    const hourMs = Math.floor(at / HOUR) * HOUR;
    let hour = hours.find((b) => b.hour_ms === hourMs);
    if (!hour) {
      hour = { hour_ms: hourMs, completed: 0, failed: 0, tokens: 0, cost_micros: 0 };
      hours.push(hour);
    }
    hour[status] = (hour[status] || 0) + 1;
    hour.tokens += (payload.input_tokens || 0) + (payload.output_tokens || 0);
    hour.cost_micros += payload.cost_micros || 0;
  },

  /** One worker as a row: what it runs, and its tasks per hour; opened, every chart. */
  card(worker) {
    const stats = worker.stats || {};
    const hours = hourlyOf(worker.name);
    const done = hours.map((b) => b.completed);
    const failed = hours.map((b) => b.failed);
    const lastHour = hours[23];
    const current = worker.current_task;
    const currentTask = current && store.tasks.get(current);
    const liveId = this.live.get(worker.name);
    const liveText = liveId ? (store.output.get(liveId) || '').slice(-60).replace(/\s+/g, ' ') : '';
    const opened = this.opened.has(worker.name);
    // What a person or the failure ladder did to it, if anything.
    const held = worker.leaving
      ? ['leaving', 'removed: leaves when its call ends']
      : worker.paused
        ? ['paused', 'paused: takes no new task until resumed']
        : worker.suspended_until_ms
          ? ['suspended', `suspended by the failure ladder: ${worker.suspension_reason || ''}`]
          : null;
    return h(
      'article',
      { class: `worker ${current ? 'busy' : 'idle'}${opened ? ' opened' : ''}`, dataset: { worker: worker.name } },
      h(
        'header',
        {},
        h('span', {
          class: 'dot',
          title: current ? 'busy: holds a task' : 'idle: holds no task',
        }),
        h('button', {
          type: 'button',
          class: 'name link',
          'aria-expanded': opened ? 'true' : 'false',
          title: opened ? 'Hide the charts' : 'Show the charts of the last 24 hours',
          text: worker.name,
          onclick: () => this.toggle(worker.name),
        }),
        held ? h('span', { class: `state ${held[0]}`, title: held[1], text: held[0] }) : null,
        h('span', { class: 'role', text: worker.role || '' }),
        h('span', { class: 'model', text: worker.model || '' }),
        barChart(done, failed, {
          width: 72,
          height: 18,
          label: `${worker.name}: tasks per hour, last 24 h (failed in red); ${lastHour.completed + lastHour.failed} this hour`,
        }),
      ),
      h(
        'div',
        { class: 'now' },
        current
          ? [
              'running ',
              taskLink(current),
              currentTask ? h('span', { class: 'title', text: ` ${currentTask.title}` }) : null,
            ]
          : h('span', { class: 'note', text: `idle · last active ${fmt.ago(stats.last_active_ms)}` }),
        worker.next_task
          ? [h('span', { class: 'note', text: ' · next ' }), taskLink(worker.next_task)]
          : null,
      ),
      liveText ? h('div', { class: 'live', title: 'Model output as it streams', text: liveText }) : null,
      opened ? this.charts(worker, hours) : null,
    );
  },

  /** A worker's four charts of the last 24 hours and its totals. */
  charts(worker, hours) {
    const stats = worker.stats || {};
    const finished = (stats.tasks_done || 0) + (stats.tasks_failed || 0);
    const failRate = finished ? (stats.tasks_failed || 0) / finished : 0;
    const hourlyRate = hours.map((b) => (b.completed + b.failed ? b.failed / (b.completed + b.failed) : 0));
    const lastHour = hours[23];
    return [
      h(
        'div',
        { class: 'charts' },
        chartBox(
          'tasks/h',
          `${lastHour.completed + lastHour.failed}`,
          barChart(
            hours.map((b) => b.completed),
            hours.map((b) => b.failed),
            { label: `${worker.name}: tasks per hour, last 24 h (failed in red)` },
          ),
        ),
        [
          ['tokens/h', fmt.count(lastHour.tokens), hours.map((b) => b.tokens), 'tokens'],
          ['cost/h', fmt.usd(lastHour.cost_micros), hours.map((b) => b.cost_micros), 'cost'],
          ['fail rate', fmt.pct(failRate), hourlyRate, 'fail'],
        ].map(([title, value, series, cls]) =>
          chartBox(title, value, sparkline(series, { label: `${worker.name}: ${title}, last 24 h`, cls })),
        ),
      ),
      h(
        'dl',
        { class: 'stats' },
        field('done', fmt.count(stats.tasks_done || 0)),
        field('failed', fmt.count(stats.tasks_failed || 0)),
        field('tokens', fmt.count(stats.tokens || 0)),
        field('cost', fmt.usd(stats.cost_micros || 0)),
      ),
    ];
  },

  toggle(name) {
    if (this.opened.has(name)) this.opened.delete(name);
    else this.opened.add(name);
    this.render();
  },

  render() {
    const root = $('#workers');
    const all = [...store.workers.values()];
    const shown = all.slice(0, WORKER_CARDS);
    fill(root, ...shown.map((w) => this.card(w)));
    if (this.error) root.prepend(h('p', { class: 'error', text: this.error }));
    const busy = all.filter((w) => w.current_task).length;
    $('#workers-note').textContent = all.length
      ? `${busy} of ${all.length} busy${all.length > shown.length ? ` · first ${shown.length} shown` : ''}`
      : '';
  },
};
workers.schedule = throttle(async () => workers.render(), 500);

// ---------------------------------------------------------------- budget

const budget = {
  error: null,

  burn(b) {
    const dayStart = (b.next_reset_ms || Date.now() + DAY) - DAY;
    const elapsed = Math.max(Date.now() - dayStart, 60e3);
    const rate = (b.spent_today_micros / elapsed) * HOUR; // micro-dollars per hour
    const left = Math.max(0, (b.next_reset_ms || 0) - Date.now());
    return { rate, projected: b.spent_today_micros + (rate * left) / HOUR, left };
  },

  /** Today's spend by category against its target (over in red), and the month's projection. */
  categories(c) {
    const parts = c.categories
      .filter((row) => row.today_micros > 0 || row.target_micros != null)
      .map((row) => {
        const over = row.within_target === false;
        return h('span', {
          class: over ? 'badge bad' : '',
          title: row.target_micros != null
            ? `${row.category}: ${fmt.usd(row.today_micros)} today against a target of ${fmt.usd(row.target_micros)} ([budget.targets])`
            : `${row.category}: ${fmt.usd(row.today_micros)} today; no target set`,
          text: `${row.category} ${fmt.usd(row.today_micros)}${row.target_micros != null ? ` / ${fmt.usd(row.target_micros)}` : ''}`,
        });
      });
    const p = c.projection;
    return [
      parts.length
        ? h('p', { class: 'line note cost-categories' }, ...parts.flatMap((el, i) => (i ? [' · ', el] : [el])))
        : null,
      h('p', {
        class: 'line note cost-month',
        title: 'This calendar month (UTC) so far, and at the pace of its days by its end',
        text: `month ${fmt.usd(p.month_to_date_micros)} · ~${fmt.usd(p.end_of_month_micros)} by its end`,
      }),
    ];
  },

  /** What each saving saved today (those that saved anything). */
  savings(c) {
    const names = {
      compact_prompts: 'compact prompts',
      caching: 'caching',
      local_routing: 'local routing',
      batching: 'batching',
      batch_api: 'batch API',
    };
    const saved = c.savings.filter((s) => s.today_micros !== 0);
    if (!saved.length) return null;
    const usd = (m) => (m < 0 ? `-${fmt.usd(-m)}` : fmt.usd(m));
    return h('p', {
      class: 'line note cost-savings',
      title: saved.map((s) => `${names[s.kind] || s.kind}: ${usd(s.today_micros)} saved today`).join('\n'),
      text: `saved today: ${saved.map((s) => `${names[s.kind] || s.kind} ${usd(s.today_micros)}`).join(' · ')}`,
    });
  },

  /** Bars of the spend per day, scaled to the largest; a day over the limit in red. */
  history(days, limit) {
    const width = 300;
    const height = 24;
    const costs = days.map((d) => d.cost_micros || 0);
    const top = Math.max(1, ...costs);
    const w = width / days.length;
    const root = chartFrame(width, height, `Spend per day, last ${days.length} days`, 'history');
    // Bars may stretch to the card's width.
    root.setAttribute('preserveAspectRatio', 'none');
    days.forEach((day, i) => {
      const v = (costs[i] / top) * (height - 2);
      root.append(
        svg(
          'rect',
          {
            class: limit && costs[i] > limit ? 'bar-bad' : 'bar-ok',
            x: i * w + 1,
            y: height - v,
            width: Math.max(1, w - 2),
            height: v,
          },
          svg(
            'title',
            {},
            `${day.day}: ${fmt.usd(costs[i])}, ${fmt.count(day.tokens || 0)} tokens, ${day.tasks || 0} tasks`,
          ),
        ),
      );
    });
    return root;
  },

  render() {
    const root = $('#budget');
    const b = store.budget;
    if (!b) {
      fill(root, h('p', { class: this.error ? 'error' : 'note', text: this.error || 'Loading…' }));
      return;
    }
    const limit = b.daily_limit_micros;
    const { rate, projected, left } = this.burn(b);
    const meter = h(
      'div',
      { class: 'meter', title: 'Spent today (solid) and reserved for calls in flight (pale), against the daily limit' },
      h('span', { class: 'spent' }),
      h('span', { class: 'reserved' }),
    );
    if (limit) {
      const spent = Math.min(1, b.spent_today_micros / limit);
      meter.children[0].style.width = `${spent * 100}%`;
      meter.children[1].style.width = `${Math.min(1 - spent, (b.reserved_micros || 0) / limit) * 100}%`;
      meter.classList.toggle('hot', projected > limit);
    }
    const perModel = Object.entries(b.per_model || {})
      .sort((x, y) => (y[1].cost_micros || 0) - (x[1].cost_micros || 0))
      .slice(0, 6);
    const days = store.history && Array.isArray(store.history.days) ? store.history.days : null;
    let overIn = null;
    if (limit && rate > 0 && b.spent_today_micros < limit) {
      const until = ((limit - b.spent_today_micros) / rate) * HOUR;
      if (until < left) overIn = until;
    }
    const line = (...parts) => h('p', { class: 'line note' }, parts.filter(Boolean).join(' · '));
    fill(
      root,
      h(
        'p',
        { class: 'big' },
        h('b', { text: fmt.usd(b.spent_today_micros) }),
        limit ? ` of ${fmt.usd(limit)} today` : ' spent today · no daily limit',
        limit ? h('span', { class: 'note', text: ` (${fmt.pct(b.spent_today_micros / limit)})` }) : null,
        b.paused ? h('span', { class: 'badge bad', text: 'paid work paused: limit reached' }) : null,
      ),
      limit ? meter : null,
      line(
        `burn ${fmt.usd(rate)}/h`,
        `${fmt.usd(projected)} by the reset (${fmt.ago(b.next_reset_ms)})`,
        overIn !== null ? `limit in ~${fmt.span(overIn)}` : null,
      ),
      line(
        `session ${fmt.usd(b.spent_session_micros)}${b.session_limit_micros ? ` of ${fmt.usd(b.session_limit_micros)}` : ''}`,
        b.reserved_micros ? `reserved ${fmt.usd(b.reserved_micros)}` : null,
      ),
      ...(store.cost ? this.categories(store.cost) : []),
      store.cost ? this.savings(store.cost) : null,
      days && days.length
        ? h(
            'div',
            { class: 'days' },
            h('span', {
              class: 'note',
              title: `${days[0].day} to ${days[days.length - 1].day}; a day over the limit in red`,
              text: `spend, ${days.length} days`,
            }),
            days.some((d) => d.cost_micros > 0)
              ? this.history(days, limit)
              : h('span', { class: 'note', text: 'nothing spent on paid models' }),
          )
        : null,
      perModel.length
        ? h('p', {
            class: 'line note models',
            title: perModel
              .map(
                ([model, u]) =>
                  `${model}: ${fmt.usd(u.cost_micros || 0)}, ${fmt.count(u.calls || 0)} calls, ${fmt.count((u.input_tokens || 0) + (u.output_tokens || 0))} tokens`,
              )
              .join('\n'),
            text: `by model: ${perModel.map(([model, u]) => `${model} ${fmt.usd(u.cost_micros || 0)}`).join(' · ')}`,
          })
        : null,
    );
  },
};

// ---------------------------------------------------------------- plugins

const plugins = {
  error: null,
  busy: new Set(),
  errors: new Map(),

  async toggle(name, action) {
    this.busy.add(name);
    this.errors.delete(name);
    this.render();
    try {
      const status = await api(`/api/plugins/${encodeURIComponent(name)}/${action}`, { method: 'POST' });
      const i = store.plugins.findIndex((p) => p.name === name);
      if (i >= 0 && status && status.name) store.plugins[i] = status;
    } catch (e) {
      this.errors.set(name, e.message);
    }
    this.busy.delete(name);
    this.render();
    refresh.plugins();
  },

  render() {
    const root = $('#plugins');
    const loaded = store.plugins.filter((p) => p.state === 'loaded').length;
    $('#plugins-note').textContent = store.plugins.length ? `${loaded} of ${store.plugins.length} loaded` : '';
    fill(
      root,
      this.error ? h('p', { class: 'error', text: this.error }) : null,
      ...store.plugins.map((p) => {
        const on = p.state === 'loaded';
        const action = on ? 'disable' : 'enable';
        return h(
          'div',
          { class: 'plugin', dataset: { plugin: p.name, state: p.state } },
          h('span', {
            class: 'name',
            title: [p.name, p.version ? `v${p.version}` : null, (p.kinds || []).join(', ')]
              .filter(Boolean)
              .join(' · '),
            text: p.name,
          }),
          h('span', { class: 'kinds note', text: (p.kinds || []).join(', ') }),
          h('span', { class: `badge st-${p.state}`, text: p.state }),
          h('button', {
            type: 'button',
            class: 'quiet small',
            dataset: { action },
            disabled: this.busy.has(p.name),
            text: on ? 'Disable' : 'Enable',
            onclick: () => this.toggle(p.name, action),
          }),
          p.reason ? h('span', { class: 'reason error', title: p.reason, text: p.reason }) : null,
          this.errors.has(p.name)
            ? h('span', { class: 'reason error', text: this.errors.get(p.name) })
            : null,
        );
      }),
    );
  },
};

// ---------------------------------------------------------------- failures

const failures = {
  error: null,
  shown: 30,

  retry(id) {
    api(`/api/tasks/${encodeURIComponent(id)}/retry`, { method: 'POST' })
      .then(putTask)
      .catch((e) => {
        this.error = `retry ${id}: ${e.message}`;
        this.render();
      });
  },

  render() {
    const root = $('#failures');
    const failed = [...store.byStatus.get('failed')].map((id) => store.tasks.get(id)).filter(Boolean);
    failed.sort(byFinish);
    const counts = store.counts;
    const total = Math.max(counts ? counts.failed || 0 : 0, failed.length);
    const retrying = failed.filter((t) => retryNote(t)).length;
    $('#failures-note').textContent = total
      ? [
          String(total),
          retrying ? `${retrying} retrying` : null,
          total > this.shown ? `newest ${Math.min(this.shown, failed.length)} shown` : null,
        ]
          .filter(Boolean)
          .join(' · ')
      : '';
    fill(
      root,
      this.error ? h('p', { class: 'error', text: this.error }) : null,
      failed.length ? null : h('p', { class: 'note', text: 'No failed tasks.' }),
      ...failed.slice(0, this.shown).map((task) => this.row(task)),
    );
  },

  /** A failed task: Retry when it failed for good, else when the host retries it. */
  row(task) {
    const retrying = retryNote(task);
    return h(
      'div',
      { class: 'failure', dataset: { task: task.id, retrying: retrying ? '1' : '0' } },
      h(
        'div',
        { class: 'line' },
        taskLink(task.id),
        h('span', { class: 'title', title: task.title, text: task.title }),
        retrying
          ? h('span', {
              class: 'retrying note',
              title: 'The host retries it automatically then',
              text: retrying,
            })
          : h('button', {
              type: 'button',
              class: 'quiet small',
              dataset: { action: 'retry' },
              title: 'Failed for good: try it again',
              text: 'Retry',
              onclick: () => this.retry(task.id),
            }),
      ),
      h(
        'div',
        { class: 'line' },
        h('span', {
          class: 'note',
          title: [task.worker, task.model].filter(Boolean).join(' · '),
          text: `try ${task.attempts}/${task.max_attempts || '?'} · ${fmt.ago(task.finished_ms)}`,
        }),
        h('span', {
          class: 'error-line',
          title: task.error || '',
          text: task.error || '(no error recorded)',
        }),
      ),
    );
  },
};

// ---------------------------------------------------------------- approvals

/** What became of a decided request, in a few words. */
function approvalOutcome(a) {
  if (a.status !== 'approved') return a.note || '';
  const run = a.execution;
  if (!run) return 'not run yet';
  if (run.state === 'running') return 'running';
  if (run.state === 'interrupted') return 'interrupted: not run again';
  return run.ok ? 'ran ok' : 'run failed';
}

const approvals = {
  error: null, // reading the queue failed
  refusal: null, // the host refused a decision made here
  pending: [],
  total: 0,
  decided: [],
  busy: new Set(), // requests being decided from this page
  drafts: new Map(), // request id -> the reason typed so far
  waiting: new Set(), // tasks that wait on a pending request
  epoch: 0, // counts this page's decisions, so an older listing is not shown after one

  take(pending, recent) {
    const soonest = (a, b) => a.expires_ms - b.expires_ms || (a.id < b.id ? -1 : 1);
    this.pending = itemsOf(pending).sort(soonest);
    this.total = pending && typeof pending.total === 'number' ? pending.total : this.pending.length;
    this.decided = recent
      .filter((a) => a.status !== 'pending')
      .sort((a, b) => (b.decided_ms || 0) - (a.decided_ms || 0))
      .slice(0, DECIDED_SHOWN);
    this.waiting = new Set(this.pending.map((a) => a.task));
    for (const id of this.drafts.keys()) {
      if (!this.pending.some((a) => a.id === id)) this.drafts.delete(id);
    }
  },

  /** A task event: refreshes the list when a task starts or stops waiting on a request. */
  onTaskEvent(sub, p, id) {
    if (sub === 'needs_input' && p.approval) {
      this.waiting.add(id);
      refresh.approvals();
    } else if (this.waiting.has(id)) {
      this.waiting.delete(id);
      refresh.approvals();
    }
  },

  async decide(id, action) {
    const reason = (this.drafts.get(id) || '').trim();
    const body = action === 'deny' && reason ? { reason } : undefined;
    this.busy.add(id);
    this.refusal = null;
    this.render();
    try {
      const decided = await api(`/api/approvals/${encodeURIComponent(id)}/${action}`, {
        method: 'POST',
        body,
      });
      this.epoch += 1;
      this.pending = this.pending.filter((a) => a.id !== id);
      this.total = Math.max(0, this.total - 1);
      if (decided && decided.id) {
        this.decided = [decided, ...this.decided.filter((a) => a.id !== id)].slice(0, DECIDED_SHOWN);
      }
      this.drafts.delete(id);
    } catch (e) {
      this.refusal = `${action === 'approve' ? 'Approve' : 'Deny'} ${id}: ${e.message}`;
    }
    this.busy.delete(id);
    this.render();
    refresh.approvals();
  },

  row(a) {
    const busy = this.busy.has(a.id);
    const args = JSON.stringify(a.args === undefined ? null : a.args);
    const left = (a.expires_ms || 0) - Date.now();
    const reason = h('input', {
      name: 'reason',
      value: this.drafts.get(a.id) || '',
      placeholder: 'Reason to deny (optional)',
      autocomplete: 'off',
      maxlength: 500,
      'aria-label': `Reason to deny ${a.id}`,
      disabled: busy,
      oninput: (e) => this.drafts.set(a.id, e.target.value),
    });
    return h(
      'div',
      { class: 'approval', dataset: { approval: a.id, status: a.status } },
      h(
        'div',
        { class: 'line' },
        h('span', { class: 'aid', text: a.id }),
        h('b', { class: 'tool', text: a.tool }),
        h('span', { class: 'note', text: a.worker ? `by ${a.worker} on` : 'on' }),
        taskLink(a.task),
        h('span', {
          class: `expires note${left < HOUR ? ' soon' : ''}`,
          title: `expires ${fmt.time(a.expires_ms)}`,
          text: left > 0 ? `expires in ${fmt.span(left)}` : 'expiring',
        }),
      ),
      h('code', {
        class: 'args',
        title: [a.reason, shorten(args, 2000)].filter(Boolean).join('\n'),
        text: shorten(args, ARGS_SHOWN),
      }),
      h(
        'form',
        {
          class: 'decide',
          onsubmit: (e) => {
            e.preventDefault();
            this.decide(a.id, 'deny');
          },
        },
        reason,
        h('button', {
          type: 'button',
          dataset: { action: 'approve' },
          disabled: busy,
          text: 'Approve',
          onclick: () => this.decide(a.id, 'approve'),
        }),
        h('button', {
          type: 'submit',
          class: 'quiet',
          dataset: { action: 'deny' },
          disabled: busy,
          text: 'Deny',
        }),
      ),
    );
  },

  decidedRow(a) {
    const outcome = approvalOutcome(a);
    const run = a.execution;
    const failed = a.status === 'approved' && run && run.state === 'done' && !run.ok;
    return h(
      'div',
      { class: 'approval decided-row', dataset: { approval: a.id, status: a.status } },
      h('span', { class: 'aid', text: a.id }),
      h('span', { class: 'tool', text: a.tool }),
      taskLink(a.task),
      h('span', { class: `badge ap-${a.status}`, text: a.status }),
      outcome
        ? h('span', { class: `outcome${failed ? ' error' : ''}`, title: outcome, text: outcome })
        : null,
      h('span', {
        class: 'when note',
        text: [a.decided_by, fmt.ago(a.decided_ms)].filter(Boolean).join(' · '),
      }),
    );
  },

  render() {
    const root = $('#approvals');
    const note = $('#approvals-note');
    if (!store.routes.approvals) {
      note.textContent = '';
      fill(root, h('p', { class: 'note', text: 'This host has no approval queue.' }));
      return;
    }
    note.textContent = this.total
      ? `${this.total} pending${this.total > this.pending.length ? `, ${this.pending.length} shown` : ''}`
      : '';
    // A re-render keeps the reason being typed where it was.
    const active = document.activeElement;
    const typing = active && active.name === 'reason' && root.contains(active) ? active : null;
    const focus = typing && {
      id: typing.closest('[data-approval]').dataset.approval,
      from: typing.selectionStart,
      to: typing.selectionEnd,
    };
    fill(
      root,
      this.error ? h('p', { class: 'error', text: this.error }) : null,
      this.refusal ? h('p', { class: 'error refusal', role: 'alert', text: this.refusal }) : null,
      h(
        'div',
        { class: 'pending' },
        this.pending.length
          ? this.pending.map((a) => this.row(a))
          : h('p', { class: 'note empty', text: 'Nothing waits for approval.' }),
      ),
      this.decided.length
        ? [
            h('h3', { text: 'Decided' }),
            h('div', { class: 'decided' }, ...this.decided.map((a) => this.decidedRow(a))),
          ]
        : null,
    );
    if (focus) {
      const input = [...root.querySelectorAll('.pending [data-approval]')]
        .find((el) => el.dataset.approval === focus.id)
        ?.querySelector('input[name="reason"]');
      if (input && !input.disabled) {
        input.focus();
        input.setSelectionRange(focus.from, focus.to);
      }
    }
  },
};

// ---------------------------------------------------------------- the filing form

const filing = {
  init() {
    $('#file-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    $('#file-toggle').addEventListener('click', () => this.show($('#file-card').hidden));
    $('#file-close').addEventListener('click', () => this.show(false));
    $('#file-card').addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.show(false);
    });
  },

  /** Opens the form over the board (focusing its title), or closes it. */
  show(open) {
    $('#file-card').hidden = !open;
    $('#file-toggle').setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open) $('#file-title').focus();
    else $('#file-toggle').focus();
  },

  message(text, kind) {
    const el = $('#file-message');
    el.textContent = text;
    el.className = `form-message ${kind || ''}`;
  },

  async submit() {
    const title = $('#file-title').value.trim();
    if (!title) {
      this.message('A task needs a title.', 'error');
      $('#file-title').focus();
      return;
    }
    const body = {
      title,
      description: $('#file-description').value.trim(),
      priority: $('#file-priority').value,
      tags: $('#file-tags')
        .value.split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    };
    const button = $('#file-submit');
    button.disabled = true;
    try {
      const filed = await api('/api/tasks', { method: 'POST', body });
      const id = filed && filed.id;
      this.message(
        filed && filed.created === false
          ? `${id} already exists (same title and description).`
          : `Filed ${id}.`,
        'ok',
      );
      $('#file-title').value = '';
      $('#file-description').value = '';
      $('#file-tags').value = '';
      if (id) detail.select(id);
    } catch (e) {
      this.message(e.message, 'error');
    } finally {
      button.disabled = false;
    }
  },
};

// ---------------------------------------------------------------- worker messages

/** Messages the bus panel lists, newest first. */
const BUS_LISTED = 30;

const bus = {
  messages: [],
  total: 0,
  error: null,

  render() {
    const root = $('#bus');
    const note = $('#bus-note');
    if (!store.routes.bus) {
      note.textContent = '';
      fill(root, h('p', { class: 'note', text: 'This host has no bus between workers.' }));
      return;
    }
    note.textContent = this.total
      ? `${this.total}${this.total > this.messages.length ? `, newest ${this.messages.length} shown` : ''}`
      : '';
    fill(
      root,
      this.error ? h('p', { class: 'error', text: this.error }) : null,
      this.messages.length ? null : h('p', { class: 'note', text: 'No messages between workers.' }),
      ...this.messages.map((m) =>
        h(
          'div',
          { class: 'bus-message', dataset: { message: m.id, status: m.status } },
          h(
            'div',
            { class: 'line' },
            h('span', { class: 'id', text: m.id }),
            h('span', { class: 'who', text: `${m.from} → ${m.recipient || m.to}` }),
            h('span', { class: `badge ms-${m.status}`, text: m.status }),
          ),
          h('div', {
            class: 'note',
            text: [m.thread === m.id ? null : `thread ${m.thread}`, fmt.ago(m.created_ms)]
              .filter(Boolean)
              .join(' · '),
          }),
          h('div', {
            class: 'body',
            title: shorten(m.body, 2000),
            text: m.body.length > 200 ? `${m.body.slice(0, 199)}…` : m.body,
          }),
        ),
      ),
    );
  },
};

// ---------------------------------------------------------------- events

/** Applies one event from /api/events to the store and the views. */
function apply(event) {
  const kind = event.kind || '';
  const payload = event.payload || {};
  const at = event.at_ms || Date.now();
  if (kind.startsWith('task.')) {
    applyTask(kind.slice(5), payload, at);
  } else if (kind.startsWith('budget.')) {
    refresh.budget();
  } else if (kind.startsWith('message.worker_')) {
    refresh.bus();
  } else if (kind.startsWith('plugin.')) {
    refresh.plugins();
    refresh.status();
  } else if (kind.startsWith('worker.')) {
    // Paused, resumed, added, removed, suspended, spawned: the list as it is now.
    refresh.workers();
    refresh.status();
  }
}

function applyTask(sub, p, at) {
  if (sub === 'output') {
    const id = p.task || p.id;
    if (!id || typeof p.delta !== 'string') return;
    const text = (store.output.get(id) || '') + p.delta;
    store.output.set(id, text.length > OUTPUT_KEPT ? text.slice(-OUTPUT_KEPT) : text);
    if (p.worker) {
      workers.live.set(p.worker, id);
      workers.schedule();
    }
    detail.showOutput(id);
    return;
  }
  const id = p.id || p.task;
  if (!id) return;
  approvals.onTaskEvent(sub, p, id);
  const known = store.tasks.get(id);
  if (sub === 'created' || sub === 'filed') {
    if (!known) countMove(null, p.status || 'pending');
    patchTask(id, {
      title: p.title,
      priority: p.priority,
      tags: p.tags,
      depends_on: p.depends_on,
      filed_by: p.filed_by,
      status: p.status || (known ? known.status : 'pending'),
      created_ms: known && known.created_ms ? known.created_ms : at,
    });
    refresh.status();
    return;
  }
  const status = p.status || KIND_STATUS[sub] || (STATUSES.includes(sub) ? sub : null);
  if (!status) return;
  const patch = { status, title: p.title || undefined, tags: p.tags || undefined };
  if ('worker' in p) patch.worker = p.worker;
  if (p.model) patch.model = p.model;
  if (typeof p.attempt === 'number') patch.attempts = p.attempt;
  if (status === 'running') patch.started_ms = at;
  patch.finished_ms = FINISHED.includes(status) ? at : null;
  if (status === 'blocked') patch.blocked_reason = p.reason;
  if (status === 'needs_input' && p.question) {
    const asked = (known && known.clarifications) || [];
    patch.clarifications = [
      ...asked,
      { question: p.question, asked_by: p.worker, asked_ms: at, approval: p.approval || null },
    ];
  }
  // Set while a failed task waits for its automatic retry, cleared by any other status.
  patch.retry_at_ms = status === 'failed' ? (p.retry_at_ms ?? null) : null;
  if (status === 'failed') patch.error = p.error;
  if (status === 'completed') {
    const result = (known && known.result) || {};
    patch.result = {
      ...result,
      model: p.model || result.model,
      input_tokens: p.input_tokens || 0,
      output_tokens: p.output_tokens || 0,
      cost_micros: p.cost_micros || 0,
    };
    patch.error = null;
  }
  if (FINISHED.includes(status)) store.output.delete(id);
  countMove(p.from || (known && known.status) || null, status);
  patchTask(id, patch);
  workers.onTaskEvent(status, { ...p, id }, at);
  if (status === 'failed' || (known && known.status === 'failed')) refresh.failures();
  if (status === 'completed') refresh.budget();
  if (id === store.selected && FINISHED.includes(status)) detail.fetch();
  refresh.status();
  refresh.workers();
}

const stream = {
  socket: null,
  attempts: 0,
  timer: null,
  buffering: true,
  queue: [],
  connectedOnce: false,
  checkGap: false,
  opened: null,

  /** Connects; resolves once the socket is open (or could not open). */
  connect() {
    clearTimeout(this.timer);
    if (!auth.token) {
      header.connection('offline', 'no token');
      return Promise.resolve(false);
    }
    const params = new URLSearchParams({ token: auth.token });
    if (store.lastEventId > 0) params.set('after', String(store.lastEventId));
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/api/events?${params}`);
    this.socket = socket;
    header.connection('connecting', 'connecting…');
    let wasOpen = false;
    return new Promise((resolve) => {
      socket.addEventListener('open', () => {
        wasOpen = true;
        this.attempts = 0;
        header.connection('live');
        if (this.connectedOnce) {
          this.checkGap = true;
          resync(false);
        }
        this.connectedOnce = true;
        resolve(true);
      });
      socket.addEventListener('message', (m) => {
        let event;
        try {
          event = JSON.parse(m.data);
        } catch {
          return;
        }
        // `{"error"}` precedes a close when the page fell behind: it reconnects with ?after=.
        if (event && event.kind) this.receive(event);
      });
      socket.addEventListener('close', () => {
        resolve(false);
        if (this.socket !== socket) return;
        this.socket = null;
        if (!wasOpen) this.diagnose();
        this.later();
      });
    });
  },

  receive(event) {
    if (this.checkGap) {
      // The first event after a reconnect follows the last one seen, unless the host no
      // longer held what came between.
      this.checkGap = false;
      if (store.lastEventId > 0 && event.id > store.lastEventId + 1) resync(true);
    }
    if (typeof event.id === 'number' && event.id > store.lastEventId) store.lastEventId = event.id;
    if (this.buffering) this.queue.push(event);
    else apply(event);
  },

  /** Applies the events that arrived while the first snapshot loaded. */
  flush() {
    this.buffering = false;
    const queued = this.queue;
    this.queue = [];
    for (const event of queued) apply(event);
  },

  later() {
    const wait = Math.min(10000, 500 * 2 ** this.attempts);
    this.attempts += 1;
    header.connection('offline', `offline · retrying in ${Math.ceil(wait / 1000)}s`);
    this.timer = setTimeout(() => this.connect(), wait);
  },

  restart() {
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close();
    this.attempts = 0;
    this.connect();
  },

  /** A socket that never opened: a plain request tells a wrong token from a down host. */
  async diagnose() {
    try {
      const response = await fetch(`/api/events?token=${encodeURIComponent(auth.token || '')}`, {
        cache: 'no-store',
      });
      if (response.status === 401)
        tokenForm.show('The host refused this token. Paste the one in <data-dir>/api-token.');
    } catch {
      // the host is down: the reconnect loop goes on
    }
  },
};

/**
 * After a reconnect the replay covers the tasks, unless the host restarted (its event ids
 * begin again) or more happened than it retains: then the tasks are read again. The
 * figures that events do not carry are refreshed either way.
 */
async function resync(missed) {
  let restarted = false;
  try {
    const health = await api('/api/health');
    restarted = store.pid !== null && health.pid !== store.pid;
    store.pid = health.pid;
  } catch {
    // the reconnect loop goes on
  }
  if (restarted) store.lastEventId = 0;
  if (restarted || missed || store.lastEventId === 0) reloadTasks();
  loadCounts().then(
    () => header.render(),
    () => {},
  );
  refresh.status();
  refresh.workers();
  refresh.plugins();
  refresh.budget();
  refresh.approvals();
  refresh.bus();
}

// ---------------------------------------------------------------- start

async function boot() {
  auth.load();
  board.init();
  tokenForm.init();
  filing.init();
  detail.render();
  // The stream opens first so that no event falls between the snapshot and the live feed.
  await Promise.race([stream.connect(), new Promise((r) => setTimeout(r, 2000))]);
  await Promise.allSettled([
    reloadTasks(),
    loadCounts().catch(() => {}),
    api('/api/health').then(
      (health) => {
        store.pid = health.pid;
      },
      () => {},
    ),
    loadStatus(),
    loadWorkers(),
    loadPlugins(),
    loadBudget(),
    loadHistory(),
    loadFailures(),
    loadApprovals(),
    loadBus(),
  ]);
  stream.flush();
  // The counts may have come after the status that drew the header.
  header.render();
  board.render();
  failures.render();
  document.body.dataset.ready = '1';
  refresh.workerDetails();
  setInterval(() => {
    board.age();
    header.render();
    // The workers as they are now, whatever event may have been missed on the way.
    refresh.workers();
    failures.render();
    approvals.render();
  }, 15000);
  setInterval(() => {
    refresh.workerDetails();
    refresh.history();
  }, 60000);
}

boot();

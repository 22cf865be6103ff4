// The dashboard's entry: the page's settings (the boot JSON the master put
// in the page), the live stream (ui/events: an init, then an update per
// interval; see master/dashboard.go), the header with its buttons, the
// start and edit dialogs, and the tabs. Each tab is a module object with
// init(root, store), and optionally show(store) (it became visible) and
// update(store) (new data, called only while it is visible).

import { $, el, setText, num, post, api, themeListeners } from './util.js';
import { Series } from './history.js';
import { statsTab, chartsTab } from './stats.js';
import { failuresTab, exceptionsTab, ratiosTab, downloadsTab, logsTab, workersTab, runsTab } from './panels.js';

const boot = JSON.parse($('#boot').textContent);

/** The page's state, shared by the tabs. */
const store = {
  boot,
  /** Index of each row value by column name (a row is [name id, values...]). */
  col: Object.fromEntries(boot.columns.map((c, i) => [c, i + 1])),
  names: new Map(), // name id -> {method, name}
  wids: new Map(), // worker number -> worker id
  snap: null, // the last sample
  errors: [], // [[method, name, error, occurrences]]
  runs: [], // past runs
  // users (max), rps, fail/s, average, then the percentiles of boot.history_percentiles
  hist: new Series(boot.history_points, [true, false, false, false, ...boot.history_percentiles.map(() => false)]),
  version: 0, // counts inits: a tab keyed on name ids starts over
};

const tabs = [
  { id: 'stats', label: 'Statistics', mod: statsTab },
  { id: 'charts', label: 'Charts', mod: chartsTab },
  { id: 'failures', label: 'Failures', mod: failuresTab },
  { id: 'exceptions', label: 'Exceptions', mod: exceptionsTab },
  { id: 'ratios', label: 'Current ratio', mod: ratiosTab },
  { id: 'downloads', label: 'Download data', mod: downloadsTab },
  { id: 'logs', label: 'Logs', mod: logsTab },
  { id: 'workers', label: 'Workers', mod: workersTab, hide: !boot.is_distributed },
  { id: 'runs', label: 'Past runs', mod: runsTab },
].filter((t) => !t.hide);
let current = null;

// ---- the tabs (the WAI-ARIA tabs pattern: arrows, Home and End move) ----

function setupTabs() {
  const list = $('#tabs');
  for (const t of tabs) {
    t.panel = $(`#p-${t.id}`);
    t.button = el('button', {
      type: 'button', role: 'tab', id: `t-${t.id}`, 'aria-controls': `p-${t.id}`, 'aria-selected': 'false',
      tabIndex: -1, text: t.label, onclick: () => select(t.id, true),
    });
    t.panel.setAttribute('aria-labelledby', `t-${t.id}`);
    list.append(t.button);
    t.mod.init(t.panel, store);
  }
  $('#p-workers').hidden = true;
  list.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(current);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    select(tabs[(to + tabs.length) % tabs.length].id, true);
  });
  window.addEventListener('hashchange', () => select(location.hash.slice(1), false));
  select(location.hash.slice(1) || 'stats', false);
}

function select(id, focus) {
  const t = tabs.find((x) => x.id === id) || tabs[0];
  for (const x of tabs) {
    const on = x === t;
    x.button.setAttribute('aria-selected', on);
    x.button.tabIndex = on ? 0 : -1;
    x.panel.hidden = !on;
  }
  current = t;
  if (location.hash.slice(1) !== t.id) history.replaceState(null, '', `#${t.id}`);
  if (focus) t.button.focus();
  if (t.mod.show) t.mod.show(store);
  if (store.snap && t.mod.update) t.mod.update(store);
}

// ---- the live stream ----

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    render();
  });
}

function render() {
  header();
  if (current && current.mod.update) current.mod.update(store);
}

function onInit(m) {
  store.version++;
  store.names.clear();
  store.wids.clear();
  addDicts(m);
  store.hist.load(m.hist);
  store.errors = m.errors || [];
  store.runs = m.runs || [];
  store.snap = m.t ? m : store.snap;
  if (!started) firstView();
  schedule();
}

function onUpdate(m) {
  addDicts(m);
  if (m.point) store.hist.add(m.point[0], m.point.slice(1));
  if (m.errors) store.errors = m.errors;
  if (m.runs) store.runs = m.runs;
  store.snap = m;
  schedule();
}

function addDicts(m) {
  for (const [id, method, name] of m.names || []) store.names.set(id, { method, name });
  for (const [id, wid] of m.wids || []) store.wids.set(id, wid);
}

let source = null;
function connect() {
  source = new EventSource('ui/events');
  source.addEventListener('init', (e) => {
    notice('#n-conn', '');
    onInit(JSON.parse(e.data));
  });
  source.addEventListener('update', (e) => onUpdate(JSON.parse(e.data)));
  source.onerror = () => {
    notice('#n-conn', 'The connection to the master was lost: reconnecting.');
    // A page's request gets 401 without a password dialog when the login
    // expired (or the master restarted): api() goes to the login page.
    api('worker-count').catch(() => {});
    if (source.readyState === EventSource.CLOSED) {
      source = null;
      setTimeout(connect, 3000);
    }
  };
}

// ---- the header ----

const STATE_LABEL = { ready: 'Ready', spawning: 'Spawning', running: 'Running', stopping: 'Stopping', stopped: 'Stopped', missing: 'Missing' };

function header() {
  const s = store.snap;
  if (!s) return;
  const c = store.col;
  setText($('#h-host'), s.host || '-');
  setText($('#h-state'), STATE_LABEL[s.state] || s.state);
  $('#h-state').dataset.state = s.state;
  setText($('#h-users'), num(s.users));
  setText($('#h-workers'), num(s.workerCount));
  setText($('#h-rps'), num(s.total[c.current_rps - 1], 1));
  const reqs = s.total[c.num_requests - 1];
  const fails = s.total[c.num_failures - 1];
  setText($('#h-fail'), `${num(reqs ? (100 * fails) / reqs : 0, 0)}%`);
  const active = s.state === 'spawning' || s.state === 'running';
  if (active && autoOpened) {
    // A test began elsewhere (--autostart, the API): the form that opened
    // by itself goes.
    autoOpened = false;
    $('#d-start').close();
  }
  // As Locust: a load shape sets the users, so there is nothing to edit.
  $('#b-edit').hidden = !active || s.shapeRuns;
  $('#b-stop').hidden = !active;
  $('#b-new').hidden = active || s.state === 'stopping';
  const shape = $('#n-shape');
  shape.hidden = !s.shape;
  setText(shape, s.shape || '');
  thresholds(s.thresholds || []);
}

function thresholds(list) {
  const box = $('#n-thresholds');
  box.hidden = list.length === 0;
  if (!list.length) return;
  const key = JSON.stringify(list);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  const failed = list.filter((t) => !t[2]).length;
  box.className = `notice ${failed ? 'bad' : 'good'}`;
  box.replaceChildren(
    el('strong', { text: failed ? `Thresholds: ${failed} of ${list.length} failing` : `Thresholds: all ${list.length} pass` }),
    el('ul', {}, ...list.map(([expr, measured, pass]) => el('li', { class: pass ? 'pass' : 'fail' },
      el('span', { class: 'verdict', text: pass ? 'pass' : 'FAIL' }), ` ${expr} (measured ${measured})`))),
  );
}

const noticeTimers = {};
/** notice shows text in the notice sel (none: hides it); an info notice goes after 8 s. */
function notice(sel, text, cls) {
  const n = $(sel);
  n.hidden = !text;
  n.textContent = text;
  if (cls) n.className = `notice ${cls}`;
  clearTimeout(noticeTimers[sel]);
  if (text && cls === 'info') noticeTimers[sel] = setTimeout(() => { n.hidden = true; }, 8000);
}

// ---- buttons and dialogs ----

function setupButtons() {
  $('#b-new').addEventListener('click', openStart);
  $('#b-edit').addEventListener('click', openEdit);
  $('#b-stop').addEventListener('click', () => act(() => post('stop'), 'Test stopped.'));
  $('#b-reset').addEventListener('click', () => act(() => post('stats/reset'), 'Statistics reset.'));
  const theme = $('#b-theme');
  const apply = (t) => {
    document.documentElement.dataset.theme = t;
    theme.setAttribute('aria-pressed', t === 'dark');
    theme.textContent = t === 'dark' ? 'Light theme' : 'Dark theme';
    for (const fn of themeListeners) fn();
  };
  let saved = null;
  try { saved = localStorage.getItem('glocust-theme'); } catch { /* storage off */ }
  apply(saved || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
  theme.addEventListener('click', () => {
    const t = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
    try { localStorage.setItem('glocust-theme', t); } catch { /* storage off */ }
    apply(t);
  });
  $('#f-logout').hidden = !boot.login;
  $('#h-workers-box').hidden = !boot.is_distributed;
  setText($('#f-version'), `glocust ${boot.version || ''} · Locust ${'2.47'} web API · ${boot.locustfile || ''}`);
}

async function act(fn, done) {
  try {
    await fn();
    notice('#n-msg', done, 'info');
  } catch (e) {
    notice('#n-msg', String(e.message || e), 'bad');
  }
}

function setupStart() {
  const b = boot;
  const dlg = $('#d-start');
  if (b.num_users !== null) $('#s-users').value = b.num_users;
  else $('#s-users').value = 1;
  $('#s-rate').value = b.spawn_rate ?? 1;
  $('#s-host').value = b.host || '';
  $('#s-runtime').value = b.run_time || '';
  $('#s-profile').value = b.profile || '';
  if (b.shape && !b.show_userclass_picker && !b.shape.use_common_options) {
    // As Locust: a shape that does not read -u and -r sets the users.
    $('#f-common').hidden = true;
  }
  if (b.show_userclass_picker) {
    $('#f-classes').hidden = false;
    const picked = new Set(b.picked_classes && b.picked_classes.length ? b.picked_classes : b.user_classes.map((c) => c.name));
    $('#s-classes').replaceChildren(...b.user_classes.map((c, i) => el('div', { class: 'class-row' },
      el('input', { type: 'checkbox', id: `c-${i}`, name: 'user_classes', value: c.name, checked: picked.has(c.name) }),
      el('label', { for: `c-${i}`, text: c.name }),
      el('label', { for: `c-${i}-w`, text: 'weight' }),
      el('input', { type: 'number', id: `c-${i}-w`, min: 0, step: 1, value: c.weight, 'data-class': c.name, 'data-key': 'weight', 'data-was': c.weight }),
      el('label', { for: `c-${i}-f`, text: 'fixed count' }),
      el('input', { type: 'number', id: `c-${i}-f`, min: 0, step: 1, value: c.fixed_count, 'data-class': c.name, 'data-key': 'fixed_count', 'data-was': c.fixed_count }))));
    if (b.shape) {
      $('#f-shape').hidden = false;
      $('#s-shape').replaceChildren(el('option', { value: 'Default', text: 'Default (no shape)' }), el('option', { value: b.shape.name, text: b.shape.name }));
    }
  }
  if (b.params && b.params.length) {
    // The scenario's vars, as Locust's custom arguments: a field sets the
    // var on the workers from this start on.
    $('#f-params').hidden = false;
    $('#s-params').replaceChildren(...b.params.flatMap((p, i) => [
      el('label', { for: `v-${i}`, text: p.name }),
      el('input', {
        type: 'text', id: `v-${i}`, name: p.name, value: p.value, autocomplete: 'off',
        'aria-describedby': 's-params-hint', 'data-was': p.value, 'data-set': p.set,
      }),
    ]));
  }
  $('#s-cancel').addEventListener('click', () => dlg.close());
  $('#f-start').addEventListener('submit', async (e) => {
    e.preventDefault();
    const fields = Object.create(null); // a var may have any name
    if (!$('#f-common').hidden) {
      fields.user_count = $('#s-users').value;
      fields.spawn_rate = $('#s-rate').value;
    }
    fields.host = $('#s-host').value;
    if ($('#s-runtime').value) fields.run_time = $('#s-runtime').value;
    fields.profile = $('#s-profile').value;
    // A var the master does not set yet is sent once changed: its default
    // may differ between classes, which the value shown would replace.
    const params = [...document.querySelectorAll('#s-params input')].filter((x) => x.dataset.set || x.value !== x.dataset.was);
    for (const x of params) fields[x.name] = x.value;
    const picker = async () => {
      if (!b.show_userclass_picker) return;
      await saveClasses();
      fields.user_classes = [...document.querySelectorAll('#s-classes input[type=checkbox]:checked')].map((x) => x.value);
      if (b.shape) fields.shape_class = $('#s-shape').value;
    };
    if (await swarm(fields, dlg, $('#s-error'), picker)) {
      for (const x of params) x.dataset.set = 'true';
      select('stats', false);
    }
  });
}

/**
 * swarm posts a start or an edit (POST /swarm, after before() if given):
 * on success it closes dlg, else it shows the master's message in errEl.
 */
async function swarm(fields, dlg, errEl, before) {
  errEl.hidden = true;
  try {
    if (before) await before();
    const r = await (await post('swarm', fields)).json();
    if (!r.success) throw new Error(r.message);
    dlg.close();
    notice('#n-msg', r.message, 'info');
    return true;
  } catch (x) {
    errEl.textContent = String(x.message || x);
    errEl.hidden = false;
    return false;
  }
}

/** saveClasses sends the changed weights and fixed counts (POST /user). */
async function saveClasses() {
  const byClass = new Map();
  for (const inp of document.querySelectorAll('#s-classes input[type=number]')) {
    if (inp.value === inp.dataset.was) continue;
    const o = byClass.get(inp.dataset.class) || { user_class_name: inp.dataset.class };
    o[inp.dataset.key] = Number(inp.value);
    byClass.set(inp.dataset.class, o);
  }
  for (const o of byClass.values()) {
    await api('user', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(o) });
    for (const k of ['weight', 'fixed_count']) {
      const inp = document.querySelector(`#s-classes input[data-class="${CSS.escape(o.user_class_name)}"][data-key="${k}"]`);
      if (inp) inp.dataset.was = inp.value;
    }
  }
}

function openStart() {
  autoOpened = false;
  $('#s-error').hidden = true;
  $('#d-start').showModal();
}

function setupEdit() {
  const dlg = $('#d-edit');
  $('#e-cancel').addEventListener('click', () => dlg.close());
  $('#f-edit').addEventListener('submit', (e) => {
    e.preventDefault();
    swarm({ user_count: $('#e-users').value, spawn_rate: $('#e-rate').value }, dlg, $('#e-error'));
  });
}

function openEdit() {
  const s = store.snap;
  $('#e-users').value = s ? s.target : 1;
  $('#e-rate').value = s && s.rate ? s.rate : 1;
  $('#e-error').hidden = true;
  $('#d-edit').showModal();
}

// The start form opens by itself when the master has not run a test yet,
// as Locust's page does.
let started = false;
let autoOpened = false;
function firstView() {
  started = true;
  if (store.snap && store.snap.state === 'ready' && !store.snap.start) {
    openStart();
    autoOpened = true;
  }
}

setupButtons();
setupTabs();
setupStart();
setupEdit();
connect();
window.addEventListener('pagehide', () => { if (source) source.close(); });

// The other tabs: Failures, Exceptions, Current ratio, Download data,
// Logs, Workers and Past runs. Failures, Workers and Past runs come with
// the live stream; Exceptions, Current ratio and Logs are fetched from
// Locust's endpoints while their tab shows (and again every few seconds).

import { el, num, bytes, duration, dateTime, api, download, setText } from './util.js';
import { VTable } from './table.js';

/** heading returns a tab's title and its one-line description. */
function heading(title, text) {
  return [el('h2', { text: title }), text ? el('p', { class: 'hint', text }) : null];
}

/**
 * polled makes a tab that fetches path while it shows: at once, whenever
 * changed(store) says the data changed, and every period ms; draw(root,
 * json, store) renders it.
 */
function polled(path, period, draw, changed = () => false, intro = []) {
  return {
    init(root) {
      this.root = root;
      this.out = el('div', { 'aria-live': 'off' });
      root.append(...intro.filter(Boolean), this.out);
    },
    show(store) { this.fetch(store); },
    update(store) {
      if (changed(store) || Date.now() - (this.at || 0) > period) this.fetch(store);
    },
    async fetch(store) {
      this.at = Date.now();
      try {
        const j = await (await api(path)).json();
        draw(this.out, j, store);
      } catch (e) {
        this.out.replaceChildren(el('p', { class: 'error', text: `Could not load ${path}: ${e.message}` }));
      }
    },
  };
}

export const failuresTab = {
  init(root, store) {
    root.append(...heading('Failures', 'Each kind of failure, by request and error message, since the test started.').filter(Boolean));
    this.table = new VTable(root, {
      caption: 'Failures', empty: 'No failures.', sort: { id: 'count', desc: true },
      columns: [
        { id: 'count', label: '# Failures', num: true, width: 7, value: (r) => r[3], text: (r) => num(r[3]) },
        { id: 'method', label: 'Method', width: 6, text: (r) => r[0] },
        { id: 'name', label: 'Name', width: 16, text: (r) => r[1] },
        { id: 'error', label: 'Message', text: (r) => r[2] },
      ],
    });
    this.store = store;
  },
  update(store) { this.table.setRows(store.errors); },
};

let lastExceptions = -1;
export const exceptionsTab = polled('exceptions', 10000, (out, j) => {
  const list = j.exceptions || [];
  if (!list.length) {
    out.replaceChildren(el('p', { class: 'empty', text: 'No exceptions.' }));
    return;
  }
  out.replaceChildren(el('table', { class: 'data' },
    el('caption', { class: 'sr-only', text: 'Exceptions' }),
    el('thead', {}, el('tr', {}, ...['Count', 'Message', 'Traceback', 'Nodes'].map((h, i) => el('th', { scope: 'col', class: i === 0 ? 'num' : '', text: h })))),
    el('tbody', {}, ...list.map((x) => el('tr', {},
      el('td', { class: 'num', text: num(x.count) }),
      el('th', { scope: 'row', text: x.msg }),
      el('td', {}, el('pre', { class: 'trace', text: x.traceback })),
      el('td', { text: x.nodes }))))));
}, (store) => {
  const n = store.snap.exceptions;
  const changed = n !== lastExceptions;
  lastExceptions = n;
  return changed;
}, heading('Exceptions', 'Errors raised by the users (not failed requests), grouped by traceback.'));

export const ratiosTab = polled('tasks', 10000, (out, j, store) => {
  const users = (store.snap && store.snap.classes) || {};
  const list = (title, byClass, withUsers) => {
    const classes = Object.entries(byClass || {});
    return el('section', { class: 'ratio' }, el('h3', { text: title }),
      classes.length ? el('ul', {}, ...classes.map(([cls, v]) => el('li', {},
        el('strong', { text: `${num(100 * v.ratio, 1)}% ${cls}` }),
        withUsers && users[cls] !== undefined ? el('span', { class: 'muted', text: ` (${num(users[cls])} users now)` }) : null,
        el('ul', {}, ...Object.entries(v.tasks || {}).map(([task, t]) => el('li', { text: `${num(100 * t.ratio, 1)}% ${task}` }))))))
        : el('p', { class: 'empty', text: 'No user classes.' }));
  };
  out.replaceChildren(list('Ratio per class', j.per_class, true), list('Total ratio', j.total, false));
}, () => false, heading('Current ratio', 'How the users are shared among the classes, and each class among its tasks.'));

export const downloadsTab = {
  init(root, store) {
    const b = store.boot;
    const link = (href, text, dl = true) => el('li', {}, el('a', { href, text, download: dl ? '' : undefined }));
    const saveHistory = el('button', {
      type: 'button', class: 'link', text: 'Download the chart history (JSON)',
      onclick: () => {
        const h = store.hist;
        const doc = { stride: h.stride, columns: ['users', 'rps', 'fail_per_sec', 'avg_response_time', ...b.history_percentiles.map((p) => `response_time_percentile_${p}`)], t: h.t, n: h.n, cols: h.cols };
        download(new Blob([JSON.stringify(doc)], { type: 'application/json' }), 'glocust_chart_history.json');
      },
    });
    root.append(...heading('Download data', 'The files Locust offers, from the master now.').filter(Boolean),
      el('ul', { class: 'links' },
        link('stats/requests/csv', 'Download requests CSV'),
        b.stats_history_enabled ? link('stats/requests_full_history/csv', 'Download full request statistics history CSV') : null,
        link('stats/failures/csv', 'Download failures CSV'),
        link('exceptions/csv', 'Download exceptions CSV'),
        link('stats/report?download=1', 'Download Report (HTML)'),
        link('stats/report', 'View the report', false),
        link('stats/requests', 'Request statistics (JSON, /stats/requests)', false),
        b.metrics ? link('metrics', 'Prometheus metrics (/metrics)', false) : null,
        el('li', {}, saveHistory)));
  },
};

export const logsTab = polled('logs', 5000, function draw(out, j) {
  const workers = Object.keys(j.workers || {}).sort();
  let sel = out.querySelector('#logs-worker');
  const picked = sel ? sel.value : '';
  const master = el('pre', { class: 'log', tabIndex: 0, 'aria-label': 'Master logs', text: (j.master || []).join('\n') || '(no lines)' });
  sel = el('select', { id: 'logs-worker' }, ...workers.map((w) => el('option', { value: w, text: w, selected: w === picked })));
  const wlog = el('pre', { class: 'log', tabIndex: 0, 'aria-label': 'Worker logs' });
  const show = () => setText(wlog, (j.workers[sel.value] || []).join('\n') || '(no lines)');
  sel.addEventListener('change', show);
  out.replaceChildren(el('h3', { text: 'Master Logs' }), master, el('h3', { text: 'Worker Logs' }),
    workers.length ? el('div', { class: 'toolbar' }, el('label', { for: 'logs-worker', text: 'Worker' }), sel) : el('p', { class: 'empty', text: 'No worker has sent logs yet.' }),
    workers.length ? wlog : null);
  if (workers.length) show();
}, () => false, heading('Logs', 'The master\'s recent lines and the last lines each worker sent.'));

const WSTATE = { ready: 'ready', spawning: 'spawning', running: 'running', stopped: 'stopped', missing: 'missing' };

export const workersTab = {
  init(root, store) {
    root.append(...heading('Workers', 'Every worker of this master. A missing worker (no heartbeat for 3 s) is red; above 90% CPU a worker cannot keep its pace (Locust only logs it).').filter(Boolean));
    this.summary = el('p', { class: 'summary-line', 'aria-live': 'off' });
    root.append(this.summary);
    const id = (r) => store.wids.get(r[0]) || '';
    this.table = new VTable(root, {
      caption: 'Workers', empty: 'No workers connected.', sort: { id: 'index', desc: false },
      rowClass: (r) => (r[2] === 'missing' ? 'missing' : r[5] > 90 ? 'warn' : ''),
      columns: [
        { id: 'index', label: '#', num: true, width: 4, value: (r) => r[1], text: (r) => String(r[1]) },
        { id: 'id', label: 'Worker', text: id },
        {
          id: 'state', label: 'State', width: 11, value: (r) => r[2],
          text: (r) => (r[2] === 'missing' ? `missing for ${duration(r[8] * 1000)}` : (WSTATE[r[2]] || r[2]) + (r[9] ? ' (taken back)' : '')),
        },
        {
          id: 'users', label: 'Users', num: true, width: 10, value: (r) => r[3],
          text: (r) => (r[4] >= 0 && r[4] !== r[3] ? `${num(r[3])} of ${num(r[4])} (${num(r[4] ? (100 * r[3]) / r[4] : 100)}%)` : num(r[3])),
          title: 'Users running, and while spawning, of how many dispatched',
        },
        { id: 'cpu', label: 'CPU %', num: true, width: 10, value: (r) => r[5], text: (r) => (r[5] > 90 ? `${num(r[5], 1)} ⚠ above 90%` : num(r[5], 1)) },
        { id: 'mem', label: 'Memory', num: true, width: 7, value: (r) => r[6], text: (r) => bytes(r[6]) },
        { id: 'hb', label: 'Last heartbeat', num: true, width: 7, value: (r) => r[7], text: (r) => `${num(r[7])} s ago` },
      ],
    });
  },
  update(store) {
    const ws = store.snap.workers;
    const by = {};
    let hot = 0;
    for (const w of ws) {
      by[w[2]] = (by[w[2]] || 0) + 1;
      if (w[5] > 90) hot++;
    }
    const parts = Object.entries(by).map(([k, v]) => `${v} ${k}`);
    setText(this.summary, `${ws.length} workers${parts.length ? `: ${parts.join(', ')}` : ''}${hot ? `; ${hot} above 90% CPU` : ''}.`);
    this.summary.className = `summary-line${by.missing ? ' bad' : hot ? ' warn' : ''}`;
    this.table.setRows(ws);
  },
};

export const runsTab = {
  init(root) {
    root.append(...heading('Past runs', 'The tests this master ran since it started, with the HTML report of each of the last ten.').filter(Boolean));
    this.out = el('div');
    root.append(this.out);
  },
  update(store) {
    const runs = store.runs;
    const key = JSON.stringify(runs) + (store.snap.state === 'running' ? store.snap.t : '');
    if (key === this.key) return;
    this.key = key;
    if (!runs.length) {
      this.out.replaceChildren(el('p', { class: 'empty', text: 'No test yet.' }));
      return;
    }
    const now = store.snap.t;
    this.out.replaceChildren(el('table', { class: 'data' },
      el('caption', { class: 'sr-only', text: 'Past runs' }),
      el('thead', {}, el('tr', {}, ...['#', 'Started', 'Duration', 'Peak users', 'Requests', 'Failures', 'Failure %', 'Host', 'Report']
        .map((h, i) => el('th', { scope: 'col', class: i && i < 7 && i !== 1 ? 'num' : '', text: h })))),
      el('tbody', {}, ...runs.slice().reverse().map(([id, start, end, peak, , reqs, fails, report, host]) => el('tr', {},
        el('th', { scope: 'row', text: String(id) }),
        el('td', { text: dateTime(start) }),
        el('td', { class: 'num', text: end ? duration(end - start) : `${duration(now - start)} (running)` }),
        el('td', { class: 'num', text: num(peak) }),
        el('td', { class: 'num', text: num(reqs) }),
        el('td', { class: 'num', text: num(fails) }),
        el('td', { class: 'num', text: `${num(reqs ? (100 * fails) / reqs : 0, 1)}%` }),
        el('td', { text: host || '-' }),
        el('td', {}, report
          ? el('span', {}, el('a', { href: `ui/runs/${id}/report`, text: 'View' }), ' · ',
            el('a', { href: `ui/runs/${id}/report?download=1`, download: '', text: 'Download' }))
          : el('span', { class: 'muted', text: end ? 'not kept' : '-' })))))));
  },
};

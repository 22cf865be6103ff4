// The Statistics tab (the live table, a filter, and one request name's own
// charts when its name is clicked) and the Charts tab (the Aggregated
// row's history: requests and failures per second, response times at the
// chosen percentiles, users).

import { el, num, api, pctLabel } from './util.js';
import { VTable } from './table.js';
import { Chart } from './chart.js';
import { Series } from './history.js';

/** colLabel is a table column's heading and the decimals of its values. */
function colLabel(name) {
  const fixed = {
    num_requests: ['# Requests', 0], num_failures: ['# Fails', 0], median_response_time: ['Median (ms)', 0],
    avg_response_time: ['Average (ms)', 2], min_response_time: ['Min (ms)', 0], max_response_time: ['Max (ms)', 0],
    avg_content_length: ['Average size (bytes)', 0], current_rps: ['Current RPS', 2],
    current_fail_per_sec: ['Current Failures/s', 2],
  }[name];
  if (fixed) return fixed;
  const p = Number(name.slice(name.lastIndexOf('_') + 1));
  if (name.startsWith('uncorrected_')) return [p === 0.5 ? 'Median uncorrected (ms)' : `${pctLabel(p)}%ile uncorrected (ms)`, 0];
  return [`${pctLabel(p)}%ile (ms)`, 0];
}

/**
 * sideBySide puts each uncorrected percentile (--latency-correction)
 * right after its corrected column (the median's after the median).
 */
function sideBySide(cols) {
  const unc = cols.filter((c) => c.startsWith('uncorrected_'));
  const out = [];
  for (const c of cols) {
    if (c.startsWith('uncorrected_')) continue;
    out.push(c);
    const p = c === 'median_response_time' ? '0.5' : c.startsWith('response_time_percentile_') ? c.slice(25) : null;
    const u = p && unc.find((x) => x === `uncorrected_percentile_${p}`);
    if (u) out.push(u);
  }
  return out.concat(unc.filter((u) => !out.includes(u)));
}

/** Colours of the percentile lines, by percentile (CSS variables). */
const PCT_COLORS = { 0.5: '--c-p50', 0.9: '--c-p90', 0.95: '--c-p95', 0.99: '--c-p99' };
const pctColor = (p, i) => PCT_COLORS[p] || `--c-extra${i % 3}`;

export const statsTab = {
  init(root, store) {
    const b = store.boot;
    this.store = store;
    const filter = el('input', { type: 'search', id: 'stats-filter', placeholder: 'Filter by name or method', autocomplete: 'off' });
    const count = el('span', { class: 'muted', id: 'stats-count', 'aria-live': 'off' });
    root.append(el('div', { class: 'toolbar' },
      el('label', { for: 'stats-filter', text: 'Filter' }), filter, count,
      b.latency_correction && !b.uncorrected
        ? el('span', { class: 'muted', text: 'Latency correction: the workers send corrected times only; the uncorrected ones are in each worker\'s output.' })
        : null));
    this.detail = el('section', { class: 'endpoint', hidden: true, 'aria-labelledby': 'ep-h', tabIndex: -1 });
    root.append(this.detail);
    const name = (r) => store.names.get(r[0]) || { method: '', name: '' };
    const columns = [
      { id: 'method', label: 'Type', width: 4.5, text: (r) => (r[0] < 0 ? '' : name(r).method) },
      {
        id: 'name', label: 'Name', text: (r) => (r[0] < 0 ? 'Aggregated' : name(r).name),
        action: (r) => this.open(r[0]), title: 'Select a name for its own charts',
      },
      ...sideBySide(b.columns).map((c) => {
        const [label, digits] = colLabel(c);
        const i = store.col[c];
        const cls = c.startsWith('uncorrected_') ? () => 'uncorrected' : undefined;
        return { id: c, label, num: true, width: c.startsWith('uncorrected_') ? 8.5 : 7, value: (r) => r[i], text: (r) => num(r[i], digits), cls };
      }),
    ];
    this.table = new VTable(root, {
      caption: 'Request statistics', columns, sort: { id: 'name', desc: false },
      empty: 'No requests yet: start a test.',
      filterText: (r) => `${name(r).method} ${name(r).name}`,
    });
    filter.addEventListener('input', () => this.table.setFilter(filter.value));
    this.count = count;
    this.charts = null;
  },

  update(store) {
    const s = store.snap;
    this.table.setRows(s.rows, s.rows.length ? [-1, ...s.total] : null);
    this.count.textContent = `${num(s.rows.length)} names`;
    if (this.epId !== undefined && this.epVersion === store.version) this.refresh();
    else if (this.epId !== undefined) this.close();
  },

  /** open shows request name id's own charts above the table. */
  open(id) {
    const store = this.store;
    const n = store.names.get(id);
    if (!n) return;
    this.epId = id;
    this.epVersion = store.version;
    const pcts = store.boot.percentiles_to_chart;
    const title = `${n.method} ${n.name}`;
    const file = title.replace(/[^A-Za-z0-9_-]+/g, '_');
    const close = el('button', { type: 'button', class: 'small', text: 'Close', onclick: () => this.close() });
    const rps = el('div', { class: 'chart-slot' });
    const rt = el('div', { class: 'chart-slot' });
    this.detail.replaceChildren(
      el('div', { class: 'endpoint-head' }, el('h2', { id: 'ep-h', text: title, tabIndex: -1 }), close),
      el('div', { class: 'chart-grid' }, rps, rt));
    this.epSeries = new Series(240, [false, false, ...pcts.map(() => false)]);
    this.charts = [
      new Chart(rps, {
        title: `${title}: requests per second`, file: `${file}_rps`, height: 200,
        lines: [{ label: 'RPS', col: 0, color: '--c-rps' }, { label: 'Failures/s', col: 1, color: '--c-fail' }],
      }),
      new Chart(rt, {
        title: `${title}: response times (ms)`, file: `${file}_response_times`, height: 200,
        lines: pcts.map((p, i) => ({ label: `${pctLabel(p)}th percentile`, col: 2 + i, color: pctColor(p, i), digits: 0 })),
      }),
    ];
    this.detail.hidden = false;
    this.detail.querySelector('h2').focus();
    this.refresh();
  },

  async refresh() {
    const id = this.epId;
    try {
      const j = await (await api(`ui/endpoint?id=${id}`)).json();
      if (this.epId !== id) return;
      this.epSeries.load(j);
      for (const c of this.charts) c.setSeries(this.epSeries);
    } catch {
      // Not sampled yet (no requests of this name in the current run).
    }
  },

  close() {
    this.epId = undefined;
    this.detail.hidden = true;
    this.detail.replaceChildren();
    this.charts = null;
  },
};

export const chartsTab = {
  init(root, store) {
    const b = store.boot;
    const chosen = new Set(b.percentiles_to_chart);
    root.append(el('p', { class: 'hint', text: 'The whole run, kept at bounded memory: long runs are drawn with coarser points. Point at a chart, or focus it and use the arrow keys, to read its values.' }));
    const grid = el('div', { class: 'chart-grid' });
    root.append(grid);
    const slot = () => { const d = el('div', { class: 'chart-slot' }); grid.append(d); return d; };
    this.charts = [
      new Chart(slot(), {
        title: 'Total Requests per Second', file: 'total_requests_per_second',
        lines: [{ label: 'RPS', col: 1, color: '--c-rps' }, { label: 'Failures/s', col: 2, color: '--c-fail' }],
      }),
      new Chart(slot(), {
        title: 'Response Times (ms)', file: 'response_times',
        lines: [
          ...b.history_percentiles.map((p, i) => ({
            label: `${pctLabel(p)}th percentile`, col: 4 + i, color: pctColor(p, i), visible: chosen.has(p), digits: 0,
          })),
          { label: 'Average', col: 3, color: '--c-avg', visible: false, digits: 0 },
        ],
      }),
      new Chart(slot(), {
        title: 'Number of Users', file: 'number_of_users',
        lines: [{ label: 'Users', col: 0, color: '--c-users', digits: 0 }],
      }),
    ];
  },

  update(store) {
    for (const c of this.charts) c.setSeries(store.hist);
  },
};

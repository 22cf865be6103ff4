// Chart: a time-series line chart drawn on a canvas by this file alone.
// Lines read their points straight from a Series (history.js); when there
// are more points than pixels, each pixel column draws the minimum and
// maximum of its points, so a draw costs O(points + width) whatever the
// run's length. The legend toggles lines (buttons, keyboard-reachable);
// the canvas is focusable and the arrow keys move a cursor over the points
// (the pointer does too), whose values show in a tooltip; "Save as image"
// downloads a PNG.

import { el, clock, num, download, themeListeners } from './util.js';

/** Reads a CSS custom property of the document (the theme's colours). */
const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

export class Chart {
  /**
   * @param {HTMLElement} root where the chart goes
   * @param {object} o title, unit (axis label), lines: [{label, col, color
   *   (a CSS variable name), visible, digits}], file (image name), height
   */
  constructor(root, o) {
    this.o = o;
    this.lines = o.lines.map((l) => ({ visible: true, digits: 2, ...l }));
    this.series = null;
    this.cursor = -1;
    this.pending = false;
    const id = `chart-${Chart.seq = (Chart.seq || 0) + 1}`;
    this.canvas = el('canvas', { class: 'chart-canvas', tabIndex: 0, role: 'img', 'aria-label': o.title, id });
    this.tip = el('div', { class: 'chart-tip', role: 'status', 'aria-live': 'off', hidden: true });
    this.legend = el('div', { class: 'chart-legend', role: 'group', 'aria-label': `${o.title}: lines shown` });
    for (const l of this.lines) {
      l.button = el('button', {
        type: 'button', class: 'legend-item', 'aria-pressed': l.visible,
        onclick: () => { l.visible = !l.visible; l.button.setAttribute('aria-pressed', l.visible); this.invalidate(); },
      }, el('span', { class: 'swatch', 'data-color': l.color, 'aria-hidden': 'true' }), l.label);
      this.legend.append(l.button);
    }
    const save = el('button', { type: 'button', class: 'small', onclick: () => this.save(), text: 'Save as image' });
    this.box = el('figure', { class: 'chart' },
      el('figcaption', {}, el('h3', { text: o.title }), save),
      el('div', { class: 'chart-area' }, this.canvas, this.tip),
      this.legend);
    root.append(this.box);
    this.canvas.addEventListener('pointermove', (e) => this.pointAt(e.offsetX));
    this.canvas.addEventListener('pointerleave', () => { this.cursor = -1; this.invalidate(); });
    this.canvas.addEventListener('keydown', (e) => this.key(e));
    this.canvas.addEventListener('blur', () => { this.cursor = -1; this.invalidate(); });
    new ResizeObserver(() => this.invalidate()).observe(this.canvas);
    themeListeners.push(() => this.invalidate());
  }

  /** setSeries draws s (a Series, or null: no data). */
  setSeries(s) {
    this.series = s;
    this.invalidate();
  }

  /** invalidate draws at the next frame (once however often it is called). */
  invalidate() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  /** swatches paints the legend's colour marks (the theme may change). */
  swatches() {
    for (const l of this.lines) l.button.firstChild.style.background = cssVar(l.color);
  }

  key(e) {
    const n = this.series ? this.series.length : 0;
    if (!n) return;
    let c = this.cursor < 0 ? n - 1 : this.cursor;
    switch (e.key) {
      case 'ArrowLeft': c = Math.max(0, c - 1); break;
      case 'ArrowRight': c = Math.min(n - 1, c + 1); break;
      case 'Home': c = 0; break;
      case 'End': c = n - 1; break;
      case 'Escape': c = -1; break;
      default: return;
    }
    e.preventDefault();
    this.cursor = c;
    this.draw();
  }

  pointAt(x) {
    const s = this.series;
    if (!s || !s.length || !this.geo) return;
    const { left, w, t0, t1 } = this.geo;
    const t = t0 + ((x - left) / w) * (t1 - t0);
    // Binary search for the nearest point in time.
    let lo = 0; let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s.t[mid] < t) lo = mid + 1; else hi = mid;
    }
    if (lo > 0 && Math.abs(s.t[lo - 1] - t) < Math.abs(s.t[lo] - t)) lo--;
    if (lo !== this.cursor) {
      this.cursor = lo;
      this.invalidate();
    }
  }

  /** draw paints the chart (nothing while it is hidden). */
  draw(ctx, width, height, forImage) {
    const cv = this.canvas;
    if (!ctx) {
      if (!cv.isConnected || cv.offsetParent === null) return;
      width = cv.clientWidth;
      height = this.o.height || 240;
      const dpr = window.devicePixelRatio || 1;
      if (cv.width !== Math.round(width * dpr) || cv.height !== Math.round(height * dpr)) {
        cv.width = Math.round(width * dpr);
        cv.height = Math.round(height * dpr);
        cv.style.height = `${height}px`;
      }
      ctx = cv.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      this.swatches();
    }
    const text = cssVar('--fg-muted');
    const grid = cssVar('--grid');
    ctx.clearRect(0, 0, width, height);
    if (forImage) {
      ctx.fillStyle = cssVar('--bg-panel');
      ctx.fillRect(0, 0, width, height);
    }
    ctx.font = '12px system-ui, sans-serif';
    const s = this.series;
    const n = s ? s.length : 0;
    const shown = this.lines.filter((l) => l.visible);
    // The y range: 0 to the largest value shown, rounded up to a nice step.
    let ymax = 0;
    for (const l of shown) {
      const col = n ? s.cols[l.col] : [];
      for (let i = 0; i < n; i++) if (col[i] > ymax) ymax = col[i];
    }
    const { step, top } = niceScale(ymax);
    const ticks = [];
    for (let v = 0; v <= top + step / 2; v += step) ticks.push(v);
    const labelW = Math.max(...ticks.map((v) => ctx.measureText(num(v, step < 1 ? 2 : 0)).width));
    const left = Math.ceil(labelW) + 12;
    const right = 12;
    const topPad = 10;
    const bottom = 24;
    const w = Math.max(10, width - left - right);
    const h = Math.max(10, height - topPad - bottom);
    const t0 = n ? s.t[0] : Date.now() - 60000;
    let t1 = n ? s.t[n - 1] : Date.now();
    if (t1 - t0 < 1000) t1 = t0 + 1000;
    this.geo = { left, w, t0, t1 };
    const X = (t) => left + ((t - t0) / (t1 - t0)) * w;
    const Y = (v) => topPad + h - (v / top) * h;

    // Grid and axes.
    ctx.strokeStyle = grid;
    ctx.fillStyle = text;
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of ticks) {
      const y = Math.round(Y(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + w, y); ctx.stroke();
      ctx.fillText(num(v, step < 1 ? 2 : 0), left - 6, y);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    // Time labels at whole multiples of a round step (1 s, 2 s, 5 s, ...),
    // at most one per 110 px, so no two labels read the same second.
    const tStep = timeStep((t1 - t0) / Math.max(1, Math.floor(w / 110)));
    const off = new Date(t0).getTimezoneOffset() * 60000; // steps are round in local time
    for (let t = Math.ceil((t0 - off) / tStep) * tStep + off; t <= t1; t += tStep) {
      ctx.fillText(clock(t), Math.min(Math.max(X(t), left + 24), left + w - 24), topPad + h + 6);
    }
    if (!n) {
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText('No data yet', left + w / 2, topPad + h / 2);
    }

    // Lines: per pixel column, the first, min, max and last point.
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    for (const l of n ? shown : []) {
      const col = s.cols[l.col];
      ctx.strokeStyle = cssVar(l.color);
      ctx.beginPath();
      let pen = false;
      let px = -1; let lo = 0; let hi = 0; let lastY = 0;
      const flush = () => {
        if (px < 0) return;
        ctx.lineTo(px, Y(lo));
        ctx.lineTo(px, Y(hi));
        ctx.lineTo(px, Y(lastY));
      };
      for (let i = 0; i < n; i++) {
        const v = col[i];
        if (!(v >= 0)) { flush(); px = -1; pen = false; continue; }
        const x = Math.round(X(s.t[i]));
        if (!pen) { ctx.moveTo(x, Y(v)); pen = true; px = x; lo = hi = lastY = v; continue; }
        if (x === px) { lo = Math.min(lo, v); hi = Math.max(hi, v); lastY = v; continue; }
        flush();
        ctx.lineTo(x, Y(v));
        px = x; lo = hi = lastY = v;
      }
      flush();
      ctx.stroke();
      if (n === 1 && col[0] >= 0) {
        ctx.fillStyle = ctx.strokeStyle;
        ctx.beginPath(); ctx.arc(X(s.t[0]), Y(col[0]), 3, 0, 2 * Math.PI); ctx.fill();
      }
    }

    // Cursor and tooltip.
    if (forImage) return;
    const c = this.cursor;
    if (c >= 0 && c < n) {
      const x = Math.round(X(s.t[c])) + 0.5;
      ctx.strokeStyle = text;
      ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(x, topPad); ctx.lineTo(x, topPad + h); ctx.stroke();
      const parts = [clock(s.t[c])];
      for (const l of shown) parts.push(`${l.label}: ${num(s.cols[l.col][c], l.digits)}`);
      this.tip.textContent = parts.join('  ·  ');
      this.tip.hidden = false;
    } else {
      this.tip.hidden = true;
    }
    // The accessible name says the latest values.
    if (n) {
      const last = shown.map((l) => `${l.label} ${num(s.cols[l.col][n - 1], l.digits)}`).join(', ');
      this.canvas.setAttribute('aria-label', `${this.o.title}, ${n} points to ${clock(s.t[n - 1])}: ${last}`);
    }
  }

  /** save downloads the chart as a PNG with the theme's background. */
  save() {
    const width = this.canvas.clientWidth || 800;
    const height = this.o.height || 240;
    const img = document.createElement('canvas');
    img.width = width * 2;
    img.height = (height + 28) * 2;
    const ctx = img.getContext('2d');
    ctx.scale(2, 2);
    ctx.fillStyle = cssVar('--bg-panel');
    ctx.fillRect(0, 0, width, height + 28);
    ctx.fillStyle = cssVar('--fg');
    ctx.font = 'bold 14px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    ctx.fillText(this.o.title, 12, 8);
    ctx.translate(0, 28);
    this.draw(ctx, width, height, true);
    img.toBlob((b) => download(b, `${this.o.file || 'chart'}.png`), 'image/png');
  }
}

/** TIME_STEPS are the time axis' label steps in milliseconds: round
 * numbers of seconds, minutes and hours. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]
  .map((s) => s * 1000);

/** timeStep returns the smallest of TIME_STEPS at least min milliseconds
 * (whole days past the last). */
export function timeStep(min) {
  return TIME_STEPS.find((s) => s >= min) || Math.ceil(min / 86400000) * 86400000;
}

/** niceScale picks a step of 1, 2 or 5 times a power of ten giving 4-5 ticks. */
export function niceScale(max) {
  if (!(max > 0)) return { step: 1, top: 4 };
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  return { step, top: Math.ceil(max / step) * step };
}

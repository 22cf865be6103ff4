// VTable: a sortable table that puts in the document only the rows that
// can be seen (plus a margin), so an update of 1,000 request names or 500
// workers touches a few dozen rows. The rows scroll inside their own box
// with the header and the footer (the Aggregated row) kept in view. A
// column header is a button (Enter or Space sorts, again reverses); a
// column may make its cells buttons (the request names open their charts).

import { el, setText } from './util.js';

const OVERSCAN = 8;

export class VTable {
  /**
   * @param {HTMLElement} root where the table goes
   * @param {object} o caption, columns: [{id, label, title, num (right-aligned),
   *   value(row) for sorting, text(row), cls(row) extra row class,
   *   action(row) makes the cell a button, width in em (none: the rest)}],
   *   key(row), sort: {id, desc},
   *   rowClass(row), empty (text without rows)
   */
  constructor(root, o) {
    this.o = o;
    this.root = root;
    this.rows = [];
    this.view = [];
    this.foot = null;
    this.filter = '';
    this.sort = o.sort || { id: o.columns[0].id, desc: false };
    this.pool = [];
    this.rowH = 0;
    this.pending = false;
    this.heads = o.columns.map((c) => {
      const b = el('button', { type: 'button', class: 'sort', title: c.title || '', text: c.label, onclick: () => this.sortBy(c.id) });
      return el('th', { scope: 'col', class: c.num ? 'num' : '', 'data-col': c.id }, b);
    });
    this.padTop = el('tr', { class: 'pad', 'aria-hidden': 'true' }, el('td', { colSpan: o.columns.length }));
    this.padBottom = el('tr', { class: 'pad', 'aria-hidden': 'true' }, el('td', { colSpan: o.columns.length }));
    this.body = el('tbody', {}, this.padTop, this.padBottom);
    this.footRow = el('tr', {}, ...this.cells(false));
    this.tfoot = el('tfoot', { hidden: true }, this.footRow);
    this.emptyRow = el('p', { class: 'empty', text: o.empty || 'Nothing yet.' });
    // Fixed column widths (table-layout: fixed): an update's new numbers
    // and the rows scrolled in do not lay the whole table out again. A
    // column without a width takes the rest.
    const cols = o.columns.map((c) => {
      const col = el('col', {});
      if (c.width) col.style.width = `${c.width}em`;
      return col;
    });
    this.table = el('table', { class: 'data fixed' },
      el('caption', { class: 'sr-only', text: o.caption }),
      el('colgroup', {}, ...cols),
      el('thead', {}, el('tr', {}, ...this.heads)),
      this.body, this.tfoot);
    this.table.style.minWidth = `${o.columns.reduce((w, c) => w + (c.width || 10), 0)}em`;
    this.scroll = el('div', { class: 'vt-scroll', tabIndex: 0, role: 'region', 'aria-label': o.caption }, this.table);
    root.append(this.scroll, this.emptyRow);
    this.scroll.addEventListener('scroll', () => this.invalidate(), { passive: true });
    new ResizeObserver(() => this.invalidate()).observe(this.scroll);
    this.markSort();
  }

  /** setRows replaces the rows (and the footer row, or null). */
  setRows(rows, foot = null) {
    this.rows = rows;
    this.foot = foot;
    this.dirty = true;
    this.invalidate();
  }

  /** setFilter shows only the rows whose filter text contains q. */
  setFilter(q) {
    this.filter = q.trim().toLowerCase();
    this.dirty = true;
    this.invalidate();
  }

  sortBy(id) {
    this.sort = { id, desc: this.sort.id === id ? !this.sort.desc : this.o.columns.find((c) => c.id === id).num };
    this.markSort();
    this.dirty = true;
    this.invalidate();
  }

  markSort() {
    for (const th of this.heads) {
      const on = th.dataset.col === this.sort.id;
      if (on) th.setAttribute('aria-sort', this.sort.desc ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    }
  }

  invalidate() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  /** render puts the visible rows in the document (nothing while hidden). */
  render() {
    if (this.root.offsetParent === null) return;
    if (this.dirty) {
      this.dirty = false;
      const col = this.o.columns.find((c) => c.id === this.sort.id) || this.o.columns[0];
      let v = this.rows;
      if (this.filter && this.o.filterText) v = v.filter((r) => this.o.filterText(r).toLowerCase().includes(this.filter));
      else v = v.slice();
      const dir = this.sort.desc ? -1 : 1;
      const get = col.value || col.text;
      v.sort((a, b) => {
        const x = get(a); const y = get(b);
        if (x === y) return 0;
        if (x === null || x === undefined || Number.isNaN(x)) return 1;
        if (y === null || y === undefined || Number.isNaN(y)) return -1;
        return (x < y ? -1 : 1) * dir;
      });
      this.view = v;
    }
    const n = this.view.length;
    this.emptyRow.hidden = n > 0 || this.rows.length > 0;
    this.scroll.hidden = !this.emptyRow.hidden;
    if (!this.rowH && this.pool.length) this.rowH = this.pool[0].tr.offsetHeight || 0;
    const rowH = this.rowH || 30;
    const headH = this.table.tHead.offsetHeight;
    const viewH = this.scroll.clientHeight || 600;
    const first = Math.max(0, Math.floor((this.scroll.scrollTop - headH) / rowH) - OVERSCAN);
    const count = Math.min(n - first, Math.ceil(viewH / rowH) + 2 * OVERSCAN);
    while (this.pool.length < count) this.pool.push(this.makeRow());
    for (let i = 0; i < this.pool.length; i++) {
      const r = this.pool[i];
      if (i < count) {
        this.fill(r, this.view[first + i]);
        if (!r.tr.isConnected) this.body.insertBefore(r.tr, this.padBottom);
      } else if (r.tr.isConnected) {
        r.tr.remove();
      }
    }
    this.padTop.firstChild.style.height = `${first * rowH}px`;
    this.padTop.hidden = first === 0;
    const below = Math.max(0, n - first - count);
    this.padBottom.firstChild.style.height = `${below * rowH}px`;
    this.padBottom.hidden = below === 0;
    this.tfoot.hidden = !this.foot;
    if (this.foot) this.fillCells(this.footRow.cells, this.foot, null);
  }

  makeRow() {
    const cells = this.cells(true);
    return { tr: el('tr', {}, ...cells), cells };
  }

  /** cells makes a row's cells: the first text column is the row's header. */
  cells(actions) {
    let header = false;
    return this.o.columns.map((c) => {
      const isHead = !c.num && !header;
      header = header || isHead;
      const cell = el(isHead ? 'th' : 'td', { class: c.num ? 'num' : '', scope: isHead ? 'row' : undefined });
      if (actions && c.action) cell.append(el('button', { type: 'button', class: 'link', onclick: () => c.action(cell.row) }));
      return cell;
    });
  }

  fill(r, row) {
    const cls = this.o.rowClass ? this.o.rowClass(row) : '';
    if (r.tr.className !== cls) r.tr.className = cls;
    this.fillCells(r.cells, row, r);
  }

  fillCells(cells, row, r) {
    this.o.columns.forEach((c, i) => {
      const cell = cells[i];
      cell.row = row;
      const target = (r && c.action) ? cell.firstChild : cell;
      setText(target, c.text(row));
      const extra = c.cls ? c.cls(row) : '';
      const want = (c.num ? 'num' : '') + (extra ? ` ${extra}` : '');
      if (cell.className !== want) cell.className = want;
    });
  }
}

// Series: a chart history of fixed columns at bounded memory, the page's
// copy of the master's (master/ui_series.go, the same rule): one point per
// sample until it holds cap points; then neighbouring points merge in
// pairs and each point holds twice the samples from then on. A merged
// point has the time of its last sample and, per column, the mean of its
// samples (the maximum for the columns marked so).

export class Series {
  /**
   * @param {number} cap the most points kept
   * @param {boolean[]} maxCols per column: merge by maximum
   */
  constructor(cap, maxCols) {
    this.cap = Math.max(cap, 2);
    this.maxCols = maxCols;
    this.reset();
  }

  reset() {
    this.stride = 1;
    this.t = [];
    this.n = [];
    this.cols = this.maxCols.map(() => []);
  }

  /** load replaces the points by those of the master's JSON form. */
  load(j) {
    this.stride = j.stride;
    this.t = j.t.slice();
    this.n = j.n.slice();
    this.cols = this.maxCols.map((_, c) => (j.cols[c] || []).map((v) => (v === null ? NaN : v)));
    while (this.t.length > this.cap) this.halve();
  }

  get length() { return this.t.length; }

  /** add appends a sample at time t (epoch ms), one value per column. */
  add(t, vals) {
    const last = this.t.length - 1;
    if (last >= 0 && this.n[last] < this.stride) {
      const k = this.n[last];
      for (let c = 0; c < this.cols.length; c++) this.cols[c][last] = this.merge(c, this.cols[c][last], k, vals[c] ?? NaN, 1);
      this.t[last] = t;
      this.n[last] = k + 1;
      return;
    }
    if (this.t.length >= this.cap) {
      this.halve();
      this.add(t, vals);
      return;
    }
    this.t.push(t);
    this.n.push(1);
    for (let c = 0; c < this.cols.length; c++) this.cols[c].push(vals[c] ?? NaN);
  }

  merge(c, a, wa, b, wb) {
    if (Number.isNaN(a)) return b;
    if (Number.isNaN(b)) return a;
    if (this.maxCols[c]) return Math.max(a, b);
    return (a * wa + b * wb) / (wa + wb);
  }

  halve() {
    this.stride *= 2;
    let j = 0;
    for (let i = 0; i < this.t.length; i += 2, j++) {
      this.t[j] = this.t[i];
      this.n[j] = this.n[i];
      for (const col of this.cols) col[j] = col[i];
      if (i + 1 < this.t.length) {
        for (let c = 0; c < this.cols.length; c++) {
          this.cols[c][j] = this.merge(c, this.cols[c][j], this.n[j], this.cols[c][i + 1], this.n[i + 1]);
        }
        this.t[j] = this.t[i + 1];
        this.n[j] += this.n[i + 1];
      }
    }
    this.t.length = j;
    this.n.length = j;
    for (const col of this.cols) col.length = j;
  }
}

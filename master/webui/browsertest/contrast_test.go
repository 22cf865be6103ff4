package browsertest

import (
	"context"

	"github.com/chromedp/chromedp"
)

// contrastJS lists the visible elements with text of their own whose text
// colour has less contrast with the background behind it than WCAG 2's AA
// asks (4.5:1; 3:1 for large text), as "tag.class "text" ratio".
const contrastJS = `(() => {
  const parse = (s) => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const behind = (e) => {
    for (; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c;
    }
    return [255, 255, 255];
  };
  const bad = [];
  for (const e of document.querySelectorAll('body *')) {
    if (e.closest('[hidden], .sr-only') || e.getClientRects().length === 0) continue;
    if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const st = getComputedStyle(e);
    const a = lum(parse(st.color)), b = lum(behind(e));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(st.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) bad.push(e.tagName + '.' + e.className + ' "' + e.textContent.trim().slice(0, 40) + '" ' + ratio.toFixed(2));
  }
  return bad;
})()`

// lowContrast returns the page's text that fails contrastJS now.
func lowContrast(ctx context.Context) ([]string, error) {
	var bad []string
	err := chromedp.Run(ctx, chromedp.Evaluate(contrastJS, &bad))
	return bad, err
}

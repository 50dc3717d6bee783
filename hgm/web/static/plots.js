// Small SVG line plots: several series on the same axes, an optional band (an interval) per
// series, ticks, a legend. No library, nothing fetched.
"use strict";

(function (HGM) {
  const { s, h } = HGM;
  const W = 520, H = 260, M = { l: 52, r: 12, t: 12, b: 38 };
  const PALETTE = ["#2f6fdf", "#d9480f", "#2b8a3e", "#9c36b5", "#e67700", "#0b7285", "#c2255c"];

  function ticks(lo, hi, n) {
    if (hi <= lo) return [lo];
    const step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    const err = (hi - lo) / n / step;
    const mult = err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    const st = step * mult, out = [];
    for (let v = Math.ceil(lo / st) * st; v <= hi + st * 1e-9; v += st) out.push(Number(v.toPrecision(12)));
    return out;
  }

  const label = (v) => (Math.abs(v) >= 1000 ? v.toLocaleString("en") : String(Number(v.toPrecision(4))));

  // series: [{name, points: [[x, y]], band: [[x, lo, hi]], step: bool}]
  function linePlot(series, { xlabel, ylabel, ymin, ymax, title }) {
    const pts = series.flatMap((sr) => sr.points.concat((sr.band || []).map((b) => [b[0], b[1]]), (sr.band || []).map((b) => [b[0], b[2]])));
    const svg = s("svg", { class: "plot", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": title || ylabel });
    const figure = h("figure", { className: "plot-box" }, title ? h("figcaption", {}, title) : null, svg);
    if (!pts.length) {
      svg.appendChild(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "muted", text: "no data yet" }));
      return figure;
    }
    let x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0]));
    let y0 = ymin !== undefined ? ymin : Math.min(...pts.map((p) => p[1]));
    let y1 = ymax !== undefined ? ymax : Math.max(...pts.map((p) => p[1]));
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) y1 = y0 + 1;
    const X = (v) => M.l + ((v - x0) / (x1 - x0)) * (W - M.l - M.r);
    const Y = (v) => H - M.b - ((v - y0) / (y1 - y0)) * (H - M.t - M.b);
    for (const t of ticks(y0, y1, 5)) {
      svg.appendChild(s("line", { class: "grid", x1: M.l, x2: W - M.r, y1: Y(t), y2: Y(t) }));
      svg.appendChild(s("text", { class: "tick", x: M.l - 6, y: Y(t) + 4, "text-anchor": "end", text: label(t) }));
    }
    for (const t of ticks(x0, x1, 6)) {
      svg.appendChild(s("text", { class: "tick", x: X(t), y: H - M.b + 16, "text-anchor": "middle", text: label(t) }));
    }
    svg.appendChild(s("text", { class: "axis", x: (W + M.l) / 2, y: H - 4, "text-anchor": "middle", text: xlabel }));
    svg.appendChild(s("text", { class: "axis", x: 12, y: H / 2, transform: "rotate(-90 12 " + H / 2 + ")", "text-anchor": "middle", text: ylabel }));
    series.forEach((sr, i) => {
      const colour = PALETTE[i % PALETTE.length];
      if (sr.band && sr.band.length) {
        const top = sr.band.map((b) => X(b[0]) + "," + Y(b[2]));
        const bottom = sr.band.slice().reverse().map((b) => X(b[0]) + "," + Y(b[1]));
        svg.appendChild(s("polygon", { class: "band", fill: colour, points: top.concat(bottom).join(" ") }));
      }
      const d = sr.points.map((p, j) => {
        if (!j) return "M" + X(p[0]) + " " + Y(p[1]);
        return (sr.step ? "H" + X(p[0]) + "V" : "L" + X(p[0]) + " ") + Y(p[1]);
      }).join("");
      svg.appendChild(s("path", { class: "line", stroke: colour, d, "data-series": i }));
    });
    if (series.length > 1 || series[0].name) {
      figure.appendChild(h("div", { className: "legend" }, series.map((sr, i) =>
        h("span", { className: "legend-item", dataset: { colour: i % PALETTE.length } }, sr.name))));
    }
    return figure;
  }

  // Horizontal bars: [{label, value}]
  function barPlot(items, { title, unit }) {
    const max = Math.max(1e-12, ...items.map((it) => it.value));
    const rows = items.map((it) => h("div", { className: "bar-row" },
      h("span", { className: "bar-label" }, it.label),
      h("span", { className: "bar", dataset: { w: Math.round((100 * it.value) / max) } }),
      h("span", { className: "bar-value" }, unit(it.value))));
    const box = h("figure", { className: "plot-box" }, h("figcaption", {}, title), rows.length ? rows : h("p", { className: "muted" }, "no LLM calls"));
    // widths are set through the style object (no style attribute strings from data)
    box.querySelectorAll(".bar").forEach((b) => { b.style.width = b.dataset.w + "%"; });
    return box;
  }

  // The best-belief curves of several runs against one x key ("evaluations", "dollars", "hours").
  function bestPlot(runs, xkey, xlabel) {
    const series = runs.map(([name, pts]) => ({
      name,
      step: true,
      points: pts.map((p) => [p[xkey], p.rate]),
      band: pts.map((p) => [p[xkey], p.lower, p.upper]),
    }));
    return linePlot(series, { xlabel, ylabel: "best-belief pass rate", ymin: 0, ymax: 1,
                              title: "best agent against " + xlabel });
  }

  HGM.plots = { linePlot, barPlot, bestPlot, PALETTE };
})(window.HGM);

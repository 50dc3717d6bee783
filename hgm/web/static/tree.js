// The tree view: one SVG, depth left to right, one row per leaf. Edges are a single path
// (cheap at 10,000 nodes); nodes are circles (diamonds for skill nodes), sized by evaluations
// and coloured by own pass rate or CMP. Drag pans, the wheel zooms, a double click collapses a
// clade, and a click selects a node.
"use strict";

(function (HGM) {
  const { s, rateColour } = HGM;
  const DX = 60, DY = 16;

  class TreeView {
    constructor(container, opts) {
      this.container = container;
      this.onSelect = opts.onSelect || (() => {});
      this.colour = "own";
      this.collapsed = new Set();
      this.matches = new Set();
      this.selected = null;
      this.view = null; // {x, y, k}
      this.svg = s("svg", { class: "tree", role: "img", "aria-label": "the tree of agent versions" });
      this.viewport = s("g", {});
      this.svg.appendChild(this.viewport);
      container.appendChild(this.svg);
      this._bindPanZoom();
      this._bindPointer();
    }

    // New data (first load, or a live update): keeps the view, selection and collapsed clades.
    setData(data) {
      this.data = data;
      const n = data.id.length;
      this.children = Array.from({ length: n }, () => []);
      for (let i = 0; i < n; i++) if (data.parent[i] >= 0) this.children[data.parent[i]].push(i);
      this.lineage = new Set();
      for (let b = data.best; b !== null && b !== undefined && b >= 0; b = data.parent[b]) this.lineage.add(b);
      this.busy = new Map((data.busy || []).map((b) => [b.node, b.kind]));
      if (!this.initialised) { this.initialised = true; this._autoCollapse(); }
      this.render();
    }

    // A big tree opens collapsed: clades are opened largest first while at most `limit` nodes
    // show; the rest stay collapsed (a click, a search or "expand all" opens them).
    _autoCollapse(limit = 600) {
      const d = this.data, n = d.id.length;
      if (n <= limit) return;
      const size = new Float64Array(n).fill(1);
      for (let i = n - 1; i > 0; i--) if (d.parent[i] >= 0) size[d.parent[i]] += size[i];
      const open = new Uint8Array(n);
      let shown = 1;
      const queue = [0];
      while (queue.length) {
        queue.sort((a, b) => size[a] - size[b]);
        const i = queue.pop();
        const kids = this.children[i];
        if (!kids.length || shown + kids.length > limit) continue;
        open[i] = 1;
        shown += kids.length;
        queue.push(...kids);
      }
      for (let i = 0; i < n; i++) if (this.children[i].length && !open[i]) this.collapsed.add(i);
    }

    // Positions: leaves (and collapsed nodes) take successive rows; a parent sits at the
    // middle of its first and last child. Iterative, so deep trees do not overflow the stack.
    _layout() {
      const n = this.data.id.length, x = new Float64Array(n), y = new Float64Array(n);
      const shown = new Uint8Array(n);
      let row = 0;
      const stack = [[0, 0]];
      while (stack.length) {
        const top = stack[stack.length - 1];
        const [node, next] = top;
        shown[node] = 1;
        const kids = this.collapsed.has(node) ? [] : this.children[node];
        if (next < kids.length) {
          top[1]++;
          stack.push([kids[next], 0]);
          continue;
        }
        stack.pop();
        x[node] = (stack.length) * DX;
        if (!kids.length) y[node] = row++ * DY;
        else y[node] = (y[kids[0]] + y[kids[kids.length - 1]]) / 2;
      }
      return { x, y, shown, rows: row };
    }

    render() {
      const d = this.data;
      if (!d || !d.id.length) return;
      const { x, y, shown, rows } = this._layout();
      this.pos = { x, y, shown };
      const edges = [], lineage = [], crosses = [];
      const frag = document.createDocumentFragment();
      let visible = 0;
      for (let i = 0; i < d.id.length; i++) visible += shown[i];
      const labels = visible <= 400 ? document.createDocumentFragment() : null;
      for (let i = 0; i < d.id.length; i++) {
        if (!shown[i]) continue;
        const p = d.parent[i];
        if (p >= 0) {
          const seg = "M" + x[p] + " " + y[p] + "H" + (x[p] + DX / 2) + "V" + y[i] + "H" + x[i];
          (this.lineage.has(i) ? lineage : edges).push(seg);
        }
        if (d.failed[i] > 0) {
          const cx = x[i] + 8, cy = y[i] - 8;
          crosses.push("M" + (cx - 3) + " " + (cy - 3) + "l6 6m0 -6l-6 6");
        }
        frag.appendChild(this._node(i, x[i], y[i]));
        if (labels) labels.appendChild(s("text", { class: "label", x: x[i] + 9, y: y[i] + 12, text: d.id[i] }));
      }
      while (this.viewport.firstChild) this.viewport.removeChild(this.viewport.firstChild);
      this.viewport.appendChild(s("path", { class: "edges", d: edges.join("") }));
      this.viewport.appendChild(s("path", { class: "edges lineage", d: lineage.join("") }));
      this.viewport.appendChild(s("path", { class: "failed-marks", d: crosses.join("") }));
      if (labels) this.viewport.appendChild(labels);
      this.viewport.appendChild(frag);
      this.bounds = { w: (Math.max(...x) || 0) + DX, h: rows * DY + DY };
      if (!this.view) this.fit();
      else this._apply();
    }

    _node(i, x, y) {
      const d = this.data;
      const evals = d.evals[i];
      const r = Math.min(11, 3.5 + 1.6 * Math.sqrt(evals));
      const rate = this.colour === "cmp" ? d.cmp[i] : (evals ? d.passes[i] / evals : -1);
      const classes = ["node"];
      if (!d.valid[i]) classes.push("invalid");
      if (d.kind[i] === "skill") classes.push("skill");
      if (this.lineage.has(i)) classes.push("on-lineage");
      if (i === d.best) classes.push("best");
      if (this.collapsed.has(i)) classes.push("collapsed");
      if (this.matches.has(i)) classes.push("match");
      if (i === this.selected) classes.push("selected");
      if (this.busy.has(i)) classes.push("busy", "busy-" + this.busy.get(i));
      const attrs = { class: classes.join(" "), "data-node": d.id[i], fill: d.valid[i] ? rateColour(rate) : "#fff" };
      if (d.kind[i] === "skill") {
        return s("rect", { ...attrs, x: x - r, y: y - r, width: 2 * r, height: 2 * r,
                           transform: "rotate(45 " + x + " " + y + ")" });
      }
      return s("circle", { ...attrs, cx: x, cy: y, r });
    }

    setColour(mode) { this.colour = mode; this.render(); }

    select(id, centre) {
      this.selected = id;
      // A selected node inside a collapsed clade is shown: its ancestors open.
      for (let p = this.data.parent[id]; p >= 0; p = this.data.parent[p]) this.collapsed.delete(p);
      this.render();
      if (centre) this.centre(id);
    }

    toggle(id) {
      if (!this.children[id].length) return;
      if (this.collapsed.has(id)) this.collapsed.delete(id); else this.collapsed.add(id);
      this.render();
    }

    // Matches of a node id ("12") or of text in the proposals; returns them in id order.
    search(query) {
      const q = query.trim().toLowerCase();
      this.matches = new Set();
      if (q) {
        const d = this.data;
        for (let i = 0; i < d.id.length; i++) {
          if (String(d.id[i]) === q || (q.length > 1 && d.text[i].toLowerCase().includes(q))) this.matches.add(i);
        }
        for (const m of this.matches) for (let p = d.parent[m]; p >= 0; p = d.parent[p]) this.collapsed.delete(p);
      }
      this.render();
      return [...this.matches];
    }

    // The whole tree in view, unless that would shrink nodes below legibility: then the
    // top of the tree at a readable scale (the wheel scrolls, ctrl + wheel zooms).
    fit(whole) {
      const w = this.svg.clientWidth || 800, hgt = this.svg.clientHeight || 600;
      let k = Math.min(2, (w - 40) / Math.max(1, this.bounds.w), (hgt - 40) / Math.max(1, this.bounds.h));
      if (!whole) k = Math.max(k, Math.min(0.6, (w - 40) / Math.max(1, this.bounds.w)));
      this.view = { k, x: 20 + Math.max(0, (w - 40 - this.bounds.w * k) / 2),
                    y: 20 + Math.max(0, (hgt - 40 - this.bounds.h * k) / 2) };
      this._apply();
    }

    zoom(f, mx, my) {
      const v = this.view;
      if (mx === undefined) { mx = (this.svg.clientWidth || 800) / 2; my = (this.svg.clientHeight || 600) / 2; }
      const k = Math.min(20, Math.max(0.002, v.k * f));
      v.x = mx - (mx - v.x) * (k / v.k);
      v.y = my - (my - v.y) * (k / v.k);
      v.k = k;
      this._apply();
    }

    centre(id) {
      const w = this.svg.clientWidth || 800, hgt = this.svg.clientHeight || 600;
      const k = Math.max(this.view.k, 0.8);
      this.view = { k, x: w / 2 - this.pos.x[id] * k, y: hgt / 2 - this.pos.y[id] * k };
      this._apply();
    }

    _apply() {
      const v = this.view;
      this.viewport.setAttribute("transform", "translate(" + v.x + " " + v.y + ") scale(" + v.k + ")");
    }

    _bindPanZoom() {
      let drag = null;
      this.svg.addEventListener("pointerdown", (e) => {
        if (e.target.dataset && e.target.dataset.node !== undefined) return;
        drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y };
        this.svg.setPointerCapture(e.pointerId);
      });
      this.svg.addEventListener("pointermove", (e) => {
        if (!drag) return;
        this.view.x = drag.vx + e.clientX - drag.x;
        this.view.y = drag.vy + e.clientY - drag.y;
        this._apply();
      });
      this.svg.addEventListener("pointerup", () => { drag = null; });
      // The wheel scrolls (shift: sideways); ctrl + wheel (and a pinch) zooms at the pointer.
      this.svg.addEventListener("wheel", (e) => {
        e.preventDefault();
        if (e.ctrlKey || e.metaKey) {
          const rect = this.svg.getBoundingClientRect();
          this.zoom(Math.exp(-e.deltaY * 0.004), e.clientX - rect.left, e.clientY - rect.top);
          return;
        }
        if (e.shiftKey) this.view.x -= e.deltaY; else { this.view.x -= e.deltaX; this.view.y -= e.deltaY; }
        this._apply();
      }, { passive: false });
    }

    _bindPointer() {
      const tip = document.getElementById("tooltip");
      const nodeOf = (e) => (e.target.dataset && e.target.dataset.node !== undefined ? Number(e.target.dataset.node) : null);
      this.svg.addEventListener("click", (e) => {
        const id = nodeOf(e);
        if (id !== null) { this.select(id, false); this.onSelect(id); }
      });
      this.svg.addEventListener("dblclick", (e) => {
        const id = nodeOf(e);
        if (id !== null) this.toggle(id);
      });
      this.svg.addEventListener("mouseover", (e) => {
        const id = nodeOf(e);
        if (id === null || !tip) return;
        const d = this.data;
        const hidden = this.collapsed.has(id) ? " · " + this.children[id].length + " children hidden (double-click opens)" : "";
        const now = this.busy.has(id) ? " · being " + (this.busy.get(id) === "evaluation" ? "evaluated" : "expanded") + " now" : "";
        tip.textContent = "node " + id + " · " + d.kind[id] + (d.valid[id] ? "" : " · invalid") + now +
          " · " + d.passes[id] + "/" + d.evals[id] + " passed · CMP " + HGM.pct(d.cmp[id]) +
          (d.failed[id] ? " · " + d.failed[id] + " failed expansions" : "") + hidden + "\n" + d.text[id];
        tip.style.left = e.clientX + 12 + "px";
        tip.style.top = e.clientY + 12 + "px";
        tip.hidden = false;
      });
      this.svg.addEventListener("mouseout", () => { if (tip) tip.hidden = true; });
    }
  }

  HGM.TreeView = TreeView;
})(window.HGM);

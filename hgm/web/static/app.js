// The page: routes in the address hash (#/runs, #/tree?run=..., #/plots?run=...,
// #/compare?run=a&run=b, #/skills?run=...), and live updates of a run in progress by polling
// a cheap "what changed" query.
"use strict";

(function (HGM) {
  const { h, clear, api, pct, interval, usd, num, link, route } = HGM;
  const main = document.getElementById("main");
  const nav = document.getElementById("nav");
  const live = document.getElementById("live");
  const POLL_MS = 1500;
  let poller = null;

  function stopPolling() { if (poller) { clearInterval(poller); poller = null; } live.hidden = true; }

  // Calls `onChange` whenever the run's highest ids change (never for an exported page).
  function poll(runId, version, onChange) {
    stopPolling();
    if (window.HGM_DATA) return;
    let last = JSON.stringify(version);
    poller = setInterval(async () => {
      let v;
      try { v = await api("version", { run: runId }); } catch (e) { return; }
      const now = JSON.stringify(v);
      if (now !== last) { last = now; live.hidden = false; live.textContent = "live · updated " + new Date().toLocaleTimeString(); onChange(v); }
    }, POLL_MS);
  }

  function runNav(runId, active) {
    clear(nav);
    nav.appendChild(h("span", { className: "run-id" }, runId));
    for (const [view, label] of [["tree", "Tree"], ["plots", "Plots"], ["skills", "Skills"]]) {
      nav.appendChild(h("a", { href: link(view, { run: runId }), className: view === active ? "active" : "" }, label));
    }
  }

  function bestCell(b) {
    if (!b) return "–";
    return h("span", {}, "node " + b.node + " · " + pct(b.pass_rate) + " " + interval(b.interval95) + " of " + b.evals,
      b.qualified ? "" : h("span", { className: "muted" }, " (candidate)"));
  }

  async function runsPage() {
    clear(nav);
    const data = await api("runs");
    const chosen = new Set();
    const compareBtn = h("button", { disabled: true, onclick: () => { location.hash = link("compare", { run: [...chosen] }); } }, "compare selected");
    const rows = data.runs.map((r) => h("tr", { dataset: { run: r.id } },
      h("td", {}, h("input", { type: "checkbox", "aria-label": "select for comparison", onchange: (e) => {
        if (e.target.checked) chosen.add(r.id); else chosen.delete(r.id);
        compareBtn.disabled = chosen.size < 2;
      } })),
      h("td", {}, h("a", { href: link("tree", { run: r.id }) }, r.id)),
      h("td", {}, r.policy), h("td", {}, r.model), h("td", {}, r.benchmark),
      h("td", { className: "num" }, num(r.nodes)), h("td", { className: "num" }, num(r.evaluations)),
      h("td", { className: "num" }, usd(r.cost_usd)), h("td", { className: "num" }, r.hours === undefined ? "–" : Number(r.hours).toFixed(2)),
      h("td", {}, bestCell(r.best)),
      h("td", {}, h("span", { className: "state state-" + r.state }, r.state), r.reason ? h("span", { className: "muted" }, " " + r.reason) : null)));
    clear(main).appendChild(h("h1", {}, "Runs under ", data.root));
    main.appendChild(h("table", { className: "runs" },
      h("thead", {}, h("tr", {}, ["", "run", "policy", "model", "benchmark", "nodes", "evaluations", "dollars", "hours", "best (belief, 95% interval)", "state"].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows)));
    main.appendChild(h("p", {}, compareBtn, " ", h("span", { className: "muted" }, "tick two or more runs to overlay them")));
    if (!data.runs.length) main.appendChild(h("p", { className: "muted" }, "no runs found here"));
  }

  async function treePage(params) {
    const runId = params.get("run");
    runNav(runId, "tree");
    const [summary, tree] = await Promise.all([api("summary", { run: runId }), api("tree", { run: runId })]);
    const head = h("div", { className: "summary" });
    const fillHead = (sm) => {
      clear(head).append(h("strong", {}, sm.policy), " · ", sm.model, " · ", sm.benchmark, " · ",
        h("span", { className: "count-nodes" }, num(sm.nodes) + " nodes"), " · " + num(sm.evaluations) + " evaluations · ",
        num(sm.failed_expansions) + " failed expansions · " + usd(sm.cost_usd) + " · ",
        h("span", { className: "state state-" + sm.state }, sm.state), " · best: ", bestCell(sm.best));
    };
    fillHead(summary);
    const panel = h("aside", { className: "panel", id: "panel" }, h("p", { className: "muted" }, "click a node"));
    const holder = h("div", { className: "tree-holder" });
    const search = h("input", { type: "search", placeholder: "node id or proposal text", "aria-label": "search nodes" });
    const found = h("span", { className: "muted" });
    const colour = h("select", { "aria-label": "colour by", onchange: () => view.setColour(colour.value) },
      h("option", { value: "own" }, "colour: own pass rate"), h("option", { value: "cmp" }, "colour: CMP (clade)"));
    const toolbar = h("div", { className: "toolbar" }, search, found, colour,
      h("button", { onclick: () => view.zoom(1.5), title: "zoom in (or ctrl + wheel)" }, "+"),
      h("button", { onclick: () => view.zoom(1 / 1.5), title: "zoom out (or ctrl + wheel)" }, "−"),
      h("button", { onclick: () => view.fit(true) }, "whole tree"),
      h("button", { onclick: () => { view.collapsed.clear(); view.render(); } }, "expand all"),
      h("span", { className: "legend-text muted" }, "size = evaluations · ◆ skill node · hollow = invalid · × failed expansion · gold = best lineage · pulsing = being evaluated (blue) or expanded (violet) now · wheel scrolls, ctrl + wheel zooms, drag pans · double-click collapses / opens"));
    clear(main).append(head, toolbar, h("div", { className: "split" }, holder, panel));
    const selectNode = (id) => {
      view.select(id, true);
      history.replaceState(null, "", link("tree", { run: runId, node: id }));
      HGM.showNode(panel, runId, id, selectNode);
    };
    const view = new HGM.TreeView(holder, { onSelect: (id) => {
      history.replaceState(null, "", link("tree", { run: runId, node: id }));
      HGM.showNode(panel, runId, id, selectNode);
    } });
    view.setData(tree);
    holder.dataset.nodes = tree.id.length;
    // When the first frame with the tree is painted (ms since navigation; benchmarks/web.py reads it).
    requestAnimationFrame(() => setTimeout(() => { document.body.dataset.treePaintMs = performance.now().toFixed(1); }, 0));
    search.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      const hits = view.search(search.value);
      found.textContent = search.value.trim() ? hits.length + " found" : "";
      if (hits.length) selectNode(hits[0]);
    });
    if (params.get("node") !== null) selectNode(Number(params.get("node")));
    // What the open node panel shows that a live run can change: results, clade, failures, children.
    const panelState = (t, id) => [t.evals[id], t.clade_evals[id], t.failed[id], t.parent.filter((p) => p === id).length].join();
    poll(runId, tree.version, async () => {
      const before = view.data;
      const [sm, t] = await Promise.all([api("summary", { run: runId }), api("tree", { run: runId })]);
      fillHead(sm);
      view.setData(t);
      holder.dataset.nodes = t.id.length;
      const id = view.selected;
      if (id !== null && panelState(before, id) !== panelState(t, id)) HGM.showNode(panel, runId, id, selectNode);
    });
  }

  async function plotsPage(params) {
    const runId = params.get("run");
    runNav(runId, "plots");
    const draw = async () => {
      const p = await api("plots", { run: runId });
      clear(main).appendChild(h("h1", {}, "Plots"));
      main.appendChild(plotGrid([[runId, p]]));
    };
    await draw();
    const v = await api("version", { run: runId }).catch(() => null);
    if (v) poll(runId, v, draw);
  }

  // Plots of one or several runs on the same axes.
  function plotGrid(runs) {
    const P = HGM.plots;
    const grid = h("div", { className: "plot-grid" });
    const best = runs.map(([id, p]) => [id, p.best]);
    grid.append(P.bestPlot(best, "evaluations", "evaluations"), P.bestPlot(best, "dollars", "dollars"), P.bestPlot(best, "hours", "hours"));
    const growth = runs.flatMap(([id, p]) => [
      { name: id + " nodes", points: p.growth.nodes, step: true },
      { name: id + " invalid", points: p.growth.invalid, step: true },
      { name: id + " failed expansions", points: p.growth.failed, step: true }]);
    grid.append(P.linePlot(growth, { xlabel: "hours", ylabel: "count", ymin: 0, title: "nodes and failed expansions over time" }));
    const costs = runs.flatMap(([id, p]) => p.cost.map((c) => ({ label: (runs.length > 1 ? id + " · " : "") + c.kind + " (" + c.calls + " calls)", value: c.cost_usd })));
    grid.append(P.barPlot(costs, { title: "cost by kind", unit: usd }));
    return grid;
  }

  async function comparePage(params) {
    const ids = params.getAll("run");
    clear(nav).appendChild(h("span", { className: "run-id" }, "compare " + ids.length + " runs"));
    const data = await api("compare", { run: ids });
    clear(main).appendChild(h("h1", {}, "Compare"));
    main.appendChild(h("table", { className: "runs compare" },
      h("thead", {}, h("tr", {}, ["run", "policy", "model", "benchmark", "nodes", "evaluations", "dollars", "final agent (95% interval)"].map((c) => h("th", {}, c)))),
      h("tbody", {}, data.runs.map((r) => h("tr", { dataset: { run: r.id } },
        h("td", {}, h("a", { href: link("tree", { run: r.id }) }, r.id)), h("td", {}, r.policy), h("td", {}, r.model),
        h("td", {}, r.benchmark), h("td", { className: "num" }, num(r.nodes)), h("td", { className: "num" }, num(r.evaluations)),
        h("td", { className: "num" }, usd(r.cost_usd)), h("td", {}, bestCell(r.best)))))));
    main.appendChild(plotGrid(data.runs.map((r) => [r.id, data.plots[r.id]])));
    const m = data.matrix;
    main.appendChild(h("h2", {}, "Per task: each run's best agent"));
    main.appendChild(h("table", { className: "matrix" },
      h("thead", {}, h("tr", {}, h("th", {}, "task"), m.runs.map((r) => h("th", {}, r)))),
      h("tbody", {}, m.tasks.map((t) => h("tr", {}, h("td", { className: "task" }, t), m.runs.map((r) => {
        const c = m.cells[r][t];
        if (!c) return h("td", { className: "cell-none" }, "–");
        return h("td", { className: c[0] === c[1] && c[1] ? "cell-pass" : c[0] ? "cell-some" : "cell-fail" }, c[0] + "/" + c[1]);
      }))))));
  }

  function liftText(l) {
    if (!l || l.lift === null) return "–";
    const sign = l.lift >= 0 ? "+" : "";
    return sign + (100 * l.lift).toFixed(0) + " pts [" + (100 * l.interval[0]).toFixed(0) + ", " + (100 * l.interval[1]).toFixed(0) + "]";
  }

  async function showSkill(box, runId, id) {
    clear(box).appendChild(h("p", { className: "muted" }, "loading…"));
    let sk;
    try { sk = await api("skill", { run: runId, id }); }
    catch (e) { clear(box).appendChild(h("p", { className: "error" }, String(e.message))); return; }
    const s = sk.summary, nodeLink = (n) => h("a", { href: link("tree", { run: runId, node: n }) }, "node " + n);
    clear(box).append(h("h2", { dataset: { skill: s.id } }, s.name),
      h("p", {}, s.description),
      h("p", { className: "muted" }, "introduced by ", nodeLink(s.introduced_by), " · origin ", String((s.origin || {}).how || "–"),
        " · ", s.verified ? "verified" : "not verified", " · carried by " + sk.carried_by.length + " nodes"),
      h("p", { className: "muted" }, "lineage: ", sk.lineage.flatMap((n, k) => (k ? [" → ", nodeLink(n)] : [nodeLink(n)]))),
      h("p", { className: "muted" }, "near-duplicates: " + (sk.near_duplicates.map((d) => d.name + " (" + Number(d.cosine).toFixed(2) + ")").join(", ") || "none")));
    const names = Object.keys(sk.files).sort((a, b) => (a === "SKILL.md" ? -1 : b === "SKILL.md" ? 1 : a.localeCompare(b)));
    for (const name of names) {
      box.appendChild(h("details", { open: name === "SKILL.md" || names.length <= 3 }, h("summary", { className: "task" }, name), h("pre", { className: "text" }, sk.files[name])));
    }
  }

  async function skillsPage(params) {
    const runId = params.get("run");
    runNav(runId, "skills");
    const data = await api("skills", { run: runId });
    clear(main).appendChild(h("h1", {}, "Skills (" + data.skills.length + ")"));
    const search = h("input", { type: "search", placeholder: "filter by name or description", "aria-label": "filter skills" });
    const body = h("tbody");
    const detail = h("aside", { className: "panel", id: "skill-panel" }, h("p", { className: "muted" }, "click a skill for its SKILL.md and code"));
    const fill = () => {
      const q = search.value.trim().toLowerCase();
      clear(body);
      for (const sk of data.skills) {
        if (q && !(String(sk.name) + " " + String(sk.description)).toLowerCase().includes(q)) continue;
        body.appendChild(h("tr", { className: "clickable", dataset: { skill: sk.id }, onclick: () => showSkill(detail, runId, sk.id) },
          h("td", { className: "task" }, sk.name),
          h("td", { title: sk.description }, sk.description.length > 140 ? sk.description.slice(0, 140) + "…" : sk.description),
          h("td", {}, h("a", { href: link("tree", { run: runId, node: sk.introduced_by }) }, "node " + sk.introduced_by)),
          h("td", {}, String((sk.origin || {}).how || "–")), h("td", {}, sk.verified ? "yes" : "no"),
          h("td", { className: "num" }, num(sk.nodes)), h("td", { className: "num" }, sk.used + " (" + sk.read + " read, " + sk.ran + " ran)"),
          h("td", { className: "num" }, liftText(sk.lift))));
      }
    };
    search.addEventListener("input", fill);
    const table = h("table", { className: "skills" },
      h("thead", {}, h("tr", {}, ["skill", "description", "introduced by", "origin", "verified", "nodes", "evaluations using it", "lift (95% interval)"].map((c) => h("th", {}, c)))), body);
    main.append(h("p", {}, search, " ", h("span", { className: "muted" }, "lift: pass rate of held-out evaluations that used the skill minus those of the same nodes that did not")),
      data.skills.length ? h("div", { className: "split" }, h("div", { className: "skills-list" }, table), detail)
        : h("p", { className: "muted" }, "this run's skill index is empty"));
    fill();
  }

  const PAGES = { runs: runsPage, tree: treePage, plots: plotsPage, compare: comparePage, skills: skillsPage };

  async function show() {
    stopPolling();
    const { view, params } = route();
    const page = PAGES[view] || runsPage;
    try {
      await page(params);
    } catch (e) {
      clear(main).appendChild(h("p", { className: "error" }, "cannot show this page: " + e.message));
    }
  }

  window.addEventListener("hashchange", show);
  if (window.HGM_DATA && !location.hash && window.HGM_DATA.start) location.hash = window.HGM_DATA.start;
  else show();
})(window.HGM);

// The node panel: proposal, statistics with intervals, the diff against parent / root / any
// node, results per task with each evaluation's trajectory and test log, LLM calls, failed
// expansions, skills added and children. All run text goes in as text nodes.
"use strict";

(function (HGM) {
  const { h, clear, api, pct, interval, usd, num } = HGM;
  const FOLD_LINES = 14;

  function stat(label, r) {
    return h("div", { className: "stat" }, h("span", { className: "muted" }, label + " "),
      r.passes + "/" + r.evals + " passed · " + (r.evals ? pct(r.mean) + " " + interval(r.interval95) : "not evaluated"));
  }

  // A block of text, folded behind a <details> when it is long.
  function textBlock(text, className) {
    const lines = String(text || "").split("\n");
    const pre = h("pre", { className: className || "text" }, text || "");
    if (lines.length <= FOLD_LINES) return pre;
    return h("details", {}, h("summary", {}, lines.slice(0, 2).join(" ").slice(0, 100) + " … (" + lines.length + " lines)"), pre);
  }

  // Light syntax highlighting of code lines (Python and C-like): comments, strings, keywords
  // and numbers become spans; each token is a text node like everything else.
  const TOKEN = /(#.*$|\/\/.*$)|("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?)|\b(def|class|return|if|elif|else|for|while|import|from|as|with|try|except|finally|raise|pass|None|True|False|and|or|not|in|is|lambda|yield|async|await|function|const|let|var|new|break|continue|self)\b|\b(\d[\d_.]*)\b/g;
  const TOKEN_CLASS = ["", "t-comment", "t-string", "t-keyword", "t-number"];

  function codeSpans(code) {
    const out = [];
    let last = 0;
    for (const m of code.matchAll(TOKEN)) {
      if (m.index > last) out.push(code.slice(last, m.index));
      const kind = [1, 2, 3, 4].find((g) => m[g] !== undefined);
      out.push(h("span", { className: TOKEN_CLASS[kind] }, m[0]));
      last = m.index + m[0].length;
    }
    if (last < code.length) out.push(code.slice(last));
    return out;
  }

  function diffView(text) {
    const pre = h("pre", { className: "diff" });
    for (const line of String(text).split("\n")) {
      let cls = "", code = true;
      if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff ") || line.startsWith("index ")) { cls = "d-file"; code = false; }
      else if (line.startsWith("@@")) { cls = "d-hunk"; code = false; }
      else if (line.startsWith("+")) cls = "d-add";
      else if (line.startsWith("-")) cls = "d-del";
      const body = code ? [line.slice(0, 1), ...codeSpans(line.slice(1))] : [line];
      pre.appendChild(h("span", { className: cls }, ...body, "\n"));
    }
    return text ? pre : h("p", { className: "muted" }, "no change");
  }

  async function loadDiff(box, runId, node, against) {
    clear(box).appendChild(h("p", { className: "muted" }, "loading the diff…"));
    try {
      const d = await api("diff", { run: runId, node, against });
      clear(box).appendChild(h("p", { className: "muted" }, "against node " + d.against));
      box.appendChild(diffView(d.diff));
    } catch (e) {
      clear(box).appendChild(h("p", { className: "error" }, String(e.message)));
    }
  }

  function diffSection(runId, n) {
    const box = h("div", { className: "diff-box" });
    const other = h("input", { type: "number", min: 0, placeholder: "node id", "aria-label": "diff against node" });
    const pick = (against) => loadDiff(box, runId, n.node, against);
    const controls = h("div", { className: "controls" },
      h("button", { onclick: () => pick("parent") }, "against parent"),
      h("button", { onclick: () => pick("root") }, "against root"),
      other, h("button", { onclick: () => other.value !== "" && pick(String(other.value)) }, "against node"));
    pick("parent");
    return section("Change (git diff)", controls, box);
  }

  function section(title, ...content) {
    return h("section", { className: "panel-section" }, h("h3", {}, title), ...content);
  }

  async function showEvaluation(box, runId, evalId) {
    clear(box).appendChild(h("p", { className: "muted" }, "loading…"));
    let ev;
    try { ev = await api("evaluation", { run: runId, id: evalId }); }
    catch (e) { clear(box).appendChild(h("p", { className: "error" }, String(e.message))); return; }
    clear(box);
    box.appendChild(h("h4", {}, "evaluation " + ev.id + " · ", h("span", { className: "task" }, ev.task), " · ",
      h("span", { className: "outcome " + ev.outcome }, ev.outcome)));
    if (ev.reason) box.appendChild(h("p", {}, "reason: ", ev.reason));
    if (ev.header.length) {
      box.appendChild(h("dl", { className: "header" }, ev.header.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
    }
    const traj = h("ol", { className: "trajectory" });
    for (const entry of ev.entries) {
      traj.appendChild(h("li", { className: "entry role-" + entry.role.replace(/[^a-z]/gi, "") },
        h("div", { className: "entry-title" }, entry.title), textBlock(entry.text)));
    }
    box.appendChild(h("h4", {}, "trajectory"));
    box.appendChild(ev.entries.length ? traj : h("p", { className: "muted" }, "no trajectory"));
    box.appendChild(h("h4", {}, "test log"));
    box.appendChild(ev.test_log === null ? h("p", { className: "muted" }, "no test log") : textBlock(ev.test_log, "log"));
    for (const note of ev.notes) box.appendChild(h("p", { className: "muted" }, note));
  }

  function resultsSection(runId, n) {
    const detail = h("div", { className: "evaluation" });
    const rows = n.evaluations.map((e) => h("tr", { dataset: { evaluation: e.id }, className: "clickable",
      onclick: () => showEvaluation(detail, runId, e.id) },
      h("td", { className: "task" }, e.task), h("td", {}, h("span", { className: "outcome " + e.outcome }, e.outcome)),
      h("td", {}, e.duration_s + " s"), h("td", {}, usd(e.cost_usd)), h("td", { className: "muted" }, e.reason || "")));
    const table = h("table", { className: "results" },
      h("thead", {}, h("tr", {}, ["task", "outcome", "duration", "cost", "reason"].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows));
    if (n.evaluations.length) showEvaluation(detail, runId, n.evaluations[n.evaluations.length - 1].id);
    return section("Results per task (" + n.evaluations.length + ")",
      n.evaluations.length ? [table, h("p", { className: "muted" }, "click a row for its trajectory and test log"), detail]
        : h("p", { className: "muted" }, "not evaluated yet"));
  }

  function callsSection(n) {
    const t = n.llm_calls_total;
    const rows = n.llm_calls.map((c) => h("tr", {}, h("td", {}, c.scope), h("td", {}, c.model),
      h("td", {}, num(c.prompt_tokens) + " / " + num(c.completion_tokens)), h("td", {}, usd(c.cost_usd)),
      h("td", { className: "call-text" }, c.request, h("br"), "→ ", c.response, c.error ? h("span", { className: "error" }, " " + c.error) : null)));
    return section("LLM calls (" + t.count + ", " + usd(t.cost_usd) + ", " + num(t.prompt_tokens) + " prompt + " + num(t.completion_tokens) + " completion tokens)",
      rows.length ? h("table", { className: "calls" }, h("thead", {}, h("tr", {}, ["scope", "model", "tokens in/out", "cost", "request → response"].map((c) => h("th", {}, c)))), h("tbody", {}, rows))
        : h("p", { className: "muted" }, "none"));
  }

  function listSection(title, items, render) {
    return section(title + " (" + items.length + ")", items.length ? h("ul", {}, items.map(render)) : h("p", { className: "muted" }, "none"));
  }

  // Fill `box` with node `id` of run `runId`; `onNode(id)` selects another node.
  async function showNode(box, runId, id, onNode) {
    let n;
    try { n = await api("node", { run: runId, node: id }); }
    catch (e) { clear(box).appendChild(h("p", { className: "error" }, String(e.message))); return; }
    clear(box);
    const nodeLink = (nid, text) => h("a", { href: HGM.link("tree", { run: runId, node: nid }), onclick: (e) => { e.preventDefault(); onNode(nid); } }, text || "node " + nid);
    box.appendChild(h("h2", { dataset: { node: n.node } }, "node " + n.node + " ",
      h("span", { className: "badge kind-" + n.kind }, n.kind), " ",
      h("span", { className: "badge status-" + n.status }, n.status)));
    box.appendChild(h("p", { className: "muted" }, n.parent === null ? "the seed" : ["parent ", nodeLink(n.parent)], " · commit ", h("code", {}, n.commit.slice(0, 12)), " · cost ", usd(n.cost_usd)));
    if (n.reason) box.appendChild(h("p", { className: "error" }, "invalid: ", n.reason));
    box.appendChild(section("Proposal", h("pre", { className: "proposal" }, n.proposal)));
    box.appendChild(section("Statistics", stat("own", n.own), stat("clade (CMP)", n.clade)));
    if (n.node !== 0) box.appendChild(diffSection(runId, n));
    box.appendChild(resultsSection(runId, n));
    box.appendChild(callsSection(n));
    box.appendChild(listSection("Failed expansions", n.failed_expansions, (f) =>
      h("li", {}, h("span", { className: "error" }, f.reason || "failed"), " · ", usd(f.cost_usd), textBlock(f.problem_statement))));
    box.appendChild(listSection("Skills added", n.skills, (sk) =>
      h("li", {}, h("strong", {}, sk.name), " ", h("span", { className: "muted" }, sk.path), " — ", sk.description)));
    box.appendChild(listSection("Children", n.children, (c) =>
      h("li", {}, nodeLink(c.id), " ", h("span", { className: "badge kind-" + c.kind }, c.kind), " ",
        c.status === "invalid" ? h("span", { className: "badge status-invalid" }, "invalid") : null, " ", c.text)));
    return n;
  }

  HGM.showNode = showNode;
})(window.HGM);

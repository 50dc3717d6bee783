// Small helpers shared by the page's views. Every piece of run text (proposals, trajectories,
// task ids, file names) is written by an LLM: it only ever enters the page as a text node
// (h() turns strings into text nodes) and never through innerHTML.
"use strict";
window.HGM = window.HGM || {};

(function (HGM) {
  const SVG_NS = "http://www.w3.org/2000/svg";

  // h("div", {className: "x", onclick: f, dataset: {node: 3}}, "text", child, ...)
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    setProps(el, props);
    append(el, children);
    return el;
  }

  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") el.textContent = String(v);
      else el.setAttribute(k, String(v));
    }
    append(el, children);
    return el;
  }

  const SAFE_ATTRS = new Set(["title", "type", "value", "placeholder", "colspan", "open",
                              "checked", "id", "for", "name", "min", "max", "step", "role",
                              "aria-label", "tabindex", "disabled", "hidden"]);

  function setProps(el, props) {
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "className") el.className = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k === "href") el.setAttribute("href", safeHref(v));
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (SAFE_ATTRS.has(k)) el.setAttribute(k, v === true ? "" : String(v));
      else throw new Error("h(): attribute not allowed: " + k);
    }
  }

  // Links are only ever the page's own routes.
  function safeHref(v) {
    const text = String(v);
    return text.startsWith("#/") ? text : "#/";
  }

  function append(el, children) {
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  function apiKey(endpoint, params) {
    const keys = Object.keys(params).sort();
    return endpoint + "?" + keys.map((k) => k + "=" + [].concat(params[k]).join(",")).join("&");
  }

  // One JSON answer of the API, or of the exported data when the page was opened from disk.
  async function api(endpoint, params) {
    params = params || {};
    if (window.HGM_DATA) {
      const key = apiKey(endpoint, params);
      if (key in window.HGM_DATA.api) return window.HGM_DATA.api[key];
      throw new Error("not in this export: " + key);
    }
    const qs = new URLSearchParams();
    for (const k of Object.keys(params).sort()) {
      for (const v of [].concat(params[k])) qs.append(k, v);
    }
    const response = await fetch("api/" + endpoint + "?" + qs.toString());
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }

  const pct = (x) => (x === null || x === undefined || x < 0 ? "–" : (100 * x).toFixed(0) + "%");
  const interval = (iv) => (iv && iv[0] !== null ? "[" + pct(iv[0]) + ", " + pct(iv[1]) + "]" : "");
  const usd = (x) => (x === null || x === undefined ? "–" : "$" + Number(x).toFixed(4));
  const num = (x) => (x === null || x === undefined ? "–" : Number(x).toLocaleString("en"));

  // Colour of a pass rate in [0, 1] (red .. amber .. green); grey when unknown.
  function rateColour(rate) {
    if (rate === null || rate === undefined || rate < 0 || Number.isNaN(rate)) return "#b9bec7";
    return "hsl(" + Math.round(rate * 120) + ", 65%, 45%)";
  }

  // The route in the address's hash: "#/tree?run=a&node=3" -> {view: "tree", params}.
  function route() {
    const hash = location.hash.replace(/^#\/?/, "");
    const [view, query] = hash.split("?");
    return { view: view || "runs", params: new URLSearchParams(query || "") };
  }

  function link(view, params) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      for (const x of [].concat(v)) if (x !== undefined && x !== null) qs.append(k, x);
    }
    return "#/" + view + (qs.toString() ? "?" + qs.toString() : "");
  }

  Object.assign(HGM, { h, s, clear, api, apiKey, pct, interval, usd, num, rateColour, route, link });
})(window.HGM);

// vcprep view: one page, hash routes, data from the server's JSON endpoints only (nothing from a CDN).
"use strict";

const SVG = "http://www.w3.org/2000/svg";
let STATE = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "onclick" || k === "onchange" || k === "oninput") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(c === null || c === undefined ? "" : String(c)));
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) node.setAttribute(k, v);
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function fmt(v, digits = 3) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  return String(v);
}

async function api(path, params) {
  const qs = new URLSearchParams(params || {}).toString();
  const res = await fetch(path + (qs ? "?" + qs : ""));
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [page, qs] = hash.split("?");
  return { page: page || "overview", params: Object.fromEntries(new URLSearchParams(qs || "")) };
}

function go(page, params) {
  location.hash = "#/" + page + "?" + new URLSearchParams(params).toString();
}

function link(text, page, params, cls) {
  return el("a", { href: "#/" + page + "?" + new URLSearchParams(params).toString(), class: cls }, text);
}

function errorPage(title, message) {
  return el("div", { class: "error-page", id: "error" }, el("h2", {}, title), el("p", {}, message));
}

function nav(current, ds) {
  const box = document.getElementById("nav");
  box.replaceChildren();
  const pages = [["overview", "Overview"], ["samples", "Samples"]];
  if (STATE.eval.path) pages.push(["eval", "Model answers"]);
  if (STATE.datasets.length > 1) pages.push(["compare", "Compare"]);
  for (const d of STATE.datasets) {
    box.append(link(`dataset ${d.ds}: ${d.name || d.root}`, "overview", { ds: d.ds }, "ds-link" + (String(d.ds) === String(ds) ? " active" : "")));
  }
  box.append(el("span", {}, " | "));
  for (const [page, label] of pages) box.append(link(label, page, { ds }, page === current ? "active" : ""));
  const problems = document.getElementById("problems");
  problems.replaceChildren();
  const d = STATE.datasets[ds];
  if (d) for (const p of d.problems) problems.append(el("div", { class: "problem" }, "Shard check failed: " + p));
}

// ---------------------------------------------------------------- overview
function histogram(bins, label, key) {
  const w = 320, h = 130, bw = w / bins.length;
  const max = Math.max(1, ...bins.map((b) => b[key || "count"]));
  const chart = svg("svg", { width: w, height: h + 30, class: "hist", "data-label": label });
  bins.forEach((b, i) => {
    const count = b[key || "count"];
    const bh = (count / max) * h;
    chart.append(svg("rect", { class: "bar", x: i * bw + 1, y: h - bh, width: bw - 2, height: bh, "data-count": count,
      "data-low": b.low !== undefined ? b.low : b.ids }));
    chart.append(svg("text", { x: i * bw + bw / 2 - 4, y: h - bh - 2 }, count || ""));
    chart.append(svg("text", { x: i * bw + 2, y: h + 12 }, b.low !== undefined ? b.low.toFixed(1) : b.ids));
  });
  return el("figure", {}, chart, el("figcaption", {}, label));
}

function table(headers, rows, attrs) {
  return el("table", attrs || {}, el("tr", {}, headers.map((h) => el("th", {}, h))), rows);
}

// the answer ceilings and IDs per video read every tube: the server computes them once, in the background
function fillFigures(ds, box, f) {
  const progress = box.querySelector("#figures-progress");
  if (f.ready) {
    progress.replaceWith(histogram(f.answer_ceiling_hist, "answer ceiling vIoU (best ID + span)"), histogram(f.ids_per_video, "IDs per video", "videos"));
  } else if (f.error) {
    progress.textContent = "The tube figures cannot be computed: " + f.error;
  } else {
    progress.textContent = `Reading the tubes for the answer ceilings: ${f.samples_read} of ${f.samples} samples…`;
    setTimeout(async () => { if (box.isConnected) fillFigures(ds, box, await api("/api/figures", { ds })); }, 500);
  }
}

async function showOverview(ds) {
  const o = await api("/api/overview", { ds });
  const c = o.card, q = o.quality;
  const kv = (obj) => Object.entries(obj || {}).map(([k, v]) => `${k}: ${v}`).join(", ");
  const card = table(["statistic", "value"], [
    ["samples", c.samples], ["rows", c.rows], ["stored frames", c.frames], ["videos", `${c.videos} (${fmt(c.video_seconds, 1)} s)`],
    ["shards", c.shards], ["variants", kv(c.variants)], ["tasks", kv(c.tasks)], ["sources", kv(c.sources)],
  ].map(([k, v]) => el("tr", { "data-key": k }, el("td", {}, k), el("td", { class: "value" }, fmt(v)))), { id: "card" });
  const quality = table(["statistic", "value"], [
    ["match rate", q.match_rate], ["mean oracle vIoU", q.mean_oracle_viou],
    ["mean answer ceiling vIoU", q.mean_answer_ceiling_viou], ["mean IDs per video", q.mean_ids_per_video],
  ].map(([k, v]) => el("tr", { "data-key": k }, el("td", {}, k), el("td", { class: "value" }, fmt(v, 4)))), { id: "quality" });
  const errors = o.errors.length ? table(["stage", "file", "sample", "reason"], o.errors.map((e) => {
    let target = el("span", { class: "muted" }, e.file);
    if (e.link.startsWith("sample:")) target = link(e.file || e.sample_id, "sample", { ds, id: e.link.slice(7) });
    else if (e.link.startsWith("video:")) target = link(e.file, "samples", { ds, video: e.link.slice(6) });
    return el("tr", { class: "error-row" }, el("td", {}, e.stage), el("td", {}, target), el("td", {}, e.sample_id), el("td", {}, e.reason));
  }), { id: "errors" }) : el("p", { id: "errors" }, "No failed inputs.");
  const figures = el("div", { class: "cards", id: "figures" }, histogram(q.oracle_viou_hist, "oracle vIoU (best single track)"),
    el("p", { id: "figures-progress" }, "Reading the tubes for the answer ceilings…"));
  fillFigures(ds, figures, o.figures);
  return [
    el("h2", {}, `${o.name} (format ${o.format_version})`),
    el("div", { class: "cards" }, el("div", {}, el("h3", {}, "Data card"), card), el("div", {}, el("h3", {}, "Tracking quality"), quality)),
    figures,
    el("h3", {}, `Errors (${o.errors.length})`), errors,
  ];
}

// ---------------------------------------------------------------- sample list
const FILTERS = ["task", "source", "variant", "video", "matched", "error", "quality_min", "quality_max", "ceiling_min", "ceiling_max", "sort", "order"];

async function showSamples(params) {
  const ds = params.ds || "0";
  const query = { ds, page: params.page || 0, size: params.size || 25 };
  for (const k of FILTERS) if (params[k]) query[k] = params[k];
  const data = await api("/api/samples", query);
  const form = el("form", { id: "filters" });
  const select = (name, values, labels) => el("label", {}, name,
    el("select", { name }, el("option", { value: "" }, "any"), values.map((v, i) => el("option", { value: v, selected: params[name] === v }, labels ? labels[i] : v))));
  const number = (name) => el("label", {}, name.replace("_", " "), el("input", { type: "number", step: "0.05", min: 0, max: 1, name, value: params[name] || "" }));
  const sorts = ["sample_id", "task", "source", "video_path", "oracle_viou", "oracle_tiou", "match_quality"];
  if (STATE.eval.samples) sorts.push("eval_viou", "eval_reward");
  form.append(select("task", data.facets.tasks), select("source", data.facets.sources), select("variant", data.facets.variants),
    select("video", data.facets.videos), select("matched", ["yes", "no"]), select("error", ["yes", "no"]),
    number("quality_min"), number("quality_max"), number("ceiling_min"), number("ceiling_max"),
    select("sort", sorts), select("order", ["asc", "desc"]), el("button", { type: "submit", id: "apply" }, "Apply"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const next = { ds };
    for (const [k, v] of new FormData(form).entries()) if (v !== "") next[k] = v;
    go("samples", next);
  });
  const head = ["", "sample", "task", "source", "video", "variants", "target ID", "oracle vIoU", "match quality", "error"];
  if (STATE.eval.samples) head.push("model vIoU", "model reward");
  const rows = data.items.map((s) => {
    const thumbVariant = s.variants.includes("raw") ? "raw" : s.variants[0];
    const cells = [
      el("td", {}, el("img", { class: "thumb", loading: "lazy", alt: s.sample_id, src: `/api/frame?${new URLSearchParams({ ds, id: s.sample_id, variant: thumbVariant, i: 0, thumb: 1 })}` })),
      el("td", {}, link(s.sample_id, "sample", { ds, id: s.sample_id }, "sample-link")),
      el("td", { class: "task" }, s.task), el("td", { class: "source" }, s.source), el("td", {}, s.video_path),
      el("td", {}, s.variants.join(", ")), el("td", { class: "target" }, s.matched ? s.target_id : "not matched"),
      el("td", { class: "oracle" }, fmt(s.oracle_viou)), el("td", { class: "quality" }, fmt(s.match_quality)),
      el("td", { class: "has-error" }, s.has_error ? "yes" : ""),
    ];
    if (STATE.eval.samples) cells.push(el("td", {}, fmt(s.eval && s.eval.viou)), el("td", {}, fmt(s.eval && s.eval.reward)));
    return el("tr", { class: "sample-row", "data-id": s.sample_id }, cells);
  });
  const pages = Math.max(1, Math.ceil(data.total / data.size));
  const pager = el("div", { class: "pager" },
    data.page > 0 ? link("◀ previous", "samples", { ...params, ds, page: data.page - 1 }, "prev") : "",
    el("span", { id: "count" }, `${data.total} samples · page ${data.page + 1} of ${pages}`),
    data.page + 1 < pages ? link("next ▶", "samples", { ...params, ds, page: data.page + 1 }, "next") : "");
  return [el("h2", {}, "Samples"), form, pager, table(head, rows, { id: "sample-list" })];
}

// ---------------------------------------------------------------- sample page
function boxRect(box, cls, label) {
  const [x1, y1, x2, y2] = box;
  const g = svg("g", {});
  g.append(svg("rect", { class: cls, x: x1, y: y1, width: x2 - x1, height: y2 - y1, "data-box": box.join(",") }));
  if (label !== undefined) g.append(svg("text", { x: x1 + 2, y: y1 + 14 }, label));
  return g;
}

function stage(url, v, frame, show, id) {
  const overlay = svg("svg", { class: "overlay", viewBox: `0 0 ${v.frame_width} ${v.frame_height}`, preserveAspectRatio: "none" });
  if (frame) {
    if (show.tracks) for (const t of frame.tracks) overlay.append(boxRect(t.box, "track", t.id));
    if (show.gt && frame.gt_box) overlay.append(boxRect(frame.gt_box, "gt" + (frame.gt_interpolated ? " interpolated" : "")));
    if (show.target && frame.target_box) overlay.append(boxRect(frame.target_box, "target"));
    if (show.pred && frame.pred_box) overlay.append(boxRect(frame.pred_box, "pred"));
    if (show.pred) for (const c of frame.claim_boxes || []) overlay.append(boxRect(c.box, "claim", c.name));
  }
  return el("div", { class: "stage", id }, el("img", { src: url, alt: v.variant }), overlay);
}

function nearestFrame(v, frame) {
  let best = null;
  for (const f of v.frames) if (!best || Math.abs(f.pts_seconds - frame.pts_seconds) < Math.abs(best.pts_seconds - frame.pts_seconds)) best = f;
  return best;
}

function timeline(d, v, frame, onSeek) {
  const t = d.timeline, width = 900, left = 90, right = 10, lane = 12;
  const x = (s) => left + ((s - t.start_seconds) / Math.max(1e-9, t.end_seconds - t.start_seconds)) * (width - left - right);
  const lanes = [];
  if (t.clip_span_seconds) lanes.push(["clip", "clip-span", [t.clip_span_seconds]]);
  if (t.gt_span_seconds) lanes.push(["ground truth", "gt-span", [t.gt_span_seconds]]);
  if (d.prediction && d.prediction.pred_span_seconds) lanes.push([`model (ID ${fmt(d.prediction.pred_id)})`, "pred-span", [d.prediction.pred_span_seconds]]);
  const target = v.target_id;
  const claimTimes = d.prediction ? d.prediction.claims.filter((c) => typeof c.time_seconds === "number").map((c) => [c.time_seconds, c.time_seconds]) : [];
  if (claimTimes.length) lanes.push(["model's claims", "claim-time", claimTimes]);
  for (const l of t.lanes) lanes.push([`ID ${l.id}`, "run" + (l.id === target ? " target" : ""), l.runs, l.id]);
  const height = (lanes.length + 1) * lane + 16;
  const chart = svg("svg", { id: "timeline", width, height, "data-start": t.start_seconds, "data-end": t.end_seconds });
  lanes.forEach(([label, cls, runs, id], i) => {
    const g = svg("g", { class: "lane", "data-lane": label, "data-id": id });
    g.append(svg("text", { x: 2, y: i * lane + 10 }, label));
    const minWidth = cls === "claim-time" ? 5 : 1.5;  // a claim is an instant: a visible mark centred on it
    for (const [s, e] of runs) g.append(svg("rect", { class: cls, x: x(s) - (e === s ? minWidth / 2 : 0), y: i * lane + 2, width: Math.max(minWidth, x(e) - x(s)), height: lane - 3, "data-start": s, "data-end": e }));
    chart.append(g);
  });
  for (const f of v.frames) chart.append(svg("rect", { class: "tick", x: x(f.pts_seconds), y: height - 14, width: 1, height: 5, fill: f.key_frame ? "#d50000" : "#999" }));
  const axisY = height - 2;
  chart.append(svg("text", { x: left, y: axisY }, `${fmt(t.start_seconds, 2)} s`), svg("text", { x: width - 50, y: axisY }, `${fmt(t.end_seconds, 2)} s`));
  if (frame) chart.append(svg("line", { id: "cursor", x1: x(frame.pts_seconds), x2: x(frame.pts_seconds), y1: 0, y2: height - 8, "data-seconds": frame.pts_seconds }));
  chart.addEventListener("click", (ev) => {
    const r = chart.getBoundingClientRect();
    const s = t.start_seconds + ((ev.clientX - r.left - left) / (width - left - right)) * (t.end_seconds - t.start_seconds);
    onSeek(s);
  });
  return chart;
}

function answerPanel(p) {
  if (!p) return STATE.eval.path ? el("p", { id: "model-answer", class: "muted" }, "The eval run has no answer for this sample.") : "";
  const rewards = Object.entries(p.rewards).map(([k, v]) => el("tr", { "data-reward": k }, el("td", {}, k), el("td", { class: "value" }, fmt(v, 4))));
  const claims = p.claims.length ? table(["object", "boxes", "time"], p.claims.map((c) => el("tr", {}, el("td", {}, c.name), el("td", {}, JSON.stringify(c.boxes)), el("td", {}, fmt(c.time_seconds, 2))))) : el("p", { class: "muted" }, "No <obj>/<box>/<t> claims in the reasoning.");
  return el("div", { id: "model-answer" }, el("h3", {}, "Model answer"), el("pre", { id: "model-text" }, p.text),
    table(["parsed", "value"], [["target ID", p.pred_id], ["span (s)", p.pred_span_seconds ? p.pred_span_seconds.map((s) => s.toFixed(2)).join(" to ") : null], ["tIoU", p.tiou], ["vIoU", p.viou]]
      .map(([k, v]) => el("tr", { "data-key": k }, el("td", {}, k), el("td", { class: "value" }, fmt(v, 4)))), { id: "parsed" }),
    el("h3", {}, "Rewards"), table(["reward", "value"], rewards, { id: "rewards" }), el("h3", {}, "Claims"), claims);
}

async function showSample(params) {
  const ds = params.ds || "0";
  const d = await api("/api/sample", { ds, id: params.id });
  const names = d.variants.map((v) => v.variant);
  const ui = { variant: names.includes(params.variant) ? params.variant : (names.find((n) => n !== "raw") || names[0]), index: Number(params.frame || 0),
    show: { gt: true, target: true, tracks: false, pred: true } };
  const root = el("div", { id: "sample-page", "data-id": d.sample_id });
  const frameUrl = (variant, i) => `/api/frame?${new URLSearchParams({ ds, id: d.sample_id, variant, i })}`;
  function draw() {
    const v = d.variants.find((x) => x.variant === ui.variant);
    ui.index = Math.min(Math.max(0, ui.index), v.frames.length - 1);
    const frame = v.frames[ui.index];
    const raw = d.variants.find((x) => x.variant === "raw");
    const rawFrame = raw && frame ? nearestFrame(raw, frame) : null;
    const tabs = el("div", { class: "variant-tabs" }, names.map((n) => el("button", { class: "variant-tab" + (n === ui.variant ? " selected" : ""), "data-variant": n,
      onclick: () => { const f = frame; ui.variant = n; const nv = d.variants.find((x) => x.variant === n); ui.index = f ? nearestFrame(nv, f).index : 0; draw(); } }, n)));
    const toggles = el("div", { class: "toggles" }, [["gt", "ground-truth box"], ["target", "target track box"], ["tracks", "all tracks"], ["pred", "model's box"]].map(([k, label]) =>
      el("label", {}, el("input", { type: "checkbox", id: "show-" + k, checked: ui.show[k], onchange: (ev) => { ui.show[k] = ev.target.checked; draw(); } }), " " + label)));
    const scrubber = el("input", { type: "range", id: "scrubber", min: 0, max: v.frames.length - 1, value: ui.index, step: 1,
      oninput: (ev) => { ui.index = Number(ev.target.value); draw(); } });
    const label = frame ? `frame ${ui.index + 1} of ${v.frames.length} · video frame ${frame.frame_index} · ${frame.pts_seconds.toFixed(2)} s` + (frame.key_frame ? " · annotated key frame" : "") : "no frames";
    const main = el("div", { class: "frames main-frame" },
      el("figure", {}, stage(frameUrl(v.variant, ui.index), v, frame, ui.show, "rendered"), el("figcaption", {}, `rendered: ${v.variant}`)),
      raw && rawFrame ? el("figure", {}, stage(frameUrl("raw", rawFrame.index), raw, rawFrame, ui.show, "raw"), el("figcaption", {}, `raw · video frame ${rawFrame.frame_index}`)) : "");
    const strip = el("div", { class: "frames strip", id: "variants" }, d.variants.map((x) => {
      const f = frame ? nearestFrame(x, frame) : null;
      const same = f && frame && f.frame_index === frame.frame_index;
      return el("figure", { class: "variant-thumb" + (x.variant === ui.variant ? " selected" : ""), "data-variant": x.variant, "data-frame-index": f ? f.frame_index : "",
        onclick: () => { ui.variant = x.variant; ui.index = f ? f.index : 0; draw(); } },
        f ? el("img", { src: frameUrl(x.variant, f.index), alt: x.variant }) : el("p", {}, "no frames"),
        el("figcaption", {}, `${x.variant}` + (f && !same ? ` (nearest: video frame ${f.frame_index})` : "")));
    }));
    const info = table(["", ""], [["question", v.question], ["hint", v.hint], ["answer", v.answer], ["target ID", v.target_id],
      ["ground-truth span (s)", v.gt_span_seconds ? v.gt_span_seconds.join(" to ") : null], ["oracle tIoU / vIoU", `${fmt(v.oracle_tiou)} / ${fmt(v.oracle_viou)}`],
      ["task / source", `${v.task} / ${v.source}`], ["video", `${v.video_path} (${v.source_width}x${v.source_height}, stored ${v.frame_width}x${v.frame_height})`]]
      .map(([k, val]) => el("tr", { "data-key": k }, el("td", {}, k), el("td", { class: "value" }, fmt(val)))), { id: "sample-info" });
    root.replaceChildren(
      el("h2", {}, d.sample_id), info,
      el("details", {}, el("summary", {}, "prompt"), el("pre", { id: "system-prompt" }, v.system_prompt), el("pre", { id: "user-prompt" }, v.user_prompt)),
      el("h3", {}, "Variants"), tabs, toggles,
      el("div", {}, scrubber, " ", el("span", { id: "frame-label" }, label)),
      main,
      el("div", { class: "legend" }, el("span", {}, "green: ground truth (dashed: interpolated)"), el("span", {}, "yellow: target track"), el("span", {}, "red dashed: model's ID"), el("span", {}, "orange: model's claimed boxes"), el("span", {}, "cyan: tracks")),
      timeline(d, v, frame, (s) => { ui.index = nearestFrame(v, { pts_seconds: s }).index; draw(); }),
      el("h3", {}, "All variants at this frame"), strip,
      answerPanel(d.prediction));
  }
  draw();
  return [root];
}

// ---------------------------------------------------------------- model answers, compare
async function showEval(params) {
  const ds = params.ds || "0";
  if (STATE.eval.error) return [errorPage("The eval run cannot be read", STATE.eval.error)];
  const sort = params.sort || "viou", order = params.order || "asc";
  const data = await api("/api/eval", { ds, sort, order });
  const names = data.rows.length ? Object.keys(data.rows[0].rewards) : [];
  const header = (key, label) => el("th", { class: "sortable", "data-sort": key, onclick: () => go("eval", { ds, sort: key, order: key === sort && order === "asc" ? "desc" : "asc" }) }, label + (key === sort ? (order === "asc" ? " ▲" : " ▼") : ""));
  const head = el("tr", {}, el("th", {}, "sample"), el("th", {}, "answer"), el("th", {}, "ID"), el("th", {}, "span (s)"),
    header("tiou", "tIoU"), header("viou", "vIoU"), header("reward", "reward"), names.filter((n) => n !== "total").map((n) => header(n, n)));
  const rows = data.rows.map((r) => el("tr", { class: "eval-row", "data-id": r.sample_id },
    el("td", {}, r.in_dataset ? link(r.sample_id, "sample", { ds, id: r.sample_id }) : el("span", { class: "muted" }, `${r.sample_id} (not in this dataset)`)),
    el("td", {}, el("pre", {}, r.text)), el("td", { class: "pred-id" }, fmt(r.pred_id)),
    el("td", {}, r.pred_span_seconds ? r.pred_span_seconds.map((s) => s.toFixed(2)).join(" to ") : "–"),
    el("td", { class: "tiou" }, fmt(r.tiou, 4)), el("td", { class: "viou" }, fmt(r.viou, 4)), el("td", { class: "reward" }, fmt(r.reward, 4)),
    names.filter((n) => n !== "total").map((n) => el("td", { "data-reward": n }, fmt(r.rewards[n], 4)))));
  const metrics = Object.entries(data.metrics).map(([group, values]) => el("tr", {}, el("td", {}, group),
    el("td", {}, Object.entries(values).map(([k, v]) => `${k} ${fmt(v, 4)}`).join(" · "))));
  return [el("h2", {}, `Model answers (${STATE.eval.path}, variant ${data.variant})`), table(["group", "metrics"], metrics, { id: "eval-metrics" }),
    el("h3", {}, "Per sample, worst first"), el("table", { id: "eval-list" }, head, rows)];
}

async function showCompare(params) {
  if (STATE.datasets.length < 2) return [errorPage("Nothing to compare", "Start the app with two datasets: vcprep view DATASET DATASET2")];
  const query = { page: params.page || 0 };
  if (params.only_diff) query.only_diff = 1;
  const data = await api("/api/compare", query);
  const cell = (s, ds, id) => s ? el("td", {}, el("img", { class: "thumb", loading: "lazy", src: `/api/frame?${new URLSearchParams({ ds, id, variant: s.variants.includes("raw") ? "raw" : s.variants[0], i: 0, thumb: 1 })}` }),
    link(`target ${s.matched ? s.target_id : "not matched"} · oracle vIoU ${fmt(s.oracle_viou)} · ${s.variants.join(", ")}`, "sample", { ds, id })) : el("td", { class: "muted" }, "absent");
  const rows = data.rows.map((r) => el("tr", { class: "compare-row" + (r.differs.length ? " diff" : ""), "data-id": r.sample_id },
    el("td", {}, r.sample_id), cell(r.a, 0, r.sample_id), cell(r.b, 1, r.sample_id), el("td", { class: "differs" }, r.differs.join(", "))));
  return [el("h2", {}, `Compare: ${data.names[0]} (0) and ${data.names[1]} (1)`),
    el("p", {}, link(params.only_diff ? "show all samples" : "show only samples that differ", "compare", params.only_diff ? {} : { only_diff: 1 }, "only-diff")),
    el("p", { id: "count" }, `${data.total} samples`),
    table(["sample", `dataset 0: ${data.names[0]}`, `dataset 1: ${data.names[1]}`, "differs in"], rows, { id: "compare-list" })];
}

async function render() {
  const { page, params } = route();
  const ds = params.ds || "0";
  const main = document.getElementById("main");
  if (!STATE) STATE = await api("/api/state");
  nav(page, ds);
  const d = STATE.datasets[ds];
  let content;
  try {
    if (d && d.error && page !== "eval" && page !== "compare") content = [errorPage(`${d.root} cannot be opened`, d.error)];
    else if (page === "overview") content = await showOverview(ds);
    else if (page === "samples") content = await showSamples(params);
    else if (page === "sample") content = await showSample(params);
    else if (page === "eval") content = await showEval(params);
    else if (page === "compare") content = await showCompare(params);
    else content = [errorPage("No such page", page)];
  } catch (err) {
    content = [errorPage("This page cannot be shown", err.message)];
  }
  main.replaceChildren(...content);
  document.body.dataset.page = page;
  document.body.dataset.ready = String(Date.now());
}

window.addEventListener("hashchange", render);
window.addEventListener("DOMContentLoaded", render);

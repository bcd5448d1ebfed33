// The views: New job, Board, History. Each renders into the main element and returns what to
// call when the page leaves it. Remote text only ever goes in through dom.js (text nodes).

import { api, ApiError } from "./api.js";
import { bytes, duration, fill, h, printable, toast, when } from "./dom.js";

const ACTIVE = new Set(["queued", "running"]);
const JOB_STATES = ["queued", "running", "done", "partial", "failed", "cancelled", "timed_out",
  "interrupted"];
const PAGE = 20;

function heading(text) {
  return h("h1", { tabindex: "-1", id: "view-title" }, text);
}

function stateBadge(state) {
  return h("span", { class: `badge state-${state}` }, state.replace("_", " "));
}

// --- New job ------------------------------------------------------------------------------------

const FIELD_OF = [
  [/\bcount\b/i, "count"],
  [/\boption\b|\btakes\b/i, "options"],
  [/\bsources?\b/i, "sources"],
];

export async function newJob(root, ctx) {
  const sources = await ctx.sources();
  const errors = {};
  const errorBox = (name) => (errors[name] = h("p", { class: "field-error", id: `${name}-error`,
    role: "alert", hidden: true }));
  const query = h("input", { id: "query", name: "query", type: "text", autocomplete: "off",
    "aria-describedby": "query-error", placeholder: "words, or a URL" });
  const count = h("input", { id: "count", name: "count", type: "number", min: "1",
    max: "10000", value: String(ctx.prefs.count || 10), "aria-describedby": "count-error" });
  const options = h("div", { class: "options" });
  const picked = new Set(ctx.prefs.sources || []);
  const boxes = sources.map((s) => {
    const box = h("input", { type: "checkbox", id: `source-${s.name}`, value: s.name,
      checked: picked.has(s.name), "aria-describedby": `source-${s.name}-about`,
      onchange: () => drawOptions() });
    const about = s.ready ? s.description : s.missing.join("; ");
    return h("li", { class: s.ready ? "source" : "source not-ready" },
      box,
      h("label", { for: `source-${s.name}` }, s.name),
      h("span", { class: "about", id: `source-${s.name}-about` },
        s.ready ? "" : "not ready: ", printable(about)));
  });
  const start = h("button", { type: "submit", class: "primary" }, "Start");
  const form = h("form", { class: "new-job", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "query" }, "Query"), query, errorBox("query")),
    h("fieldset", { class: "field", "aria-describedby": "sources-error" },
      h("legend", {}, "Sources"),
      h("p", { class: "hint" }, "None ticked: a URL picks its site; words go to every ready source."),
      h("ul", { class: "sources" }, boxes), errorBox("sources")),
    h("div", { class: "field" }, h("label", { for: "count" }, "Count"), count,
      h("p", { class: "hint" }, "Files per source."), errorBox("count")),
    h("fieldset", { class: "field", "aria-describedby": "options-error" },
      h("legend", {}, "Options"), options, errorBox("options")),
    h("div", { class: "actions" }, start));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    for (const box of Object.values(errors)) box.hidden = true;
    let body;
    try {
      body = {
        query: query.value,
        sources: boxes.map((li) => li.querySelector("input")).filter((b) => b.checked)
          .map((b) => b.value),
        count: count.value.trim() === "" ? 10 : Number(count.value),
        options: optionValues(options),
      };
    } catch (exc) {
      return showError(errors, "options", exc.message);
    }
    start.disabled = true;
    try {
      const job = await api("POST", "/api/jobs", body);
      ctx.prefs.remember({ sources: body.sources, count: body.count });
      toast(`Job ${job.id} started`);
      ctx.live.add(job);
      ctx.go("#/board");
    } catch (exc) {
      if (!(exc instanceof ApiError)) throw exc;
      const field = FIELD_OF.find(([re]) => re.test(exc.message));
      showError(errors, field ? field[1] : "query", exc.message);
    } finally {
      start.disabled = false;
    }
  });
  const drawOptions = () => {
    const ticked = new Set(boxes.map((li) => li.querySelector("input")).filter((b) => b.checked)
      .map((b) => b.value));
    fill(options, optionFields(sources.filter((s) => ticked.has(s.name)), options));
  };
  drawOptions();
  fill(root, heading("New job"), form);
  query.focus();
}

/** A field per option the ticked sources declare (one per name), keeping values typed. */
function optionFields(picked, box) {
  const kept = {};
  for (const el of box.querySelectorAll("[data-option]")) kept[el.dataset.option] = el.value;
  const byName = new Map();
  for (const source of picked) {
    for (const opt of source.options || []) {
      if (!byName.has(opt.name)) byName.set(opt.name, { opt, takers: [] });
      byName.get(opt.name).takers.push(source.name);
    }
  }
  if (!byName.size) {
    return h("p", { class: "hint" }, picked.length ? "The ticked sources take no options."
      : "Tick a source to see the options it takes.");
  }
  return h("div", { class: "option-grid" }, [...byName.values()].map(({ opt, takers }) => {
    const id = `option-${opt.name}`;
    const about = `${printable(opt.help)} · ${printable(opt.expects)} · ${takers.join(", ")}`;
    let input;
    if (opt.kind === "choice" || opt.kind === "bool") {
      const values = opt.kind === "bool" ? ["true", "false"] : opt.choices;
      input = h("select", { id, dataset: { option: opt.name, kind: opt.kind } },
        h("option", { value: "" }, "(the source's default)"),
        values.map((v) => h("option", { value: v }, v)));
    } else {
      input = h("input", { id, type: opt.kind === "str" ? "text" : "number",
        step: opt.kind === "float" ? "any" : null, autocomplete: "off",
        dataset: { option: opt.name, kind: opt.kind } });
    }
    input.setAttribute("aria-describedby", `${id}-about`);
    if (kept[opt.name]) input.value = kept[opt.name];
    return h("div", { class: "field" }, h("label", { for: id }, opt.name), input,
      h("p", { class: "hint", id: `${id}-about` }, about));
  }));
}

function optionValues(box) {
  const out = {};
  for (const el of box.querySelectorAll("[data-option]")) {
    const raw = el.value.trim();
    if (!raw) continue;
    const kind = el.dataset.kind;
    out[el.dataset.option] = kind === "bool" ? raw === "true"
      : (kind === "int" || kind === "float") && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return out;
}

function showError(errors, field, message) {
  const box = errors[field];
  fill(box, printable(message));
  box.hidden = false;
  const input = document.getElementById(field === "sources" ? "" : field)
    || box.parentElement.querySelector("input");
  if (input) input.focus();
}

// --- a job's sources (the Board and a job's view) ------------------------------------------------

export function sourceRows(job, ctx) {
  const running = ACTIVE.has(job.state);
  return h("ul", { class: "source-rows" }, job.sources.map((row) => {
    const target = job.count;
    const part = Math.min(1, target ? row.stored / target : 0);
    const elapsed = row.since ? (Date.now() - row.since) / 1000 : 0;
    const perFile = row.stored > 0 && elapsed > 0 ? elapsed / row.stored : NaN;
    const eta = running && !isFinal(row.state) ? (target - row.stored) * perFile : NaN;
    const stats = [
      `found ${row.found}`,
      bytes(row.bytes),
      row.speed ? `${bytes(row.speed)}/s` : null,
      Number.isFinite(eta) ? `ETA ${duration(eta)}` : null,
      row.failed ? `${row.failed} failed` : null,
      row.duplicates ? `${row.duplicates} near-duplicates` : null,
    ].filter(Boolean).join(" · ");
    const cancel = running && !isFinal(row.state)
      ? h("button", { type: "button", class: "small",
        onclick: () => cancelJob(ctx, job, row.source) }, `Cancel ${row.source}`)
      : null;
    return h("li", { class: "source-row" },
      h("div", { class: "line" },
        h("strong", {}, row.source),
        stateBadge(row.state),
        h("span", { class: "count" }, `${row.stored}/${target}`),
        cancel),
      h("progress", { max: "1", value: String(part),
        "aria-label": `${row.source}: ${row.stored} of ${target} stored` }),
      h("div", { class: "stats" }, stats),
      row.error ? h("details", { class: "error" },
        h("summary", {}, printable(row.error_code || "error")),
        h("p", {}, printable(row.error))) : null);
  }));
}

function isFinal(state) {
  return !["queued", "searching", "downloading"].includes(state);
}

async function cancelJob(ctx, job, source) {
  const what = source ? `Cancel ${source} in job ${job.id}?` : `Cancel job ${job.id}, every source?`;
  if (!(await ctx.confirm(what, "Cancel it"))) return;
  try {
    await api("POST", `/api/jobs/${job.id}/cancel`, source ? { source } : undefined);
  } catch (exc) {
    toast(exc.message);
  }
}

// --- Board ---------------------------------------------------------------------------------------

export function board(root, ctx) {
  const list = h("div", { class: "board", "aria-live": "polite" });
  const draw = () => {
    const jobs = [...ctx.live.jobs.values()].sort((a, b) => b.id - a.id);
    if (!jobs.length) {
      fill(list, h("p", { class: "empty" }, "No job is running. ",
        h("a", { href: "#/new" }, "Start one"), "."));
      return;
    }
    fill(list, jobs.map((job) => h("section", { class: "card job", "aria-label": `Job ${job.id}` },
      h("header", {},
        h("h2", {}, h("a", { href: `#/job/${job.id}` }, `#${job.id} `, printable(job.query))),
        stateBadge(job.state),
        ACTIVE.has(job.state) ? h("button", { type: "button", class: "danger small",
          onclick: () => cancelJob(ctx, job) }, "Cancel job") : null),
      job.error ? h("p", { class: "error" }, printable(job.error)) : null,
      sourceRows(job, ctx))));
  };
  fill(root, heading("Board"), list);
  draw();
  let queued = false;
  return ctx.live.listen((kind) => {
    if (kind === "transfer_progress" || queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; draw(); });
  });
}

// --- History -------------------------------------------------------------------------------------

export async function history(root, ctx) {
  const sources = await ctx.sources();
  const text = h("input", { id: "filter-text", type: "search", placeholder: "words or an id" });
  const state = h("select", { id: "filter-state" }, h("option", { value: "" }, "any"),
    JOB_STATES.map((s) => h("option", { value: s }, s.replace("_", " "))));
  const source = h("select", { id: "filter-source" }, h("option", { value: "" }, "any"),
    sources.map((s) => h("option", { value: s.name }, s.name)));
  const rows = h("div", { class: "history", "aria-live": "polite" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  let offset = 0;
  let loading = null;

  const load = async () => {
    const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    const words = [text.value.trim(), source.value].filter(Boolean).join(" ");
    if (words) params.set("text", words);
    if (state.value) params.set("state", state.value);
    let data;
    try {
      data = await api("GET", `/api/jobs?${params}`);
    } catch (exc) {
      fill(rows, h("p", { class: "error" }, printable(exc.message)));
      return;
    }
    fill(rows, data.jobs.length ? h("ul", { class: "job-list" }, data.jobs.map((job) =>
      h("li", { class: "card" },
        h("div", { class: "line" },
          h("a", { href: `#/job/${job.id}`, class: "title" }, `#${job.id} `, printable(job.query)),
          stateBadge(job.state)),
        h("div", { class: "stats" },
          `${job.stored} stored · ${bytes(job.bytes)} · `,
          job.sources.map((s) => s.source).join(", "), ` · ${when(job.created_at)}`),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "small", onclick: () => rerun(ctx, job) }, "Re-run"),
          h("button", { type: "button", class: "small danger", onclick: () => remove(ctx, job, load) },
            "Delete")))))
      : h("p", { class: "empty" }, offset ? "No more jobs." : "No job matches."));
    fill(pager,
      h("button", { type: "button", class: "small", disabled: offset === 0,
        onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, "Newer"),
      h("span", {}, `${offset + 1}–${offset + data.jobs.length}`),
      h("button", { type: "button", class: "small", disabled: data.jobs.length < PAGE,
        onclick: () => { offset += PAGE; load(); } }, "Older"));
  };
  const again = () => { offset = 0; load(); };
  text.addEventListener("input", () => { clearTimeout(loading); loading = setTimeout(again, 250); });
  state.addEventListener("change", again);
  source.addEventListener("change", again);

  fill(root, heading("History"),
    h("form", { class: "filters", role: "search", onsubmit: (ev) => ev.preventDefault() },
      h("div", { class: "field grow" }, h("label", { for: "filter-text" }, "Filter"), text),
      h("div", { class: "field" }, h("label", { for: "filter-state" }, "State"), state),
      h("div", { class: "field" }, h("label", { for: "filter-source" }, "Source"), source)),
    rows, pager);
  await load();
  return ctx.live.listen((kind) => {
    if (["job_submitted", "job_started", "job_finished", "job_deleted"].includes(kind)) {
      clearTimeout(loading);
      loading = setTimeout(load, 200);
    }
  });
}

async function rerun(ctx, job) {
  try {
    const again = await api("POST", `/api/jobs/${job.id}/rerun`);
    ctx.live.add(again);
    toast(`Job ${again.id} started`);
    ctx.go("#/board");
  } catch (exc) {
    toast(exc.message);
  }
}

export async function remove(ctx, job, after) {
  if (!(await ctx.confirm(`Delete job ${job.id} and its files?`, "Delete"))) return;
  try {
    await api("DELETE", `/api/jobs/${job.id}`);
    ctx.live.jobs.delete(job.id);
    toast(`Job ${job.id} deleted`);
    if (after) after();
  } catch (exc) {
    toast(exc.message);
  }
}

// A job's view (its sources, then its files as thumbnails) and a file's view.

import { api } from "./api.js";
import { bytes, fill, h, printable, when } from "./dom.js";
import { remove, sourceRows } from "./views.js";

const FILES_PAGE = 60;

function heading(...text) {
  return h("h1", { tabindex: "-1", id: "view-title" }, ...text);
}

function tile(asset) {
  const title = printable(asset.title || `${asset.source} #${asset.id}`);
  const duplicate = asset.duplicate_of !== null && asset.duplicate_of !== undefined;
  return h("li", { class: duplicate ? "tile duplicate" : "tile", dataset: { id: String(asset.id) } },
    h("a", { href: `#/file/${Number(asset.id)}` },
      h("img", { src: `/api/assets/${Number(asset.id)}/thumbnail`, alt: title, loading: "lazy",
        decoding: "async", width: "320", height: "240" }),
      h("span", { class: "caption" }, title),
      duplicate ? h("span", { class: "mark", title: `a near-duplicate of file ${asset.duplicate_of}` },
        "near-duplicate") : null,
      asset.kind === "video" ? h("span", { class: "mark kind" }, "video") : null));
}

export async function jobView(root, ctx, id) {
  const jobId = Number(id);
  let job = await api("GET", `/api/jobs/${jobId}`);
  const rows = h("div", {});
  const summary = h("p", { class: "stats" });
  const grid = h("ul", { class: "grid", "aria-label": "Files" });
  const more = h("button", { type: "button", hidden: true }, "More files");
  const hide = h("input", { type: "checkbox", id: "hide-duplicates",
    checked: Boolean(ctx.prefs.hideDuplicates) });
  let offset = 0;
  const shown = new Set();

  const drawJob = () => {
    fill(summary, stateLine(job));
    fill(rows, sourceRows(job, ctx));
  };
  const loadFiles = async (reset) => {
    if (reset) {
      offset = 0;
      shown.clear();
      grid.replaceChildren();
    }
    const params = new URLSearchParams({ job_id: String(jobId), limit: String(FILES_PAGE),
      offset: String(offset) });
    if (hide.checked) params.set("unique", "true");
    const data = await api("GET", `/api/assets?${params}`);
    for (const asset of data.assets) {
      if (shown.has(asset.id)) continue;
      shown.add(asset.id);
      grid.append(tile(asset));
    }
    offset += data.assets.length;
    more.hidden = data.assets.length < FILES_PAGE;
  };
  more.addEventListener("click", () => loadFiles(false));
  hide.addEventListener("change", () => {
    ctx.prefs.remember({ hideDuplicates: hide.checked });
    loadFiles(true);
  });

  fill(root,
    heading(`Job ${jobId}: `, printable(job.query)),
    summary,
    h("div", { class: "toolbar" },
      h("a", { class: "button", href: `/api/jobs/${jobId}/files.zip`, download: `job-${jobId}.zip` },
        "Download all (zip)"),
      h("span", { class: "check" }, hide, h("label", { for: "hide-duplicates" }, "Hide near-duplicates")),
      h("button", { type: "button", onclick: () => rerunFromHere(ctx, jobId) }, "Re-run"),
      h("button", { type: "button", class: "danger",
        onclick: () => remove(ctx, job, () => ctx.go("#/history")) }, "Delete")),
    h("h2", {}, "Sources"), rows,
    h("h2", {}, "Files"), grid, more);
  drawJob();
  await loadFiles(true);

  let refreshing = null;
  return ctx.live.listen((kind, event) => {
    if (!event || event.job_id !== jobId) return;
    if (kind === "asset_stored") {
      if (!(hide.checked && event.duplicate_of !== null) && !shown.has(event.asset_id)) {
        shown.add(event.asset_id);
        offset += 1;
        grid.append(tile({ id: event.asset_id, title: event.title, source: event.source,
          duplicate_of: event.duplicate_of, kind: event.mime.split("/")[0] }));
      }
    }
    if (kind === "transfer_progress") return;
    const live = ctx.live.jobs.get(jobId);
    if (live) {
      job = live;
      drawJob();
    } else if (kind === "job_finished" && !refreshing) {
      refreshing = api("GET", `/api/jobs/${jobId}`).then((fresh) => {
        job = fresh;
        refreshing = null;
        drawJob();
      }, () => { refreshing = null; });
    }
  });
}

function stateLine(job) {
  return [
    h("span", { class: `badge state-${job.state}` }, job.state.replace("_", " ")),
    ` ${job.stored} stored · ${bytes(job.bytes)} · ${job.count} per source · started `,
    when(job.created_at),
    job.error ? h("span", { class: "error" }, " · ", printable(job.error)) : null,
  ];
}

async function rerunFromHere(ctx, jobId) {
  const again = await api("POST", `/api/jobs/${jobId}/rerun`);
  ctx.live.add(again);
  ctx.go("#/board");
}

export async function fileView(root, ctx, id) {
  const asset = await api("GET", `/api/assets/${Number(id)}`);
  const src = `/api/assets/${Number(asset.id)}/content`;
  const title = printable(asset.title || `${asset.source} #${asset.id}`);
  let media;
  if (asset.kind === "video" || asset.mime.startsWith("video/")) {
    media = h("video", { src, controls: true, preload: "metadata",
      poster: `/api/assets/${Number(asset.id)}/thumbnail` });
  } else if (asset.kind === "audio" || asset.mime.startsWith("audio/")) {
    media = h("audio", { src, controls: true, preload: "metadata" });
  } else if (asset.mime.startsWith("image/") && asset.mime !== "image/svg+xml") {
    media = h("img", { src, alt: title });
  } else {
    media = h("p", { class: "empty" }, `A ${asset.mime} file: download it to open it.`);
  }
  const facts = [
    ["Title", asset.title],
    ["Author", asset.author],
    ["License", asset.license],
    ["Source", asset.source],
    ["Type", `${asset.mime} (${asset.kind})`],
    ["Size", bytes(asset.size)],
    ["Dimensions", asset.width && asset.height ? `${asset.width} × ${asset.height}` : null],
    ["Stored", when(asset.created_at)],
    ["Near-duplicate of", asset.duplicate_of ? h("a", { href: `#/file/${Number(asset.duplicate_of)}` },
      `file ${Number(asset.duplicate_of)}`) : null],
    ["From", asset.url],
    ["Page", asset.page_url],
    ["SHA-256", asset.sha256],
  ].filter(([, value]) => value);
  fill(root,
    h("p", {}, h("a", { href: `#/job/${Number(asset.job_id)}` }, `← Job ${Number(asset.job_id)}`)),
    heading(title),
    h("figure", { class: "viewer" }, media),
    h("div", { class: "toolbar" },
      h("a", { class: "button primary", href: src, download: "" }, "Download")),
    h("dl", { class: "facts" }, facts.map(([name, value]) =>
      [h("dt", {}, name), h("dd", {}, value instanceof Node ? value : printable(value))])));
}

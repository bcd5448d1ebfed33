// The page's only way to the server: this API's JSON endpoints and its event stream.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Call the API; resolves to the JSON body (null for 204), rejects with an ApiError. */
export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET" && method !== "DELETE") {
    init.headers["Content-Type"] = "application/json";
    if (body !== undefined) init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch {
    throw new ApiError(0, "offline", "the server cannot be reached");
  }
  if (resp.status === 204) return null;
  let data = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(resp.status, error.code || `http_${resp.status}`,
      error.message || `the server answered ${resp.status}`);
  }
  return data;
}

/**
 * The caller's jobs as they change: the running ones (and those finished while the page was
 * open) kept in ``jobs`` from one event stream. ``listen(fn)`` hears every event and snapshot.
 */
export class Live {
  constructor() {
    this.jobs = new Map();
    this.pending = new Set();
    this.listeners = new Set();
    this.source = null;
    this.connected = false;
  }

  /** A job this page just started: on the Board before its first event arrives. */
  add(job) {
    this.jobs.set(job.id, decorate(job, this.jobs.get(job.id)));
  }

  listen(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(kind, data) {
    for (const fn of this.listeners) fn(kind, data);
  }

  start() {
    this.stop();
    const source = new EventSource("/api/events");
    this.source = source;
    source.addEventListener("open", () => {
      this.connected = true;
      this.emit("connection", { connected: true });
    });
    source.addEventListener("error", () => {
      this.connected = false;
      this.emit("connection", { connected: false });
    });
    source.addEventListener("snapshot", (msg) => {
      const data = JSON.parse(msg.data);
      const live = new Set();
      for (const job of data.jobs || []) {
        live.add(job.id);
        this.jobs.set(job.id, decorate(job));
      }
      for (const [id, job] of this.jobs) {
        if (!live.has(id) && (job.state === "queued" || job.state === "running")) {
          this.refresh(id); // it ended while we were away
        }
      }
      this.emit("snapshot", data);
    });
    source.addEventListener("overflow", () => this.start()); // too slow: a fresh snapshot
    for (const kind of KINDS) {
      source.addEventListener(kind, (msg) => this.apply(kind, JSON.parse(msg.data)));
    }
  }

  stop() {
    if (this.source) this.source.close();
    this.source = null;
  }

  async refresh(id) {
    if (this.pending.has(id)) return; // one look at a time per job, however many events come
    this.pending.add(id);
    try {
      const job = await api("GET", `/api/jobs/${Number(id)}`);
      const old = this.jobs.get(job.id);
      this.jobs.set(job.id, decorate(job, old));
      this.emit("job", this.jobs.get(job.id));
    } catch {
      this.jobs.delete(id);
      this.emit("job_deleted", { job_id: id });
    } finally {
      this.pending.delete(id);
    }
  }

  apply(kind, event) {
    const job = this.jobs.get(event.job_id);
    if (kind === "job_submitted") {
      this.refresh(event.job_id);
    } else if (kind === "job_deleted") {
      this.jobs.delete(event.job_id);
    } else if (job) {
      update(job, kind, event);
    } else if (kind !== "transfer_progress") {
      this.refresh(event.job_id);
    }
    this.emit(kind, event);
  }
}

const KINDS = [
  "job_submitted", "job_started", "source_started", "source_progress", "transfer_progress",
  "source_notice", "asset_stored", "item_failed", "source_finished", "job_finished",
  "job_deleted",
];

function decorate(job, old) {
  for (const row of job.sources) {
    const before = old && old.sources.find((s) => s.source === row.source);
    row.speed = before ? before.speed : 0;
    const started = Date.parse(job.started_at || "");
    row.since = before ? before.since : Number.isNaN(started) ? Date.now() : started;
  }
  return job;
}

function update(job, kind, event) {
  if (kind === "job_started") job.state = "running";
  if (kind === "job_finished") {
    job.state = event.state;
    job.error = event.error;
    job.finished_at = new Date().toISOString();
  }
  const row = job.sources.find((s) => s.source === event.source);
  if (!row) return;
  if (kind === "source_started") {
    row.state = event.state;
    row.since = Date.now();
  } else if (kind === "source_progress" || kind === "source_finished") {
    for (const key of ["state", "found", "stored", "failed", "bytes"]) row[key] = event[key];
    if (kind === "source_progress") row.speed = event.speed;
    else {
      row.speed = 0;
      row.error = event.error;
      row.error_code = event.error_code;
    }
  } else if (kind === "asset_stored" && event.duplicate_of !== null) {
    row.duplicates = (row.duplicates || 0) + 1;
  }
}

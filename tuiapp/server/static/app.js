// The page: who the caller is, the views behind #/ addresses, shortcuts, dialogs.
// Nothing runs on a timer: the page changes when the event stream or the person says so.

import { api, ApiError, Live } from "./api.js";
import { fill, h, printable, toast } from "./dom.js";
import { fileView, jobView } from "./library.js";
import { board, history, newJob } from "./views.js";

const main = document.getElementById("main");
const live = new Live();
let sourcesCache = null;
let leave = null;
let rendering = 0;

const prefs = Object.assign(load(), {
  remember(values) {
    Object.assign(this, values);
    try {
      const { remember: _, ...plain } = this;
      localStorage.setItem("tuiapp.prefs", JSON.stringify(plain));
    } catch { /* private mode: nothing kept */ }
  },
});

function load() {
  try {
    return JSON.parse(localStorage.getItem("tuiapp.prefs") || "{}") || {};
  } catch {
    return {};
  }
}

const ctx = {
  live,
  prefs,
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  sources() {
    if (!sourcesCache) sourcesCache = api("GET", "/api/sources").then((data) => data.sources);
    return sourcesCache;
  },
  confirm,
};

const ROUTES = [
  [/^#\/new$/, newJob, "new"],
  [/^#\/board$/, board, "board"],
  [/^#\/history$/, history, "history"],
  [/^#\/job\/(\d+)$/, jobView, "history"],
  [/^#\/file\/(\d+)$/, fileView, "history"],
];

async function route() {
  const hash = location.hash || "#/new";
  const found = ROUTES.find(([re]) => re.test(hash));
  if (!found) {
    location.replace("#/new");
    return;
  }
  const [re, view, tab] = found;
  const args = hash.match(re).slice(1);
  if (leave) leave();
  leave = null;
  const mine = ++rendering;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.tab === tab) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    const left = await view(main, ctx, ...args);
    if (mine !== rendering) {
      if (typeof left === "function") left();
      return;
    }
    leave = typeof left === "function" ? left : null;
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 401) return signIn(exc.message);
    fill(main, h("h1", { tabindex: "-1", id: "view-title" }, "Something went wrong"),
      h("p", { class: "error" }, printable(exc.message)),
      h("p", {}, h("a", { href: "#/new" }, "Back to a new job")));
  }
  const title = document.getElementById("view-title");
  if (title && !main.contains(document.activeElement)) title.focus();
  document.title = `${title ? title.textContent : ""} · tuiapp`;
  if (!performance.getEntriesByName("tuiapp-ready").length) performance.mark("tuiapp-ready");
}

// --- who is calling -----------------------------------------------------------------------------

async function start() {
  let me;
  ctx.sources().catch(() => { sourcesCache = null; }); // asked beside /api/me, not after it
  try {
    me = await api("GET", "/api/me");
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 401) return signIn();
    fill(main, h("p", { class: "error" }, printable(exc.message)));
    return;
  }
  showUser(me);
  live.start();
  window.addEventListener("hashchange", route);
  route();
}

function showUser(me) {
  const box = document.getElementById("who");
  if (me.guest) {
    fill(box, h("span", {}, "Guest"));
    return;
  }
  fill(box, h("span", {}, printable(me.user.name)),
    h("button", { type: "button", class: "small", onclick: signOut }, "Sign out"));
}

function signIn(reason) {
  live.stop();
  window.removeEventListener("hashchange", route);
  document.getElementById("nav").hidden = true;
  fill(document.getElementById("who"));
  const token = h("input", { id: "token", type: "password", autocomplete: "current-password",
    "aria-describedby": "token-error" });
  const problem = h("p", { class: "field-error", id: "token-error", role: "alert",
    hidden: !reason }, printable(reason || ""));
  const form = h("form", { class: "sign-in card" },
    h("h1", { tabindex: "-1", id: "view-title" }, "Sign in"),
    h("p", {}, "Guests are turned off here. Sign in with an API token (",
      h("code", {}, "tuiapp user add NAME"), " makes one)."),
    h("div", { class: "field" }, h("label", { for: "token" }, "Token"), token, problem),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Sign in")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const me = await api("POST", "/api/session", { token: token.value });
      document.getElementById("nav").hidden = false;
      showUser(me);
      live.start();
      window.addEventListener("hashchange", route);
      route();
    } catch (exc) {
      fill(problem, printable(exc.message));
      problem.hidden = false;
      token.focus();
    }
  });
  fill(main, form);
  token.focus();
}

async function signOut() {
  try {
    await api("DELETE", "/api/session");
  } catch (exc) {
    toast(exc.message);
    return;
  }
  live.jobs.clear();
  sourcesCache = null;
  start();
}

// --- dialogs and keys ---------------------------------------------------------------------------

function confirm(question, yes) {
  const dialog = document.getElementById("confirm");
  fill(dialog.querySelector("p"), question);
  dialog.querySelector("button[value=yes]").textContent = yes;
  dialog.returnValue = "";
  dialog.showModal();
  dialog.querySelector("button[value=no]").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
  });
}

const KEYS = { n: "#/new", b: "#/board", h: "#/history" };

document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || document.querySelector("dialog[open]")) return;
  const target = ev.target;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement
    || target instanceof HTMLSelectElement || target.isContentEditable;
  if (typing) return;
  if (ev.key === "?") {
    ev.preventDefault();
    document.getElementById("help").showModal();
  } else if (KEYS[ev.key] && !document.getElementById("nav").hidden) {
    ev.preventDefault();
    ctx.go(KEYS[ev.key]);
  } else if (ev.key === "/") {
    const filter = document.getElementById("filter-text");
    if (filter) {
      ev.preventDefault();
      filter.focus();
    }
  }
});

document.getElementById("help-button").addEventListener("click", () => {
  document.getElementById("help").showModal();
});

start();

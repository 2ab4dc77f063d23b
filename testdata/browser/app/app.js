// A small Solid app for the browser tests of Kluis. It is served from
// another site than Kluis (http://127.0.0.1:PORT/ against
// http://localhost:PORT/), logs in with @inrupt/solid-client-authn-browser
// (authorization code with PKCE and DPoP), and works on the pod with
// @inrupt/solid-client and @inrupt/solid-client-notifications, unchanged.
//
// A person logs in with the form on the page; the test driver
// (../browser.mjs) calls the functions of window.kluisApp through
// playwright's page.evaluate. Every function shows what it did and its
// result on the page, so that screenshots say where the test was, and
// returns plain JSON for the driver to check.
import {
  EVENTS,
  getDefaultSession,
  handleIncomingRedirect,
  login,
  logout,
} from "@inrupt/solid-client-authn-browser";
import {
  buildThing,
  createSolidDataset,
  createThing,
  deleteFile,
  getContainedResourceUrlAll,
  getFile,
  getSolidDataset,
  getStringNoLocale,
  getThing,
  getUrl,
  getUrlAll,
  overwriteFile,
  saveSolidDatasetAt,
  setThing,
  universalAccess,
} from "@inrupt/solid-client";
import { WebsocketNotification } from "@inrupt/solid-client-notifications";

const SCHEMA_TEXT = "https://schema.org/text";
const FOAF_NAME = "http://xmlns.com/foaf/0.1/name";
const PIM_STORAGE = "http://www.w3.org/ns/pim/space#storage";
const SOLID_ISSUER = "http://www.w3.org/ns/solid/terms#oidcIssuer";

const session = getDefaultSession();
const $ = (id) => document.getElementById(id);

// requests lists what the session's fetch sent, so the driver can see
// which method solid-client chose (PATCH for a fetched dataset).
const requests = [];
async function loggedFetch(input, init) {
  const res = await session.fetch(input, init);
  const url = typeof input === "string" ? input : input.url;
  const method = (init?.method ?? (typeof input === "string" ? "GET" : input.method) ?? "GET").toUpperCase();
  requests.push({ method, url, status: res.status });
  return res;
}
const authed = { fetch: loggedFetch };

function showSession() {
  const info = session.info;
  $("status").textContent = info.isLoggedIn ? "logged in" : "logged out";
  $("status").className = info.isLoggedIn ? "state-in" : "state-out";
  $("webid").textContent = info.webId ?? "none";
  $("issuer-shown").textContent = localStorage.getItem("kluis-test-issuer") ?? "none";
  $("login-form").hidden = info.isLoggedIn;
  $("logout").hidden = !info.isLoggedIn;
}

function show(action, result) {
  $("last-action").textContent = action;
  $("last-result").textContent = typeof result === "string" ? result : JSON.stringify(result, null, 2);
  return result;
}

// step runs one action and shows it; a failure is shown and returned as
// { error, status } rather than thrown, so the driver sees the status.
async function step(action, fn) {
  show(action, "running");
  try {
    return show(action, await fn());
  } catch (e) {
    const status = e?.statusCode ?? e?.response?.status ?? null;
    return show(`${action} (failed)`, { error: String(e?.message ?? e), status });
  }
}

// bounded waits at most ms for promise.
function bounded(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function headersOf(res, names) {
  const out = {};
  for (const n of names) out[n] = res.headers.get(n);
  return out;
}

window.kluisApp = {
  info: () => ({ ...session.info, origin: location.origin }),

  requests: () => requests.slice(),

  readProfile: () => step("Read my profile", async () => {
    const webId = session.info.webId;
    const ds = await getSolidDataset(webId, authed);
    const me = getThing(ds, webId);
    return {
      webId,
      name: me && getStringNoLocale(me, FOAF_NAME),
      storage: me && getUrlAll(me, PIM_STORAGE),
      issuer: me && getUrl(me, SOLID_ISSUER),
    };
  }),

  list: (container) => step(`List ${container}`, async () => {
    const ds = await getSolidDataset(container, authed);
    return { contains: getContainedResourceUrlAll(ds) };
  }),

  // createNote saves a new dataset with one text, as saveSolidDatasetAt
  // does for a dataset made in the app (PUT).
  createNote: (url, text) => step(`Create ${url}`, async () => {
    const thing = buildThing(createThing({ name: "note" })).addStringNoLocale(SCHEMA_TEXT, text).build();
    await saveSolidDatasetAt(url, setThing(createSolidDataset(), thing), authed);
    return { saved: url };
  }),

  readNote: (url) => step(`Read ${url}`, async () => {
    const ds = await getSolidDataset(url, authed);
    return { text: getStringNoLocale(getThing(ds, `${url}#note`), SCHEMA_TEXT) };
  }),

  // changeNote fetches the dataset, changes the text and saves it, which
  // solid-client sends as a PATCH of the difference.
  changeNote: (url, text) => step(`Change ${url}`, async () => {
    const ds = await getSolidDataset(url, authed);
    const before = requests.length;
    const changed = buildThing(getThing(ds, `${url}#note`)).setStringNoLocale(SCHEMA_TEXT, text).build();
    await saveSolidDatasetAt(url, setThing(ds, changed), authed);
    return { methods: requests.slice(before).map((r) => `${r.method} ${r.status}`) };
  }),

  writeFile: (url, text) => step(`Write file ${url}`, async () => {
    await overwriteFile(url, new Blob([text], { type: "text/plain" }), { contentType: "text/plain", ...authed });
    return { written: url };
  }),

  readFile: (url) => step(`Read file ${url}`, async () => {
    const blob = await getFile(url, authed);
    return { text: await blob.text(), type: blob.type };
  }),

  remove: (url) => step(`Delete ${url}`, async () => {
    await deleteFile(url, authed);
    const res = await loggedFetch(url, { method: "HEAD" });
    return { deleted: url, headAfter: res.status };
  }),

  // postWithSlug adds a resource to a container with POST and a Slug,
  // with the session's own fetch, and reads the answer's headers through
  // CORS.
  postWithSlug: (container, slug, text) => step(`POST into ${container}`, async () => {
    const res = await loggedFetch(container, {
      method: "POST",
      headers: { "Content-Type": "text/plain", Slug: slug },
      body: text,
    });
    return { status: res.status, location: res.headers.get("Location") };
  }),

  wacAllow: (url) => step(`WAC-Allow of ${url}`, async () => {
    const res = await loggedFetch(url, { method: "HEAD" });
    return { status: res.status, wacAllow: res.headers.get("WAC-Allow") };
  }),

  share: (url, webId, modes) => step(`Share ${url} with ${webId}`, async () => {
    await universalAccess.setAgentAccess(url, webId, modes, authed);
    return { access: await universalAccess.getAgentAccess(url, webId, authed) };
  }),

  // fetchAsMe fetches with the session and gives the status and the
  // headers the server exposes to this origin.
  fetchAsMe: (url) => step(`GET ${url} logged in`, async () => {
    const res = await loggedFetch(url);
    const body = await res.text();
    return {
      status: res.status,
      ...headersOf(res, ["content-type", "wac-allow", "www-authenticate"]),
      body: res.ok ? body.slice(0, 500) : body.slice(0, 300),
    };
  }),

  // fetchAnonymously fetches with the browser's plain fetch: no token.
  fetchAnonymously: (url) => step(`GET ${url} without a token`, async () => {
    const res = await fetch(url);
    return { status: res.status, ...headersOf(res, ["www-authenticate", "link", "wac-allow"]) };
  }),

  // notify opens a WebSocketChannel2023 channel on url, changes the
  // resource once connected, and gives the notification received.
  notify: (url, text) => step(`Notifications on ${url}`, async () => {
    const socket = new WebsocketNotification(url, authed);
    const connected = new Promise((resolve, reject) => {
      socket.on("connected", resolve);
      socket.on("error", (e) => reject(new Error(`WebSocket error: ${e?.message ?? e?.type ?? e}`)));
    });
    const heard = new Promise((resolve) => socket.on("message", resolve));
    try {
      await socket.connect();
      await bounded(connected, 10000, "connected");
      const ds = await getSolidDataset(url, authed);
      const changed = buildThing(getThing(ds, `${url}#note`)).setStringNoLocale(SCHEMA_TEXT, text).build();
      await saveSolidDatasetAt(url, setThing(ds, changed), authed);
      const note = await bounded(heard, 10000, "notification");
      return { type: note.type, object: note.object };
    } finally {
      socket.disconnect();
    }
  }),

  logout: (idp) => step("Log out", async () => {
    await logout(idp ? { logoutType: "idp" } : { logoutType: "app" });
    showSession();
    return session.info;
  }),
};

$("origin").textContent = location.origin;
$("issuer").value = localStorage.getItem("kluis-test-issuer") ?? "";
$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const oidcIssuer = $("issuer").value;
  localStorage.setItem("kluis-test-issuer", oidcIssuer);
  show("Log in", `redirecting to ${oidcIssuer}`);
  await login({
    oidcIssuer,
    redirectUrl: new URL("/", location.href).href,
    clientName: "Kluis test app",
  });
});
// The button logs out of the identity provider too: the browser goes to
// Kluis's end_session_endpoint.
$("logout").addEventListener("click", () => window.kluisApp.logout(true));
session.events.on(EVENTS.LOGOUT, showSession);

// On every load: finish a login that comes back from the issuer.
// window.kluisReady tells the driver when that is done.
window.kluisReady = handleIncomingRedirect({ restorePreviousSession: false })
  .then(() => {
    showSession();
    show("Start", session.info.isLoggedIn ? `logged in as ${session.info.webId}` : "not logged in");
    return session.info;
  })
  .catch((e) => {
    showSession();
    show("Start (failed)", String(e?.message ?? e));
    return { error: String(e?.message ?? e) };
  });

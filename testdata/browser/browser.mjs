// Browser test of Kluis: people sign up on Kluis's own HTML pages in
// headless Chromium, then use a Solid app (app/, built by build.mjs)
// served from another site: log in (authorization code, PKCE, DPoP),
// read and write their pod, share with each other, hear of changes over
// a WebSocket; and the browser's defences hold (CORS, cross-site forms,
// origins under KLUIS_WAC_ORIGIN=strict).
//
// Run by the Go test TestBrowser with:
//   KLUIS_URL         Kluis, http://localhost:PORT/
//   STRICT_KLUIS_URL  a second Kluis with KLUIS_WAC_ORIGIN=strict
//   APP_URL           the built app, http://127.0.0.1:PORT/
//   SHOTS_DIR         where the screenshots go
//   CHROMIUM          the browser (default /usr/bin/chromium)
// Each check prints "ok <step>" or "FAIL <step>: why". A failed step
// ends its part of the test (later steps there need it); the other parts
// still run, and the script exits non-zero if anything failed.
import { chromium } from "playwright-core";
import { Session } from "@inrupt/solid-client-authn-node";
import { join } from "node:path";

const kluis = process.env.KLUIS_URL;
const strictKluis = process.env.STRICT_KLUIS_URL;
const app = process.env.APP_URL;
const shots = process.env.SHOTS_DIR;
if (!kluis || !app || !shots) {
  console.error("KLUIS_URL, APP_URL and SHOTS_DIR must be set");
  process.exit(2);
}
const appOrigin = new URL(app).origin;

let failed = 0;
class StepFailure extends Error {}

function ok(what) {
  console.log(`ok ${what}`);
}

// check passes or fails one step; a failure throws, ending the part.
function check(cond, what, detail) {
  if (!cond) {
    failed++;
    console.log(`FAIL ${what}${detail === undefined ? "" : ": " + short(detail)}`);
    throw new StepFailure(what);
  }
  ok(what);
}

// expect is check for a step that later steps do not need: a failure is
// reported and the part goes on.
function expect(cond, what, detail) {
  try {
    check(cond, what, detail);
  } catch (e) {
    if (!(e instanceof StepFailure)) throw e;
  }
}

function short(v) {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > 600 ? s.slice(0, 600) + "…" : s;
}

// part runs one independent part of the test; a failure inside it is
// reported and the next part runs.
async function part(name, fn) {
  console.log(`== ${name}`);
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof StepFailure)) {
      failed++;
      console.log(`FAIL ${name}: ${e?.stack ?? e}`);
      if (lastPage && !lastPage.isClosed()) {
        await shot(lastPage, "failure").catch(() => {});
      }
    }
    return undefined;
  }
}

let shotCount = 0;
let lastPage; // the page of the last screenshot, shown again on a failure
async function shot(page, name) {
  lastPage = page;
  shotCount++;
  const file = join(shots, `${String(shotCount).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

const launched = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});

// newPage opens a page in a fresh context (no cookies, no storage), and
// logs the browser console and page errors with a prefix.
async function newPage(who) {
  const context = await launched.newContext({ viewport: { width: 1000, height: 800 } });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`  [${who} page error] ${e.message}`));
  page.on("console", (m) => {
    // The statuses of failed loads are checked where they are expected.
    if (m.text().startsWith("Failed to load resource")) return;
    if (m.type() === "error" || m.type() === "warning") console.log(`  [${who} console ${m.type()}] ${m.text()}`);
  });
  return { context, page };
}

async function bodyText(page) {
  return (await page.locator("body").innerText()).replace(/\s+/g, " ").trim();
}

// signUpOnPages signs a person up on Kluis's HTML pages: the sign-up form
// (no pod yet), then the overview's pod form, then logs out. It returns
// the WebID and the pod.
async function signUpOnPages(page, person) {
  const { name, email, password } = person;
  const res = await page.goto(`${kluis}.account/signup/`);
  await shot(page, `${name}-signup-page`);
  check(res.status() === 200 && (await page.locator('button[type="submit"]').innerText()) === "Sign up",
    `${name}: Kluis's sign-up page (${res.status()})`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.fill("#password2", password);
  const [signup] = await Promise.all([
    page.waitForNavigation(),
    page.click('button:text-is("Sign up")'),
  ]);
  await shot(page, `${name}-after-signup`);
  let text = await bodyText(page);
  check(text.includes(`Logged in as ${email}`), `${name}: signed up with e-mail and password`,
    `${signup.status()} at ${page.url()}: ${text}`);

  await page.fill("#pod", name);
  await page.fill("#pod-name", person.fullName);
  const [created] = await Promise.all([
    page.waitForNavigation(),
    page.click('button:text-is("Create pod")'),
  ]);
  await shot(page, `${name}-pod-created`);
  const pod = `${kluis}${name}/`;
  const podLinks = await page.locator(`a[href="${pod}"]`).count();
  text = await bodyText(page);
  check(podLinks > 0, `${name}: created the pod ${pod} on the overview page`, `${created.status()} at ${page.url()}: ${text}`);
  const webIds = await page.$$eval("a[href*='#']", (as) => as.map((a) => a.href));
  const webId = webIds.find((w) => w.startsWith(pod));
  check(webId !== undefined, `${name}: the overview lists the pod's WebID ${webId}`, webIds);

  const [out] = await Promise.all([
    page.waitForNavigation(),
    page.click('button:text-is("Log out")'),
  ]);
  await shot(page, `${name}-logged-out-of-kluis`);
  text = await bodyText(page);
  check(out.ok() && page.url().startsWith(`${kluis}.account/login/`) && !text.includes("Logged in as"),
    `${name}: logged out of Kluis's pages`, `${out.status()} at ${page.url()}: ${text}`);
  return { webId, pod };
}

// appLogin logs a person in to the app: the app's form, Kluis's login page,
// its consent page, and back to the app. It returns the session info.
async function appLogin(page, person, issuer) {
  const { name, email, password } = person;
  await page.goto(app);
  await page.evaluate(() => window.kluisReady);
  await shot(page, `${name}-app-before-login`);
  await page.fill("#issuer", issuer);
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(`${issuer}.account/login`)),
    page.click("#login"),
  ]);
  await shot(page, `${name}-kluis-login-for-app`);
  ok(`${name}: the app sent the browser to Kluis's login page`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  const [loggedIn] = await Promise.all([
    page.waitForNavigation(),
    page.click('button:text-is("Log in")'),
  ]);
  const allow = page.locator('button[name="decision"][value="allow"]');
  if (!page.url().startsWith(appOrigin)) {
    await shot(page, `${name}-kluis-consent`);
    const text = await bodyText(page);
    check(await allow.count() === 1, `${name}: Kluis asks for consent`,
      `${loggedIn?.status()} at ${page.url()}: ${text}`);
    check(text.includes("Kluis test app") && text.includes(person.webId ?? ""),
      `${name}: the consent page names the app and the WebID`, text);
    await Promise.all([
      page.waitForURL((u) => u.origin === appOrigin, { timeout: 15000 }),
      allow.click(),
    ]);
  }
  const info = await page.evaluate(() => window.kluisReady);
  await page.waitForSelector("#status.state-in", { timeout: 5000 }).catch(() => {});
  await shot(page, `${name}-app-logged-in`);
  check(info.isLoggedIn === true && (!person.webId || info.webId === person.webId),
    `${name}: logged in to the app on ${appOrigin} as ${info.webId}`, info);
  return info;
}

// call runs a function of window.kluisApp in page.
function call(page, fn, ...args) {
  return page.evaluate(([fn, args]) => window.kluisApp[fn](...args), [fn, args]);
}

const alice = { name: "alice", fullName: "Alice Browser", email: "alice@example.org", password: "alice-browser-password" };
const bob = { name: "bob", fullName: "Bob Browser", email: "bob@example.org", password: "bob-browser-password" };

const A = await newPage("alice");
const B = await newPage("bob");

await part("sign-up on Kluis's pages", async () => {
  Object.assign(alice, await signUpOnPages(A.page, alice));
  Object.assign(bob, await signUpOnPages(B.page, bob));
});

let aliceIn = false;
await part("alice logs in to the app on another site", async () => {
  check(alice.webId, "alice: has a WebID from the sign-up");
  await appLogin(A.page, alice, kluis);
  aliceIn = true;
});

const notes = `${alice.pod}browser-notes/`;
await part("alice works on her pod from the app", async () => {
  check(aliceIn, "alice: logged in to the app");
  const p = A.page;
  const profile = await call(p, "readProfile");
  await shot(p, "alice-app-profile");
  check(profile.webId === alice.webId && profile.storage?.includes(alice.pod) && profile.issuer === kluis,
    "alice: read her profile (storage and issuer)", profile);

  const first = `${notes}first`;
  const created = await call(p, "createNote", first, "Hello from the browser");
  check(created.saved === first, "alice: created a dataset with saveSolidDatasetAt", created);
  const listed = await call(p, "list", alice.pod);
  await shot(p, "alice-app-pod-listing");
  check(listed.contains?.includes(`${alice.pod}profile/`) && listed.contains?.includes(notes),
    "alice: listed her pod (getContainedResourceUrlAll)", listed);
  const read = await call(p, "readNote", first);
  check(read.text === "Hello from the browser", "alice: read the dataset back", read);
  const changed = await call(p, "changeNote", first, "Changed in the browser");
  check(changed.methods?.includes("PATCH 205") || changed.methods?.some((m) => /^PATCH 20\d$/.test(m)),
    "alice: saved a change to a fetched dataset as a PATCH", changed);
  const reread = await call(p, "readNote", first);
  check(reread.text === "Changed in the browser", "alice: read the patched text", reread);

  const file = `${notes}hello.txt`;
  const written = await call(p, "writeFile", file, "plain text from the app");
  check(written.written === file, "alice: wrote a file with overwriteFile", written);
  const fileBack = await call(p, "readFile", file);
  check(fileBack.text === "plain text from the app", "alice: read the file back", fileBack);
  const removed = await call(p, "remove", file);
  check(removed.headAfter === 404, "alice: deleted the file (HEAD after: 404)", removed);

  const posted = await call(p, "postWithSlug", notes, "posted-note", "posted from the app");
  await shot(p, "alice-app-post-slug");
  check(posted.status === 201 && posted.location?.startsWith(notes) && posted.location.includes("posted-note"),
    "alice: POST with a Slug gave 201 and a readable Location", posted);
  const postedBack = await call(p, "readFile", posted.location);
  check(postedBack.text === "posted from the app", "alice: read the POSTed resource at its Location", postedBack);

  const allow = await call(p, "wacAllow", first);
  await shot(p, "alice-app-wac-allow");
  check(allow.status === 200 && /user="[^"]*\bread\b[^"]*"/.test(allow.wacAllow ?? "") && /user="[^"]*\bwrite\b/.test(allow.wacAllow ?? ""),
    "alice: read WAC-Allow from a response header", allow);
});

let bobIn = false;
await part("alice shares with bob, who reads it in his own browser", async () => {
  check(aliceIn, "alice: logged in to the app");
  const shared = `${notes}shared`;
  const made = await call(A.page, "createNote", shared, "For Bob's eyes");
  check(made.saved === shared, "alice: created the resource to share", made);
  const access = await call(A.page, "share", shared, bob.webId, { read: true });
  await shot(A.page, "alice-app-shared");
  check(access.access?.read === true && !access.access?.write, "alice: gave bob read access with universalAccess.setAgentAccess", access);

  await appLogin(B.page, bob, kluis);
  bobIn = true;
  const read = await call(B.page, "readNote", shared);
  await shot(B.page, "bob-app-reads-shared");
  check(read.text === "For Bob's eyes", "bob: read the shared resource in his browser", read);
  const refused = await call(B.page, "readNote", `${notes}first`);
  check(refused.status === 403, "bob: refused a resource not shared with him (403)", refused);
});

await part("notifications over WebSocketChannel2023", async () => {
  check(aliceIn, "alice: logged in to the app");
  const url = `${notes}shared`;
  const note = await call(A.page, "notify", url, "Changed while listening");
  await shot(A.page, "alice-app-notification");
  check(note.type === "Update" && note.object === url, "alice: heard of the change with WebsocketNotification", note);
});

await part("anonymous requests from the app's origin", async () => {
  const { context, page } = await newPage("anonymous");
  await page.goto(app);
  await page.evaluate(() => window.kluisReady);
  // A private resource every pod has from the start.
  const res = await call(page, "fetchAnonymously", `${alice.pod}settings/prefs.ttl`);
  await shot(page, "anonymous-app-401");
  check(res.status === 401, "anonymous: a private resource gives 401 to another site", res);
  expect(res["www-authenticate"] && /DPoP/i.test(res["www-authenticate"]), "anonymous: WWW-Authenticate is readable through CORS", res);
  expect(/rel="acl"/.test(res.link ?? ""), "anonymous: Link (with the acl) is readable through CORS", res);
  expect(res["wac-allow"] !== null, "anonymous: WAC-Allow is readable through CORS", res);
  await context.close();
});

await part("cross-site forms to Kluis's account pages", async () => {
  const { context, page } = await newPage("forger");
  const form = (params) => `${app}csrf.html?${new URLSearchParams(params)}`;
  const send = async (name, params) => {
    await page.goto(form(params));
    const [res] = await Promise.all([page.waitForNavigation(), page.click("#send")]);
    await shot(page, name);
    return { status: res?.status() ?? 0, url: page.url(), text: (await bodyText(page)).slice(0, 300) };
  };
  const loggedIn = async () => {
    await page.goto(`${kluis}.account/`);
    return (await bodyText(page)).includes("Logged in as");
  };

  // Login CSRF: the forger's page logs the browser in to an account.
  const login = await send("forged-login", { to: `${kluis}.account/login/`, email: alice.email, password: alice.password });
  check(login.status === 403 || !(await loggedIn()), `forger: a cross-site login form is refused (${login.status})`, login);
  // Even with a CSRF token this browser got from Kluis's own page.
  await page.goto(`${kluis}.account/login/`);
  const csrf = await page.locator('input[name="csrf"]').first().getAttribute("value");
  const withToken = await send("forged-login-with-token", { to: `${kluis}.account/login/`, csrf, email: alice.email, password: alice.password });
  check(withToken.status === 403 || !(await loggedIn()), `forger: a cross-site login form with a real CSRF token is refused (${withToken.status})`, withToken);
  // A JSON API endpoint with a form posing as JSON (text/plain).
  const json = await send("forged-json-login", {
    to: `${kluis}.account/login/password/`, enctype: "text/plain",
    [`{"email":"${alice.email}","password":"${alice.password}","x":"`]: `"}`,
  });
  check(json.status >= 400 && !(await loggedIn()), `forger: a text/plain form to the JSON login is refused (${json.status})`, json);

  // A logged-in person: the forger's page asks Kluis to create a pod.
  await page.goto(`${kluis}.account/login/`);
  await page.fill("#email", bob.email);
  await page.fill("#password", bob.password);
  await Promise.all([page.waitForNavigation(), page.click('button:text-is("Log in")')]);
  check((await bodyText(page)).includes(`Logged in as ${bob.email}`), "forger: bob logged in on Kluis's pages in this browser");
  const token = await page.locator('input[name="csrf"]').first().getAttribute("value");
  const pod = await send("forged-create-pod", { to: `${kluis}.account/`, csrf: token, action: "create-pod", pod: "forged", name: "Forged" });
  await page.goto(`${kluis}.account/`);
  const podMade = await page.locator(`a[href="${kluis}forged/"]`).count();
  await shot(page, "after-forged-create-pod");
  check(podMade === 0, `forger: a cross-site form did not create a pod for a logged-in person (${pod.status})`, pod);
  await context.close();
});

// signUpByScript signs a person up with the JSON account API, as a
// script (no Origin), and logs a script session in with client
// credentials.
async function signUpByScript(base, person) {
  const json = async (res, what) => {
    const text = await res.text();
    check(res.ok, `${person.name}: ${what} (${res.status})`, res.ok ? undefined : text.slice(0, 300));
    return text ? JSON.parse(text) : {};
  };
  const { controls } = await json(await fetch(`${base}.account/`), "account controls");
  const { authorization } = await json(await fetch(controls.account.create, { method: "POST" }), "create account");
  const headers = { authorization: `CSS-Account-Token ${authorization}`, "content-type": "application/json" };
  const { controls: mine } = await json(await fetch(`${base}.account/`, { headers }), "own controls");
  await json(await fetch(mine.password.create, {
    method: "POST", headers, body: JSON.stringify({ email: person.email, password: person.password }),
  }), "password login");
  const { webId, pod } = await json(await fetch(mine.account.pod, {
    method: "POST", headers, body: JSON.stringify({ name: person.name }),
  }), "pod");
  const { id, secret } = await json(await fetch(mine.account.clientCredentials, {
    method: "POST", headers, body: JSON.stringify({ name: `${person.name}-script`, webId }),
  }), "client credentials");
  const session = new Session();
  await session.login({ clientId: id, clientSecret: secret, oidcIssuer: base, tokenType: "DPoP" });
  check(session.info.isLoggedIn && session.info.webId === webId, `${person.name}: script logged in as ${webId}`);
  return { webId, pod, session };
}

await part("KLUIS_WAC_ORIGIN=strict admits only trusted apps", async () => {
  check(strictKluis, "a strict Kluis runs (STRICT_KLUIS_URL)");
  const carol = { name: "carol", email: "carol@example.org", password: "carol-browser-password" };
  const { webId, pod, session } = await signUpByScript(strictKluis, carol);
  carol.webId = webId;
  const note = `${pod}strict/note.txt`;
  const put = await session.fetch(note, { method: "PUT", headers: { "content-type": "text/plain" }, body: "private to carol" });
  check(put.status === 201, `carol: the script wrote ${note} (${put.status})`);

  const { context, page } = await newPage("carol");
  await appLogin(page, carol, strictKluis);
  const before = await call(page, "fetchAsMe", note);
  await shot(page, "carol-strict-refused");
  expect(before.status === 403, "carol: the untrusted app is refused her own resource (403)", before);

  // SPARQL Update, since an N3 Patch may not insert blank nodes (Solid
  // Protocol 0.11, 5.3.1).
  const update = `PREFIX acl: <http://www.w3.org/ns/auth/acl#>
INSERT DATA { <${webId}> acl:trustedApp [ acl:origin <${appOrigin}>; acl:mode acl:Read, acl:Write ] . }`;
  const profile = webId.replace(/#.*$/, "");
  const patched = await session.fetch(profile, { method: "PATCH", headers: { "content-type": "application/sparql-update" }, body: update });
  check(patched.ok, `carol: the script added acl:trustedApp ${appOrigin} to her profile (${patched.status})`,
    patched.ok ? undefined : await patched.text());

  const after = await call(page, "fetchAsMe", note);
  await shot(page, "carol-strict-trusted");
  check(after.status === 200 && after.body === "private to carol", "carol: the trusted app reads her resource", after);
  const written = await call(page, "writeFile", `${pod}strict/from-app.txt`, "written by a trusted app");
  check(written.written, "carol: the trusted app writes (acl:Write)", written);
  await session.logout();
  await context.close();
});

// The SolidOS data browser that Kluis serves on a pod's URLs (issue 15):
// dana opens her pod as a person would, logs in from the data browser's
// own button with Kluis as the identity provider, sees her profile,
// makes a folder and a note, edits a Turtle document, and sees a change
// that another client (her script) makes appear without reloading.
await part("the data browser on a pod", async () => {
  const dana = { name: "dana", email: "dana@example.org", password: "dana-browser-password" };
  const { webId, pod, session } = await signUpByScript(kluis, dana);
  const { context, page } = await newPage("dana");
  const violations = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  const sockets = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));

  // Anonymous: the pod is private, so the page comes with the 401 and
  // offers to log in.
  await page.goto(kluis);
  await shot(page, "dana-welcome-anonymous");
  let text = await bodyText(page);
  check(text.includes("Solid pod server") && await page.locator('a[href="/.account/signup/"]').count() === 1,
    "dana: the server root welcomes her with sign-up and log-in links", text);

  const first = await page.goto(pod);
  const headers = first.headers();
  check(first.status() === 401 && headers["content-type"]?.startsWith("text/html"),
    `dana: her private pod opens in a browser as the data browser page (${first.status()}, ${headers["content-type"]})`);
  expect(/Accept/.test(headers.vary ?? "") && /script-src 'self'/.test(headers["content-security-policy"] ?? ""),
    "dana: the page varies by Accept and has a content security policy", headers);
  await page.locator("button.login-button").waitFor();
  await page.waitForFunction(() => /not publicly readable/i.test(document.body.innerText));
  await shot(page, "dana-databrowser-anonymous");
  ok("dana: the data browser says the pod is not public and shows its Log In button");

  // Login from the data browser: its identity provider list offers this
  // server first.
  await page.click("button.login-button");
  await page.click("button.issuer-dropdown-toggle");
  const firstIssuer = page.locator("[role=option]").first();
  check((await firstIssuer.innerText()).trim() === new URL(kluis).host,
    `dana: the data browser offers ${new URL(kluis).host} as identity provider`, await firstIssuer.innerText());
  await firstIssuer.click();
  await shot(page, "dana-databrowser-choose-provider");
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(`${kluis}.account/login`)),
    page.click("button.popup-login-button"),
  ]);
  await shot(page, "dana-kluis-login-from-databrowser");
  await page.fill("#email", dana.email);
  await page.fill("#password", dana.password);
  await Promise.all([page.waitForNavigation(), page.click('button:text-is("Log in")')]);
  const allow = page.locator('button[name="decision"][value="allow"]');
  await shot(page, "dana-kluis-consent-for-databrowser");
  check(await allow.count() === 1, "dana: Kluis asks whether the data browser may act for her", await bodyText(page));
  expect((await bodyText(page)).includes("The data browser of this server"), "dana: the consent page names the data browser", await bodyText(page));
  await Promise.all([page.waitForURL((u) => u.href.startsWith(pod)), allow.click()]);
  const main = page.locator("#MainContent");
  await page.waitForFunction(() => /profile/.test(document.getElementById("MainContent")?.innerText ?? ""), null, { timeout: 20000 });
  await shot(page, "dana-databrowser-pod");
  const listing = await main.innerText();
  check(/profile/.test(listing) && /settings/.test(listing), "dana: logged in, the data browser lists her pod", listing.slice(0, 300));

  // Her profile, at her WebID.
  await page.goto(webId);
  // The profile is drawn in shadow DOM, which getByText pierces.
  await page.getByText("Contact Info").first().waitFor({ timeout: 20000 }).catch(() => {});
  await shot(page, "dana-databrowser-profile");
  check(await page.getByText(dana.name, { exact: true }).count() > 0 && await page.getByText("Contact Info").count() > 0,
    "dana: the data browser shows her profile, named after her pod", await bodyText(page));

  // A folder and a note, made with the data browser's tools.
  const make = async (tool, name) => {
    await page.locator('img[title="Add another tool"]').first().click();
    await page.locator(`img[title="${tool}"]`).first().click();
    await page.locator("input").last().fill(name);
    await page.keyboard.press("Enter");
  };
  await page.goto(pod);
  await page.waitForFunction(() => /settings/.test(document.getElementById("MainContent")?.innerText ?? ""), null, { timeout: 20000 });
  await make("Make new folder @@", "notes");
  await page.waitForFunction(() => /notes/.test(document.getElementById("MainContent")?.innerText ?? ""));
  await shot(page, "dana-databrowser-folder-made");
  let res = await session.fetch(`${pod}notes/`, { method: "HEAD" });
  check(res.status === 200, `dana: the data browser made the folder notes/ (${res.status})`);

  const notes = `${pod}notes/`;
  await page.goto(notes);
  await page.locator('img[title="Add another tool"]').first().waitFor();
  await make("Make new source @@", "note.txt");
  await page.waitForFunction(() => /note\.txt/.test(document.getElementById("MainContent")?.innerText ?? ""));
  await make("Make new source @@", "about.ttl");
  await page.waitForFunction(() => /about\.ttl/.test(document.getElementById("MainContent")?.innerText ?? ""));
  await shot(page, "dana-databrowser-note-made");
  res = await session.fetch(`${notes}note.txt`, { method: "HEAD" });
  check(res.status === 200, `dana: the data browser made the note notes/note.txt (${res.status})`);

  // A Turtle document, edited in its source view and saved.
  await page.goto(`${notes}about.ttl`);
  await page.locator('img[title="Edit"]').first().click();
  const turtle = '@prefix schema: <http://schema.org/> .\n<#it> schema:name "Edited in the data browser" .\n';
  await page.locator("textarea").fill(turtle);
  await page.locator("textarea").press("End");
  await page.keyboard.type(" ");
  await shot(page, "dana-databrowser-editing-turtle");
  await Promise.all([
    page.waitForResponse((r) => r.url() === `${notes}about.ttl` && r.request().method() === "PUT"),
    page.locator('img[title="Continue"]').first().click(),
  ]);
  await shot(page, "dana-databrowser-turtle-saved");
  res = await session.fetch(`${notes}about.ttl`);
  const saved = await res.text();
  check(res.status === 200 && saved.includes("Edited in the data browser"), "dana: her edit of about.ttl is stored", saved);

  // Live: her script adds a document to the folder the data browser
  // shows; the listing changes without a reload (solid-0.1 Updates-Via).
  await page.goto(notes);
  await page.waitForFunction(() => /about\.ttl/.test(document.getElementById("MainContent")?.innerText ?? ""));
  await page.evaluate(() => { window.kluisNotReloaded = true; });
  await page.waitForTimeout(500); // the WebSocket's "sub"
  const put = await session.fetch(`${notes}from-script.ttl`, {
    method: "PUT", headers: { "content-type": "text/turtle" }, body: '<#it> <http://schema.org/name> "From the script" .',
  });
  check(put.status === 201, `dana: her script wrote notes/from-script.ttl (${put.status})`);
  await page.waitForFunction(() => /from.script/.test(document.getElementById("MainContent")?.innerText ?? ""), null, { timeout: 10000 })
    .catch(() => {});
  await shot(page, "dana-databrowser-live-update");
  const live = await main.innerText();
  check(/from.script/.test(live) && await page.evaluate(() => window.kluisNotReloaded === true),
    "dana: the script's document appears in the data browser without a reload", { live: live.slice(0, 300), sockets });
  expect(sockets.some((u) => u.includes("/.notifications/legacy?ticket=")),
    "dana: the data browser's WebSocket carries her ticket", sockets);
  expect(violations.length === 0, "dana: the data browser ran without content security policy violations", violations);

  // Logged in on Kluis (she entered her password there), the server root
  // lists her pod, which opens in the data browser.
  await page.goto(kluis);
  await shot(page, "dana-welcome-logged-in");
  text = await bodyText(page);
  check(text.includes(`Logged in as ${dana.email}`) && await page.locator(`a[href="${pod}"]`).count() === 1,
    "dana: the server root lists her pod", text);
  await page.click(`a[href="${pod}"]`);
  await page.waitForFunction(() => /notes/.test(document.getElementById("MainContent")?.innerText ?? ""), null, { timeout: 20000 });
  await shot(page, "dana-databrowser-from-welcome");
  ok("dana: her pod opens from the welcome page in the data browser, still logged in");
  await session.logout();
  await context.close();
});

const granted = await part("an organisation asks; alice allows on her consent page", async () => {
  check(aliceIn, "alice: logged in to the app (and so to Kluis)");
  const shop = await signUpByScript(kluis, { name: "shop", email: "shop@example.org", password: "shop-browser-password" });
  const res = await shop.session.fetch(`${kluis}.vc/issue`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ credential: {
      "@context": ["https://www.w3.org/2018/credentials/v1", "https://schema.inrupt.com/credentials/v2.jsonld"],
      type: ["VerifiableCredential", "SolidAccessRequest"],
      expirationDate: new Date(Date.now() + 24 * 3600 * 1000).toISOString(),
      credentialSubject: { hasConsent: {
        mode: ["Read"], hasStatus: "https://w3id.org/GConsent#ConsentStatusRequested",
        forPersonalData: [notes], forPurpose: ["https://w3id.org/dpv#ServiceProvision"], isConsentForDataSubject: alice.webId,
      } },
    } }),
  });
  const request = await res.json();
  check(res.status === 201 && request.id, "shop: issued an access request", request);
  // A second page of alice's browser, so that the app's page stays.
  const page = await A.context.newPage();
  const consent = `${kluis}.vc/consent?` + new URLSearchParams({ requestVcUrl: request.id, redirectUrl: `${app}granted` });
  await page.goto(consent);
  if (page.url().startsWith(`${kluis}.account/login/`)) {
    await page.fill("#email", alice.email);
    await page.fill("#password", alice.password);
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  }
  await shot(page, "alice-consent-page");
  const text = await bodyText(page);
  check(page.url().startsWith(`${kluis}.vc/consent`) && text.includes(shop.webId) && text.includes("Service provision") && text.includes("see"),
    "alice: the consent page says who asks, what and why", `${page.url()}: ${text}`);
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(`${app}granted`)),
    page.click('button:text-is("Allow")'),
  ]);
  const grantUrl = new URL(page.url()).searchParams.get("accessGrantUrl");
  check(grantUrl?.startsWith(`${kluis}.vc/vc/`), "alice: allowed; back at the app with accessGrantUrl", page.url());
  const grant = await shop.session.fetch(grantUrl);
  check(grant.ok && (await grant.json()).type.includes("SolidAccessGrant"), "shop: reads its grant");
  const read = await shop.session.fetch(`${notes}first`);
  check(read.status === 200, `shop: reads alice's notes with the grant (${read.status})`);
  await page.close();
  // The next part ends the grant on alice's access page.
  return { shop, grantUrl };
});

await part("alice sees the grant on her access page and revokes it", async () => {
  check(granted, "shop holds a grant from the part before");
  const { shop, grantUrl } = granted;
  try {
    const page = await A.context.newPage();
    // From her account page, the link of her pod.
    await page.goto(`${kluis}.account/`);
    const link = page.locator('a[data-testid="access-page"]');
    check(await link.count() === 1, "alice: her account page links the access page of her pod", await bodyText(page));
    await Promise.all([page.waitForNavigation(), link.click()]);
    await shot(page, "alice-access-page");
    check(page.url().startsWith(`${kluis}.vc/access?`), `alice: the access page opens (${page.url()})`);
    const grant = page.locator(`[data-testid="grant"][data-iri="${grantUrl}"]`);
    check(await grant.count() === 1 && await grant.getAttribute("data-state") === "active",
      "alice: the page shows shop's grant as active", await bodyText(page));
    const grantText = (await grant.innerText()).replace(/\s+/g, " ");
    check(grantText.includes(shop.webId) && grantText.includes("Service provision") && grantText.includes(notes) && grantText.includes("see"),
      "alice: the grant says who, what, why (the DPV purpose's label)", grantText);
    const rules = await page.locator('[data-testid="rule"]').count();
    expect(rules > 0 && (await bodyText(page)).includes("everyone, also people not logged in"),
      "alice: the page lists her pod's access rules in words (her public profile among them)", rules);

    // The access log: the read under the grant, with its purpose.
    const logOn = await page.locator('#log').count() === 1 && !(await bodyText(page)).includes("The access log is off");
    check(logOn, "alice: the access page shows the pod's access log", await bodyText(page));
    const logged = async (pred) => {
      for (let i = 0; i < 20; i++) { // the log may write in batches
        const rows = await page.locator('[data-testid="access"]').evaluateAll((els) => els.map((e) => e.innerText.replace(/\s+/g, " ")));
        if (rows.some(pred)) return rows;
        await page.waitForTimeout(250);
        await page.reload();
      }
      return null;
    };
    {
      const rows = await logged((r) => r.includes(shop.webId) && r.includes("browser-notes/first") && r.includes("Service provision") && r.includes("allowed"));
      check(rows, "alice: the log shows shop's read under the grant, with its purpose", await bodyText(page));
      await shot(page, "alice-access-page-log");
    }

    // What shop did, alone: the grant's link filters the log on shop.
    const pageUrl = page.url();
    await Promise.all([page.waitForNavigation(), grant.locator('a:text-is("What it did")').click()]);
    {
      const rows = await page.locator('[data-testid="access"]').evaluateAll((els) => els.map((e) => e.innerText.replace(/\s+/g, " ")));
      check(rows.length > 0 && rows.every((r) => r.includes(shop.webId)) && (await bodyText(page)).includes("Requests by"),
        "alice: 'What it did' shows shop's requests alone", rows);
      await shot(page, "alice-access-page-what-shop-did");
    }
    await page.goto(pageUrl);

    // Revoke, from the page.
    await Promise.all([page.waitForNavigation(), grant.locator('button:text-is("Revoke")').click()]);
    await shot(page, "alice-access-page-revoked");
    const after = await bodyText(page);
    check(after.includes("The grant was revoked") && await page.locator(`[data-testid="grant"][data-iri="${grantUrl}"]`).getAttribute("data-state") === "revoked",
      "alice: revoked on the page, which now lists the grant as revoked", after);
    const refused = await shop.session.fetch(`${notes}first`);
    check(refused.status === 403, `shop: its next read of alice's notes is refused (${refused.status})`);

    // The refused read is logged too.
    {
      await page.reload();
      const rows = await logged((r) => r.includes(shop.webId) && r.includes("browser-notes/first") && r.includes("refused"));
      check(rows, "alice: the log shows shop's refused read", await bodyText(page));
      await shot(page, "alice-access-page-log-refused");
    }
    await page.close();
  } finally {
    await shop.session.logout();
  }
});

await part("log out", async () => {
  for (const [who, pg, isIn] of [[alice, A.page, aliceIn], [bob, B.page, bobIn]]) {
    check(isIn, `${who.name}: logged in to the app`);
    // idp logout: the app sends the browser to Kluis's end_session_endpoint
    // with an id_token_hint, which ends the Kluis session as well.
    await Promise.all([
      pg.waitForURL((u) => u.href.startsWith(kluis)),
      pg.click("#logout"),
    ]);
    await pg.waitForLoadState();
    const signOut = pg.locator('button[value="logout"]');
    if (await signOut.count()) {
      await shot(pg, `${who.name}-kluis-sign-out`);
      await Promise.all([pg.waitForNavigation(), signOut.click()]);
    }
    await shot(pg, `${who.name}-kluis-signed-out`);
    const text = await bodyText(pg);
    check(/signed out/i.test(text), `${who.name}: Kluis says signed out`, `${pg.url()}: ${text}`);
    await pg.goto(app);
    const info = await pg.evaluate(() => window.kluisReady);
    await shot(pg, `${who.name}-app-logged-out`);
    check(!info.isLoggedIn, `${who.name}: the app is logged out`, info);
    await pg.goto(`${kluis}.account/`);
    check(!(await bodyText(pg)).includes("Logged in as"), `${who.name}: Kluis's session ended too`);
  }
});

await launched.close();
console.log(failed ? `browser: ${failed} step(s) failed; screenshots in ${shots}` : `browser: all steps passed; screenshots in ${shots}`);
process.exit(failed ? 1 : 0);

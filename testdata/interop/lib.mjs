// Shared steps of the Node interoperability tests: checks, JSON calls,
// and signing up through the account API with client credentials.
import { Session } from "@inrupt/solid-client-authn-node";

export const base = process.env.KLUIS_URL; // ends in "/"

export function check(ok, what) {
  if (!ok) {
    console.error(`FAIL ${what}`);
    process.exit(1);
  }
  console.log(`ok ${what}`);
}

export async function json(res, what) {
  const text = await res.text();
  // Bodies hold tokens and secrets: shown only when something went wrong.
  check(res.ok, `${what}: ${res.status}${res.ok ? "" : " " + text.slice(0, 300)}`);
  return text ? JSON.parse(text) : {};
}

// signUp follows the Community Solid Server's documented JSON API steps:
// account, password login, pod, client credentials.
export async function signUp(name) {
  const { controls } = await json(await fetch(`${base}.account/`), "controls");
  const { authorization } = await json(await fetch(controls.account.create, { method: "POST" }), `${name}: create account`);
  const headers = { authorization: `CSS-Account-Token ${authorization}`, "content-type": "application/json" };
  const { controls: mine } = await json(await fetch(`${base}.account/`, { headers }), `${name}: account controls`);
  await json(await fetch(mine.password.create, {
    method: "POST", headers, body: JSON.stringify({ email: `${name}@example.org`, password: `${name}-secret-password` }),
  }), `${name}: password login`);
  const { webId, pod } = await json(await fetch(mine.account.pod, {
    method: "POST", headers, body: JSON.stringify({ name }),
  }), `${name}: pod`);
  const { id, secret } = await json(await fetch(mine.account.clientCredentials, {
    method: "POST", headers, body: JSON.stringify({ name: `${name}-script`, webId }),
  }), `${name}: client credentials`);
  const session = new Session();
  await session.login({ clientId: id, clientSecret: secret, oidcIssuer: base, tokenType: "DPoP" });
  check(session.info.isLoggedIn && session.info.webId === webId, `${name}: logged in as ${session.info.webId}`);
  return { session, webId, pod, id, secret };
}

// status is the HTTP status a library call failed with, 200 when it did
// not fail, -1 when the error carries none.
export async function status(promise) {
  try {
    await promise;
    return 200;
  } catch (e) {
    return e.statusCode ?? e.response?.status ?? -1;
  }
}

// fails reports whether a promise rejects.
export async function fails(promise) {
  try {
    await promise;
    return false;
  } catch {
    return true;
  }
}

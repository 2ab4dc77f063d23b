// Access requests and grants with @inrupt/solid-client-access-grants
// 4.0.1, unchanged, against Kluis (WAC): an organisation asks for access
// with a purpose, the person approves (updateAcr: false, since Kluis
// decides by the grant itself), the organisation reads and writes exactly
// the granted data with the grant (the UMA exchange of fetchWithVc), and
// after the person revokes, the next read fails. Denial, cancellation,
// lookups, query and verification too.
// Run by the Go test TestAccessGrantsWithInruptLibrary with KLUIS_URL set;
// it prints one line per check and exits non-zero on the first failure.
import { overwriteFile as plainOverwriteFile, getFile as plainGetFile } from "@inrupt/solid-client";
import {
  issueAccessRequest, approveAccessRequest, denyAccessRequest, cancelAccessRequest,
  getAccessRequest, getAccessGrant, getAccessGrantAll, revokeAccessGrant, isValidAccessGrant,
  getFile, overwriteFile, getSolidDataset, getAccessApiEndpoint, query,
  redirectToAccessManagementUi, getAccessGrantFromRedirectUrl, getAccessManagementUi,
  getResources, getPurposes, getRequestor, getResourceOwner, getAccessModes, getExpirationDate, getId, getTypes,
} from "@inrupt/solid-client-access-grants";
import { base, check, signUp, fails } from "./lib.mjs";

const PURPOSE = "https://w3id.org/dpv#ServiceProvision";
const person = await signUp("person");
const org = await signUp("org");
const asPerson = { fetch: person.session.fetch };
const asOrg = { fetch: org.session.fetch };

// The person's data: one folder to share, one to keep.
const shared = `${person.pod}shared/`;
await plainOverwriteFile(`${shared}order.txt`, new Blob(["order 42"]), { contentType: "text/plain", ...asPerson });
await plainOverwriteFile(`${shared}profile.ttl`, new Blob(['<#me> <https://schema.org/name> "Person".']), { contentType: "text/turtle", ...asPerson });
await plainOverwriteFile(`${person.pod}private/diary.txt`, new Blob(["secret"]), { contentType: "text/plain", ...asPerson });
check(await fails(plainGetFile(`${shared}order.txt`, asOrg)), "org: no standing access to the person's data");

// Discovery from a resource, as the library does it.
const endpoint = await getAccessApiEndpoint(`${shared}order.txt`);
check(endpoint === `${base}.vc/`, `discovery: the access API is ${endpoint}`);

// The organisation asks.
const expires = new Date(Date.now() + 24 * 3600 * 1000);
const request = await issueAccessRequest({
  access: { read: true, write: true },
  resources: [shared],
  resourceOwner: person.webId,
  purpose: [PURPOSE],
  expirationDate: expires,
  requestorInboxUrl: `${org.pod}inbox/`,
}, asOrg);
check(getTypes(request).includes("SolidAccessRequest") || JSON.stringify(request).includes("SolidAccessRequest"), `org: request issued ${getId(request)}`);
check(getRequestor(request) === org.webId && getResourceOwner(request) === person.webId, "request: requestor and owner");
check(getPurposes(request).includes(PURPOSE) && getResources(request).includes(shared), "request: purpose and resources");

// The person reads it and approves it.
const seen = await getAccessRequest(getId(request), asPerson);
check(getId(seen) === getId(request), "person: reads the request");
const grant = await approveAccessRequest(getId(request), undefined, { ...asPerson, updateAcr: false });
check(getRequestor(grant) === org.webId && getResources(grant).includes(shared), `person: grant issued ${getId(grant)}`);
const modes = getAccessModes(grant);
check(modes.read === true && modes.write === true, "grant: read and write");
check(Math.abs(getExpirationDate(grant)?.getTime() - expires.getTime()) < 2000, "grant: expires when asked");

// Lookups and verification.
const fetched = await getAccessGrant(getId(grant), asOrg);
check(getId(fetched) === getId(grant), "org: getAccessGrant");
const verification = await isValidAccessGrant(grant, asOrg);
check(Array.isArray(verification.errors) && verification.errors.length === 0, `isValidAccessGrant: ${JSON.stringify(verification)}`);
const all = await getAccessGrantAll({ resource: `${shared}order.txt` }, asPerson);
check(all.some((g) => getId(g) === getId(grant)), `person: getAccessGrantAll finds the grant (${all.length})`);
const forOrg = await getAccessGrantAll({ resource: shared, requestor: org.webId, purpose: [PURPOSE] }, asOrg);
check(forOrg.some((g) => getId(g) === getId(grant)), "org: getAccessGrantAll by requestor and purpose");
const page = await query({ type: "SolidAccessGrant", status: "Active", pageSize: 5 }, { fetch: org.session.fetch, queryEndpoint: new URL(`${endpoint}query`) });
check(page.items.length === 1 && page.first !== undefined, `org: query finds ${page.items.length} active grant`);

// The organisation uses the grant: the UMA exchange, then the resource.
const file = await getFile(`${shared}order.txt`, grant, asOrg);
check(await file.text() === "order 42", "org: getFile with the grant");
await overwriteFile(`${shared}order.txt`, new Blob(["order 42, shipped"]), grant, { contentType: "text/plain", ...asOrg });
check(await (await plainGetFile(`${shared}order.txt`, asPerson)).text() === "order 42, shipped", "org: overwriteFile with the grant");
const dataset = await getSolidDataset(`${shared}profile.ttl`, grant, asOrg);
check(JSON.stringify(dataset).includes("Person"), "org: getSolidDataset with the grant");
check(await fails(getFile(`${person.pod}private/diary.txt`, grant, asOrg)), "org: refused outside the grant");
// The organisation's back end, with plain DPoP requests.
check(await (await plainGetFile(`${shared}order.txt`, asOrg)).text() === "order 42, shipped", "org: plain DPoP read covered by the grant");
check(await fails(plainGetFile(`${person.pod}private/diary.txt`, asOrg)), "org: plain DPoP refused outside the grant");

// The person revokes; the next read fails both ways.
await revokeAccessGrant(grant, asPerson);
check(true, "person: grant revoked");
check(await fails(getFile(`${shared}order.txt`, grant, asOrg)), "org: getFile with the revoked grant fails");
check(await fails(plainGetFile(`${shared}order.txt`, asOrg)), "org: plain DPoP read fails after revocation");
const verification2 = await isValidAccessGrant(grant, asOrg);
check(verification2.errors.length > 0, "isValidAccessGrant: the revoked grant is not valid");

// Denial and cancellation.
const request2 = await issueAccessRequest({
  access: { read: true }, resources: [`${person.pod}private/`], resourceOwner: person.webId, purpose: [PURPOSE], expirationDate: expires,
}, asOrg);
const denial = await denyAccessRequest(getId(request2), asPerson);
check(JSON.stringify(denial).includes("SolidAccessDenial"), "person: request denied");
const request3 = await issueAccessRequest({
  access: { read: true }, resources: [shared], resourceOwner: person.webId, purpose: [PURPOSE], expirationDate: expires,
}, asOrg);
await cancelAccessRequest(getId(request3), asOrg);
const cancelled = await query({ type: "SolidAccessRequest", status: "Canceled" }, { fetch: org.session.fetch, queryEndpoint: new URL(`${endpoint}query`) });
check(cancelled.items.some((r) => getId(r) === getId(request3)), "org: request cancelled");
check(await fails(approveAccessRequest(getId(request3), undefined, { ...asOrg, updateAcr: false })), "org: may not grant the person's data");

// The redirect flow: the app sends the person to the consent page that
// the library discovers, the person allows in their browser (an account
// session, the page's form with its CSRF token), and the page sends them
// back to the app with accessGrantUrl.
const request4 = await issueAccessRequest({
  access: { read: true }, resources: [`${shared}order.txt`], resourceOwner: person.webId, purpose: [PURPOSE], expirationDate: expires,
}, asOrg);
// The library's promise never settles once it has redirected (the page
// is gone in a browser): the test waits for the callback instead.
const consentUrl = await new Promise((resolve, reject) => {
  redirectToAccessManagementUi(getId(request4), "https://app.example/callback", { ...asOrg, redirectCallback: resolve }).catch(reject);
});
check(consentUrl?.startsWith(`${base}.vc/consent?`), `redirect flow: the consent page is found from the resource (${consentUrl})`);
const ui = await getAccessManagementUi(person.webId, asOrg);
check(ui === `${base}.vc/consent`, `redirect flow: the consent page is found from the owner's WebID (${ui})`);
const { controls } = await (await fetch(`${base}.account/`)).json();
const login = await fetch(controls.password.login, {
  method: "POST", headers: { "content-type": "application/json" },
  body: JSON.stringify({ email: "person@example.org", password: "person-secret-password" }),
});
const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
check(login.ok && cookie.startsWith("css-account="), "redirect flow: the person logs in to their account");
const consentPage = await fetch(consentUrl, { headers: { cookie } });
const html = await consentPage.text();
check(consentPage.status === 200 && html.includes(org.webId) && html.includes("Service provision"), "redirect flow: the page shows who asks and why");
const field = (name) => html.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1]?.replaceAll("&amp;", "&");
const forged = await fetch(`${base}.vc/consent`, {
  method: "POST", redirect: "manual",
  headers: { cookie, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ requestVcUrl: field("requestVcUrl"), redirectUrl: field("redirectUrl"), csrf: field("csrf"), decision: "approve" }),
});
check(forged.status === 403, `redirect flow: a post from another site is refused (${forged.status})`);
const decided = await fetch(`${base}.vc/consent`, {
  method: "POST", redirect: "manual",
  headers: { cookie, origin: base.replace(/\/$/, ""), "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ requestVcUrl: field("requestVcUrl"), redirectUrl: field("redirectUrl"), csrf: field("csrf"), decision: "approve" }),
});
const back = decided.headers.get("location") ?? "";
check(decided.status === 303 && back.startsWith("https://app.example/callback?accessGrantUrl="), `redirect flow: back to the app (${decided.status})`);
const redirectGrant = await getAccessGrantFromRedirectUrl(back, asOrg);
check(await (await getFile(`${shared}order.txt`, redirectGrant, asOrg)).text() === "order 42, shipped", "redirect flow: the app reads with the grant");

await person.session.logout();
await org.session.logout();
console.log("grants: all checks passed");

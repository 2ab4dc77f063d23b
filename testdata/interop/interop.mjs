// Interoperability of Kluis with the Solid client libraries most apps use:
// @inrupt/solid-client-authn-node (log in with client credentials, DPoP)
// and @inrupt/solid-client (containers, datasets, files, access), and
// @inrupt/solid-client-notifications (WebSocket notifications found with
// no configuration).
// Run by the Go test TestInteropWithInruptClients with KLUIS_URL set; it
// prints one line per check and exits non-zero on the first failure.
import { Session } from "@inrupt/solid-client-authn-node";
import { base, check, signUp, status } from "./lib.mjs";
import { WebsocketNotification } from "@inrupt/solid-client-notifications";
import {
  createContainerAt, createSolidDataset, createThing, buildThing, setThing,
  saveSolidDatasetAt, getSolidDataset, getThing, getStringNoLocale,
  overwriteFile, getFile, universalAccess,
} from "@inrupt/solid-client";

const SCHEMA_NAME = "https://schema.org/name";

// bounded waits for promise at most ms milliseconds.
async function bounded(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } catch (e) {
    check(false, `${what}: ${e.message ?? e}`);
  } finally {
    clearTimeout(timer);
  }
}

const alice = await signUp("alice");
const bob = await signUp("bob");
const fetchA = { fetch: alice.session.fetch };
const fetchB = { fetch: bob.session.fetch };

// Alice: a container, a dataset saved and read back, a binary file.
const notes = `${alice.pod}notes/`;
await createContainerAt(notes, fetchA);
check(true, "alice: container created");
let ds = createSolidDataset();
ds = setThing(ds, buildThing(createThing({ name: "first" })).addStringNoLocale(SCHEMA_NAME, "Hello from Alice").build());
await saveSolidDatasetAt(`${notes}first`, ds, fetchA);
const back = await getSolidDataset(`${notes}first`, fetchA);
check(getStringNoLocale(getThing(back, `${notes}first#first`), SCHEMA_NAME) === "Hello from Alice", "alice: dataset read back");
const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 0xc3, 0x28]);
await overwriteFile(`${notes}blob.bin`, new Blob([bytes]), { contentType: "application/octet-stream", ...fetchA });
const file = Buffer.from(await (await getFile(`${notes}blob.bin`, fetchA)).arrayBuffer());
check(file.equals(bytes), "alice: binary file read back byte for byte");
let second = setThing(createSolidDataset(), buildThing(createThing({ name: "second" })).addStringNoLocale(SCHEMA_NAME, "private").build());
await saveSolidDatasetAt(`${notes}second`, second, fetchA);

// Alice grants Bob read access to one resource with the library's access API.
await universalAccess.setAgentAccess(`${notes}first`, bob.webId, { read: true }, fetchA);
const access = await universalAccess.getAgentAccess(`${notes}first`, bob.webId, fetchA);
check(access?.read === true, "alice: Bob's read access recorded");

// Bob reads what he was granted, and is refused the rest.
const shared = await getSolidDataset(`${notes}first`, fetchB);
check(getStringNoLocale(getThing(shared, `${notes}first#first`), SCHEMA_NAME) === "Hello from Alice", "bob: reads the shared resource");
check(await status(getSolidDataset(`${notes}second`, fetchB)) === 403, "bob: refused the other resource (403)");
check(await status(saveSolidDatasetAt(`${notes}first`, second, fetchB)) === 403, "bob: may not write the shared resource (403)");

// Notifications with zero configuration: connect() finds the gateway in
// /.well-known/solid and negotiates a WebSocket as Alice; then a second
// session of Alice changes the resource, and the notification arrives.
const socket = new WebsocketNotification(`${notes}first`, fetchA);
const connected = new Promise((resolve, reject) => {
  socket.on("connected", resolve);
  socket.on("error", reject);
});
const heard = new Promise((resolve) => socket.on("message", resolve));
await socket.connect();
await bounded(connected, 10000, "notifications: WebSocket connected");
check(true, "notifications: connected through the gateway of /.well-known/solid");
const writer = new Session();
await writer.login({ clientId: alice.id, clientSecret: alice.secret, oidcIssuer: base, tokenType: "DPoP" });
let changed = await getSolidDataset(`${notes}first`, { fetch: writer.fetch });
changed = setThing(changed, buildThing(getThing(changed, `${notes}first#first`)).setStringNoLocale(SCHEMA_NAME, "Changed").build());
await saveSolidDatasetAt(`${notes}first`, changed, { fetch: writer.fetch });
const note = await bounded(heard, 10000, "notifications: a notification of the change");
check(note.type === "Update" && note.object === `${notes}first`, `notifications: ${note.type} of ${note.object}`);
socket.disconnect();
await writer.logout();

await alice.session.logout();
await bob.session.logout();
console.log("interop: all checks passed");

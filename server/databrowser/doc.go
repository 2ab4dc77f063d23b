// Package databrowser serves the SolidOS data browser (mashlib) for the
// pods: the page a browser gets when it asks for HTML on a pod's
// container or RDF document (Solid Protocol §5.2 leaves the HTML
// representation to the server; Node Solid Server serves the same one),
// and the assets the page loads, from Kluis itself, so that no third
// party learns which pods a person opens.
//
// The assets are the files of mashlib's npm release, pinned in
// mashlib/PIN (version and the tarball's integrity hash) and embedded in
// the binary, about 4 MB, 1 MB when sent gzipped: `go run .` needs
// nothing but Go. `go run ./server/databrowser/update -version V` moves
// the pin and rewrites the folder; `-check` (run by CI) fails when the
// folder differs from the release by a byte. A hoster may serve another
// copy instead: a folder holding a mashlib build, or the URL of one.
//
// The one change made to the release is made while serving: mashlib's
// webpack runtime loads its chunks, images and worker from "/" (its
// public path), which in Kluis is no place of the data browser's (in
// subdomain mode it is the pod's own root); the entry script's public
// path is set to the assets' folder. A hoster's build made with
// PUBLIC_PATH=<folder> needs no change and gets none.
//
// The page has a Content-Security-Policy that allows what the data
// browser loads and nothing more: its own scripts (the page's inline
// start-up script by its hash), styles (inline styles too: the widgets
// set style attributes), images and data from anywhere over https (it
// is a linked-data browser: it follows links to other pods and WebIDs),
// a worker of its own origin, and no plugins, no base URL change, no
// framing by other sites. Uploaded HTML and SVG in a pod are still
// served as themselves with "Content-Security-Policy: sandbox", in an
// opaque origin, never with the data browser's rights.
//
// Like every audience's subpackage it may import echo, server/problem
// and server/request; never package server or another audience.
package databrowser

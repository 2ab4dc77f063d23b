package archive

import (
	"mime"
	"strings"
)

// cssTypes maps file extensions to the media types CSS gives them (the
// mime-db table it uses, for the common types, and CSS's own for .acl and
// .meta).
func cssTypes() map[string]string {
	return map[string]string{
		"acl": "text/turtle", "meta": "text/turtle",
		"ttl": "text/turtle", "n3": "text/n3", "nt": "application/n-triples",
		"nq": "application/n-quads", "trig": "application/trig",
		"jsonld": "application/ld+json", "json": "application/json",
		"rdf": "application/rdf+xml", "owl": "application/rdf+xml",
		"sparql": "application/sparql-query", "shex": "text/shex",
		"html": "text/html", "htm": "text/html", "xhtml": "application/xhtml+xml",
		"txt": "text/plain", "text": "text/plain", "log": "text/plain",
		"md": "text/markdown", "markdown": "text/markdown",
		"csv": "text/csv", "tsv": "text/tab-separated-values",
		"xml": "application/xml", "css": "text/css",
		"js": "application/javascript", "mjs": "application/javascript",
		"ics": "text/calendar", "vcf": "text/vcard",
		"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
		"gif": "image/gif", "webp": "image/webp", "avif": "image/avif",
		"svg": "image/svg+xml", "ico": "image/x-icon", "bmp": "image/bmp",
		"tif": "image/tiff", "tiff": "image/tiff", "heic": "image/heic",
		"pdf": "application/pdf", "zip": "application/zip", "gz": "application/gzip",
		"tar": "application/x-tar", "epub": "application/epub+zip",
		"mp3": "audio/mpeg", "wav": "audio/wav", "ogg": "audio/ogg",
		"oga": "audio/ogg", "m4a": "audio/mp4", "flac": "audio/x-flac",
		"mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime",
		"ogv":  "video/ogg",
		"woff": "font/woff", "woff2": "font/woff2", "ttf": "font/ttf", "otf": "font/otf",
		"wasm": "application/wasm",
		"doc":  "application/msword", "xls": "application/vnd.ms-excel",
		"ppt":  "application/vnd.ms-powerpoint",
		"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
		"odt":  "application/vnd.oasis.opendocument.text",
		"ods":  "application/vnd.oasis.opendocument.spreadsheet",
	}
}

// typeByExtension returns the media type of a lower-case file extension:
// from cssTypes, else from the system's table (mime.TypeByExtension,
// without parameters), else application/octet-stream, as CSS does for a
// file whose extension it does not know.
func typeByExtension(ext string) string {
	if ext == "" {
		return "application/octet-stream"
	}
	if t, ok := cssTypes()[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension("." + ext); t != "" {
		if mt, _, err := mime.ParseMediaType(t); err == nil {
			return strings.ToLower(mt)
		}
	}
	return "application/octet-stream"
}

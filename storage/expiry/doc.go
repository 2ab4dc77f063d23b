// Package expiry finds expiring records without reading the others, and
// lets one process of several sharing a storage do periodic work at a
// time.
//
// An Index keeps an empty marker object for each record that will expire,
// under a level named for the hour (UTC) of its expiry:
//
//	<prefix><2006-01-02T15>/<name>
//
// so that a sweep lists the hour levels (as many as the longest lifetime
// has hours, whatever the number of records) and reads only the markers of
// the hours that have begun: its work is proportional to what expired,
// not to what is stored. A marker is written before its record, so no
// stored record lacks one; a marker whose record is gone, or whose record
// now expires later (and has a marker in a later hour), is dropped when
// its hour is swept.
//
// A Lease is one object taken with a conditional write (If-None-Match
// when it is absent, If-Match on the ETag read when it has run out), held
// until a time written in it: of several processes asking at once, one
// gets it; when its holder dies, it runs out and the next asker takes it
// over.
//
// This package imports storage and nothing else of Kluis.
package expiry

//go:build race

package acl

// raceEnabled reports whether the race detector is on.
const raceEnabled = true

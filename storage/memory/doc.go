// Package memory is a storage.Backend held in the process's memory, for fast
// unit tests of the packages above storage. Nothing survives the process, and
// several processes cannot share it.
//
// It imports only the standard library and storage.
package memory

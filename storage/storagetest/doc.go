// Package storagetest is the one conformance suite that every
// storage.Backend passes. A backend's test calls it in a line:
//
//	func TestConformance(t *testing.T) { storagetest.Run(t, newBackend) }
//
// The suite checks key validation, not-found handling, byte-exact content,
// ranges, metadata, direct-children listing, streaming with bounded memory,
// conditional writes racing from many goroutines, context cancellation, and
// finally that it left nothing behind. Bench measures Put and Get.
//
// It imports only the standard library and storage.
package storagetest

package notify

import "runtime"

// runtimeGosched yields to the goroutines under test while a test waits
// for them, without sleeping.
func runtimeGosched() { runtime.Gosched() }

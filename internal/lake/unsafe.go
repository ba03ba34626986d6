package lake

import "unsafe"

// unsafeString views b as a string without copying; b is not modified
// while the string is in use.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

package lake

import "unsafe"

// unsafeBytes views s as bytes without copying; the writer only reads them.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

//go:build race

package server

// raceOn: the race detector multiplies memory, so RSS bounds are not
// measured under it.
const raceOn = true

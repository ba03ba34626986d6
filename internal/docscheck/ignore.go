package docscheck

import (
	"path"
	"strings"
)

// Ignored reports whether a top-level name of the repository (a
// directory when dir) matches a pattern of gitignore, the text of its
// .gitignore. It knows the forms a top-level check needs: an optional
// leading / (anchored), an optional trailing / (directories only) and
// globs; negations and patterns with inner slashes match nothing here.
func Ignored(gitignore, name string, dir bool) bool {
	for _, p := range strings.Split(gitignore, "\n") {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "#") || strings.HasPrefix(p, "!") {
			continue
		}
		p = strings.TrimPrefix(p, "/")
		if d, ok := strings.CutSuffix(p, "/"); ok {
			if !dir {
				continue
			}
			p = d
		}
		if strings.Contains(p, "/") {
			continue
		}
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

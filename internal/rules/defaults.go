package rules

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
)

//go:embed defaults/*.yml
var defaultFS embed.FS

// defaultSigmaFS holds spoor's own Sigma rules for the seeds' attacks;
// OpenDir writes them under sigma/ in a rules directory it creates, where
// the Sigma loader reads them.
//
//go:embed defaults-sigma/*.yml
var defaultSigmaFS embed.FS

// defaultFiles lists the embedded default rule files, sorted.
func defaultFiles() []string {
	entries, err := fs.ReadDir(defaultFS, "defaults")
	if err != nil {
		panic(fmt.Sprintf("rules: embedded defaults: %v", err)) // embedded at build time
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// Defaults returns spoor's default ruleset, fresh copies each call: rules
// for the attacks of the seeds (EC2 metadata access, binaries run from
// /tmp, LSASS memory reads, crontab persistence, external SSH logons and
// sudo). OpenDir writes them into a rules directory it creates.
func Defaults() []*Rule {
	var out []*Rule
	for _, name := range defaultFiles() {
		text, err := defaultFS.ReadFile("defaults/" + name)
		if err != nil {
			panic(fmt.Sprintf("rules: embedded default %s: %v", name, err))
		}
		r, err := ParseRule(text, name)
		if err != nil {
			// The tests parse every default; a bad one is a build defect.
			panic(fmt.Sprintf("rules: embedded default: %v", err))
		}
		r.Source = ""
		out = append(out, r)
	}
	return out
}

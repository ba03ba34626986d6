module github.com/spoor-dev/spoor/internal/sigma/sigmagobench

go 1.26.8

require (
	github.com/bradleyjkemp/sigma-go v0.6.6
	github.com/spoor-dev/spoor v0.0.0
)

require (
	github.com/BobuSumisu/aho-corasick v1.0.3 // indirect
	github.com/PaesslerAG/gval v1.0.0 // indirect
	github.com/PaesslerAG/jsonpath v0.1.1 // indirect
	github.com/alecthomas/participle v0.7.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/valyala/fastjson v1.6.10 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace github.com/spoor-dev/spoor => ../../..

# Developer entry points. `make test` is the whole hermetic suite; `make bench`
# is the benchmark harness (docs/benchmarks.md), under 10 minutes on 2 cores.

.PHONY: test bench bench-quick

test:
	go test ./...

# BENCHFLAGS passes options through, e.g.
# make bench BENCHFLAGS='-postgres postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
bench:
	go run ./bench $(BENCHFLAGS)

# A few seconds; prints the report instead of writing it. CI can run this.
bench-quick:
	go run ./bench -quick $(BENCHFLAGS)

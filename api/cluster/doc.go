// Package cluster holds the multi-process scale-out tests: they build
// cmd/speechd, start several processes against one PostgreSQL schema and
// check that tasks complete exactly once, that results download from every
// node, and that a worker killed with SIGKILL loses nothing. The package has
// no code of its own; see cluster_test.go and docs/scale-out.md.
package cluster

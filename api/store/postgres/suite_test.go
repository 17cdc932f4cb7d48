package postgres_test

import (
	"testing"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/postgres/pgtest"
	"github.com/distributeai/asyncspeech/api/store/storetest"
)

// TestStoreSuite runs the shared store suite, each case on a fresh schema.
func TestStoreSuite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, pgtest.URL(t))
	})
}

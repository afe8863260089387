package seal_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gitbook-login/lambda-oauth/shared/seal"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
)

// The call counts below are the figures the package documentation promises:
// one GenerateDataKey per data key and one Decrypt per data key per
// execution environment.

func TestKMSSealsReuseDataKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, endpoint string) {
		counter := newCallCounter()
		client := newClient(endpoint, counter.option)
		sealer := seal.NewKMS(client, createKey(t, client), seal.KMSOptions{})

		for i := range 100 {
			sealed := mustSeal(t, sealer, "token", fmt.Sprint("record ", i))
			mustOpen(t, sealer, sealed, fmt.Sprint("record ", i), "token")
		}

		if n := counter.count("GenerateDataKey"); n != 1 {
			t.Errorf("GenerateDataKey calls for 100 seals = %d, want 1", n)
		}

		if n := counter.count("Decrypt"); n != 0 {
			t.Errorf("Decrypt calls for opens in the sealing environment = %d, want 0", n)
		}
	})
}

func TestKMSOpensReuseDataKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, endpoint string) {
		client := newClient(endpoint)
		keyARN := createKey(t, client)
		sealer := seal.NewKMS(client, keyARN, seal.KMSOptions{})

		sealed := make([][]byte, 1000)
		for i := range sealed {
			sealed[i] = mustSeal(t, sealer, "token", fmt.Sprint("record ", i))
		}

		// A fresh sealer is another execution environment, for example the
		// account function after the callback function sealed the tokens.
		counter := newCallCounter()
		opener := seal.NewKMS(newClient(endpoint, counter.option), keyARN, seal.KMSOptions{})

		for i, value := range sealed {
			mustOpen(t, opener, value, fmt.Sprint("record ", i), "token")
		}

		if n := counter.count("Decrypt"); n != 1 {
			t.Errorf("Decrypt calls for 1,000 opens of one data key = %d, want 1", n)
		}

		if n := counter.count("GenerateDataKey"); n != 0 {
			t.Errorf("GenerateDataKey calls for opens = %d, want 0", n)
		}
	})
}

func TestKMSMaxSealsRotatesDataKey(t *testing.T) {
	counter := newCallCounter()
	client := newClient(testservers.LocalKMS(t), counter.option)
	sealer := seal.NewKMS(client, createKey(t, client), seal.KMSOptions{MaxSeals: 10})

	wrappedKeys := make(map[string]int)
	for i := range 25 {
		sealed := mustSeal(t, sealer, "token", "record")
		mustOpen(t, sealer, sealed, "record", "token")

		_, wrappedKey, err := seal.EnvelopeKeys(sealed)
		if err != nil {
			t.Fatalf("seal %d: parse envelope: %v", i, err)
		}

		wrappedKeys[string(wrappedKey)]++
	}

	if n := counter.count("GenerateDataKey"); n != 3 {
		t.Errorf("GenerateDataKey calls for 25 seals with MaxSeals 10 = %d, want 3", n)
	}

	for _, seals := range wrappedKeys {
		if seals > 10 {
			t.Errorf("one data key sealed %d values, want at most 10", seals)
		}
	}
}

func TestKMSMaxAgeRotatesDataKey(t *testing.T) {
	counter := newCallCounter()
	client := newClient(testservers.LocalKMS(t), counter.option)
	sealer := seal.NewKMS(client, createKey(t, client), seal.KMSOptions{})
	clock := newFakeClock()
	seal.SetClock(sealer, clock.Now)

	first := mustSeal(t, sealer, "token", "record")
	clock.Advance(seal.DefaultMaxAge - time.Nanosecond)
	second := mustSeal(t, sealer, "token", "record")

	if n := counter.count("GenerateDataKey"); n != 1 {
		t.Errorf("GenerateDataKey calls just before DefaultMaxAge = %d, want 1", n)
	}

	clock.Advance(time.Nanosecond)
	third := mustSeal(t, sealer, "token", "record")

	if n := counter.count("GenerateDataKey"); n != 2 {
		t.Errorf("GenerateDataKey calls at DefaultMaxAge = %d, want 2", n)
	}

	if !bytes.Equal(wrappedKeyOf(t, first), wrappedKeyOf(t, second)) {
		t.Error("a seal before DefaultMaxAge used a new data key")
	}

	if bytes.Equal(wrappedKeyOf(t, second), wrappedKeyOf(t, third)) {
		t.Error("a seal at DefaultMaxAge reused the old data key")
	}

	mustOpen(t, sealer, first, "record", "token")
	mustOpen(t, sealer, third, "record", "token")
}

func TestKMSOpenCacheMaxAge(t *testing.T) {
	endpoint := testservers.LocalKMS(t)
	client := newClient(endpoint)
	keyARN := createKey(t, client)
	sealed := mustSeal(t, seal.NewKMS(client, keyARN, seal.KMSOptions{}), "token", "record")

	counter := newCallCounter()
	opener := seal.NewKMS(newClient(endpoint, counter.option), keyARN, seal.KMSOptions{})
	clock := newFakeClock()
	seal.SetClock(opener, clock.Now)

	mustOpen(t, opener, sealed, "record", "token")
	clock.Advance(seal.DefaultOpenMaxAge - time.Nanosecond)
	mustOpen(t, opener, sealed, "record", "token")

	if n := counter.count("Decrypt"); n != 1 {
		t.Errorf("Decrypt calls just before DefaultOpenMaxAge = %d, want 1", n)
	}

	clock.Advance(time.Nanosecond)
	mustOpen(t, opener, sealed, "record", "token")

	if n := counter.count("Decrypt"); n != 2 {
		t.Errorf("Decrypt calls at DefaultOpenMaxAge = %d, want 2", n)
	}
}

func TestKMSOpenCacheEvictsLeastRecentlyUsed(t *testing.T) {
	endpoint := testservers.LocalKMS(t)
	client := newClient(endpoint)
	keyARN := createKey(t, client)

	// MaxSeals 1 gives every value its own data key.
	sealer := seal.NewKMS(client, keyARN, seal.KMSOptions{MaxSeals: 1})
	values := [][]byte{
		mustSeal(t, sealer, "token 0", "record"),
		mustSeal(t, sealer, "token 1", "record"),
		mustSeal(t, sealer, "token 2", "record"),
	}

	counter := newCallCounter()
	opener := seal.NewKMS(newClient(endpoint, counter.option), keyARN, seal.KMSOptions{OpenCacheSize: 2})

	steps := []struct {
		open      int
		decrypted int // Decrypt calls so far
	}{
		{open: 0, decrypted: 1},
		{open: 1, decrypted: 2},
		{open: 0, decrypted: 2}, // cached; 1 is now least recently used
		{open: 2, decrypted: 3}, // evicts 1
		{open: 0, decrypted: 3},
		{open: 2, decrypted: 3},
		{open: 1, decrypted: 4},
	}

	for i, step := range steps {
		mustOpen(t, opener, values[step.open], "record", fmt.Sprint("token ", step.open))

		if n := counter.count("Decrypt"); n != step.decrypted {
			t.Fatalf("step %d (open value %d): Decrypt calls = %d, want %d", i, step.open, n, step.decrypted)
		}
	}
}

func TestKMSConcurrentColdStart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, endpoint string) {
		counter := newCallCounter()
		client := newClient(endpoint, counter.option)
		keyARN := createKey(t, client)

		sealer := seal.NewKMS(client, keyARN, seal.KMSOptions{})
		sealed := runConcurrently(t, 32, func(i int) ([]byte, error) {
			return sealer.Seal(context.Background(), []byte("token"), []byte("record"))
		})

		if n := counter.count("GenerateDataKey"); n != 1 {
			t.Errorf("GenerateDataKey calls for 32 concurrent seals on a fresh sealer = %d, want 1", n)
		}

		opener := seal.NewKMS(client, keyARN, seal.KMSOptions{})
		runConcurrently(t, 32, func(i int) ([]byte, error) {
			return opener.Open(context.Background(), sealed[0], []byte("record"))
		})

		if n := counter.count("Decrypt"); n != 1 {
			t.Errorf("Decrypt calls for 32 concurrent opens on a fresh sealer = %d, want 1", n)
		}
	})
}

// runConcurrently starts n calls of fn at once and returns their results.
func runConcurrently(t *testing.T, n int, fn func(i int) ([]byte, error)) [][]byte {
	t.Helper()

	var (
		start   = make(chan struct{})
		wg      sync.WaitGroup
		results = make([][]byte, n)
		errs    = make([]error, n)
	)

	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = fn(i)
		})
	}

	close(start)
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}

	return results
}

func wrappedKeyOf(t *testing.T, sealed []byte) []byte {
	t.Helper()

	_, wrappedKey, err := seal.EnvelopeKeys(sealed)
	if err != nil {
		t.Fatalf("parse envelope: %v", err)
	}

	return wrappedKey
}

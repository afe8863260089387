package seal_test

import (
	"context"
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/seal"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
)

// typicalToken is about the size of the OAuth token JSON that the callback
// seals: an access token, a refresh token, the type and the expiry.
var typicalToken = []byte(`{"access_token":"gb_at_4f9c2d7e81a34b6f9e0c5d2a7b8e1f3c6d9a0b4e7f2c5d8a1b3e6f9c2d5a8b1e4",` +
	`"token_type":"Bearer","refresh_token":"gb_rt_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b",` +
	`"expiry":"2030-01-01T01:00:00Z"}`)

// typicalRecord is the associated data: a base64url SHA-256 session key.
var typicalRecord = []byte("session#n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg")

func BenchmarkLocalSeal(b *testing.B) {
	benchmarkSeal(b, newLocal(b))
}

func BenchmarkLocalOpen(b *testing.B) {
	benchmarkOpen(b, newLocal(b))
}

// The KMS benchmarks run with a warm cache: after the warm-up seal the only
// KMS calls are the new data keys that DefaultMaxSeals requires, one per
// 2^20 seals, which the kms-calls metric shows.

func BenchmarkKMSSealWarm(b *testing.B) {
	sealer, counter := newBenchmarkKMS(b)
	mustSeal(b, sealer, "warm up", "record")

	seals := benchmarkSeal(b, sealer)
	reportKMSCalls(b, counter, 1, (1+seals)/seal.DefaultMaxSeals)
}

func BenchmarkKMSOpenWarm(b *testing.B) {
	sealer, counter := newBenchmarkKMS(b)
	mustSeal(b, sealer, "warm up", "record")

	benchmarkOpen(b, sealer)
	reportKMSCalls(b, counter, 1, 0)
}

func newBenchmarkKMS(b *testing.B) (*seal.KMS, *callCounter) {
	counter := newCallCounter()
	client := newClient(testservers.LocalKMS(b), counter.option)

	return seal.NewKMS(client, createKey(b, client), seal.KMSOptions{}), counter
}

// benchmarkSeal returns the number of seals it made.
func benchmarkSeal(b *testing.B, sealer seal.Sealer) int {
	ctx := context.Background()
	b.SetBytes(int64(len(typicalToken)))
	b.ReportAllocs()

	seals := 0
	for b.Loop() {
		if _, err := sealer.Seal(ctx, typicalToken, typicalRecord); err != nil {
			b.Fatalf("Seal: %v", err)
		}

		seals++
	}

	return seals
}

func benchmarkOpen(b *testing.B, sealer seal.Sealer) {
	ctx := context.Background()
	sealed, err := sealer.Seal(ctx, typicalToken, typicalRecord)
	if err != nil {
		b.Fatalf("Seal: %v", err)
	}

	b.SetBytes(int64(len(typicalToken)))
	b.ReportAllocs()

	for b.Loop() {
		if _, err := sealer.Open(ctx, sealed, typicalRecord); err != nil {
			b.Fatalf("Open: %v", err)
		}
	}
}

// reportKMSCalls reports the KMS calls made by the timed loop, excluding the
// warm-up calls, and fails when there were more than want.
func reportKMSCalls(b *testing.B, counter *callCounter, warmUp, want int) {
	calls := counter.count("GenerateDataKey") + counter.count("Decrypt") - warmUp
	b.ReportMetric(float64(calls), "kms-calls")

	if calls != want {
		b.Errorf("%d KMS calls during a warm benchmark, want %d", calls, want)
	}
}

package seal_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/seal"
)

// fuzzKey is a fixed local key, so the valid value below and the corpus in
// testdata stay valid from run to run. It protects nothing.
var fuzzKey = func() []byte {
	key := make([]byte, seal.LocalKeySize)
	for i := range key {
		key[i] = byte(i)
	}
	return key
}()

// fuzzSealed is `{"access_token":"fuzz-token"}` sealed under fuzzKey with
// the associated data fuzzRecord.
const (
	fuzzSealed = "011c6ed05731f06d337fa338d596bf73d6e43ebf919a82648a85cbcfcfc0194c3b21f7435357742e942e20dc01a6ed751ac2d7c9ac9bd0a8d797f3e4"
	fuzzRecord = "session#fixed"
)

// FuzzLocalOpen opens fuzzed values with the local sealer. It must never
// panic and must wrap ErrOpen in every failure. It must open only the value
// sealed for this test, with its own associated data, so a value with any
// byte changed, cut or added, or moved to another record, fails.
func FuzzLocalOpen(f *testing.F) {
	local, err := seal.NewLocal(fuzzKey)
	if err != nil {
		f.Fatalf("NewLocal: %v", err)
	}
	// Only a fixed value counts as valid: the fuzzer runs this setup in
	// each worker process, so a value sealed here would differ per worker.
	fixed, _ := hex.DecodeString(fuzzSealed)
	mustOpen(f, local, fixed, fuzzRecord, `{"access_token":"fuzz-token"}`)
	valid := [][]byte{fixed}

	for _, v := range valid {
		f.Add(v, fuzzRecord)
		f.Add(v[:len(v)-1], fuzzRecord)
		f.Add(append(bytes.Clone(v), 0), fuzzRecord)
		f.Add(v, "session#other")
	}
	f.Add([]byte{}, fuzzRecord)
	f.Add([]byte{0x02, 0, 1, 'a', 0, 1, 'b'}, fuzzRecord)

	f.Fuzz(func(t *testing.T, sealed []byte, record string) {
		plaintext, err := local.Open(context.Background(), sealed, []byte(record))
		if err != nil {
			if !errors.Is(err, seal.ErrOpen) {
				t.Fatalf("Open error %v does not wrap ErrOpen", err)
			}
			return
		}

		if record != fuzzRecord {
			t.Fatalf("opened a value with associated data %q, want only %q", record, fuzzRecord)
		}
		for _, v := range valid {
			if bytes.Equal(sealed, v) {
				return
			}
		}
		t.Fatalf("opened a value this test never sealed: %x -> %q", sealed, plaintext)
	})
}

// FuzzParseEnvelope splits fuzzed KMS envelopes. It must never panic, must
// wrap ErrOpen in every failure, and every accepted envelope must start
// with exactly the header its fields describe, within the AWS size limits.
func FuzzParseEnvelope(f *testing.F) {
	f.Add(kmsEnvelope("arn:aws:kms:us-east-1:111122223333:key/1", []byte("wrapped"), 28))
	f.Add(kmsEnvelope("arn", []byte{1}, 27))
	f.Add([]byte{0x02})
	f.Add([]byte{0x02, 0xff, 0xff})
	f.Add([]byte{0x01, 0, 0})

	f.Fuzz(func(t *testing.T, sealed []byte) {
		keyARN, wrappedKey, err := seal.EnvelopeKeys(sealed)
		if err != nil {
			if !errors.Is(err, seal.ErrOpen) {
				t.Fatalf("EnvelopeKeys error %v does not wrap ErrOpen", err)
			}
			return
		}

		if keyARN == "" || len(keyARN) > 2048 {
			t.Fatalf("accepted a key ARN of %d bytes", len(keyARN))
		}
		if len(wrappedKey) == 0 || len(wrappedKey) > 6144 {
			t.Fatalf("accepted a wrapped key of %d bytes", len(wrappedKey))
		}
		header := kmsEnvelope(keyARN, wrappedKey, 0)
		if !bytes.HasPrefix(sealed, header) {
			t.Fatalf("envelope %x does not start with the header of its fields %x", sealed, header)
		}
		if len(sealed)-len(header) < 12+16 {
			t.Fatalf("accepted %d bytes after the header, too few for a nonce and a tag", len(sealed)-len(header))
		}
	})
}

// kmsEnvelope builds a KMS envelope header for keyARN and wrappedKey,
// followed by payloadLength zero bytes.
func kmsEnvelope(keyARN string, wrappedKey []byte, payloadLength int) []byte {
	b := []byte{0x02}
	b = binary.BigEndian.AppendUint16(b, uint16(len(keyARN)))
	b = append(b, keyARN...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(wrappedKey)))
	b = append(b, wrappedKey...)
	return append(b, make([]byte, payloadLength)...)
}

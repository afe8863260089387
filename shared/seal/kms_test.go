package seal_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gitbook-login/lambda-oauth/shared/seal"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
)

func TestKMSRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, endpoint string) {
		client := newClient(endpoint)
		keyARN := createKey(t, client)
		sealer := seal.NewKMS(client, keyARN, seal.KMSOptions{})

		for _, plaintext := range []string{"", "t", strings.Repeat("token ", 1000)} {
			sealed := mustSeal(t, sealer, plaintext, "session#abc")

			mustOpen(t, sealer, sealed, "session#abc", plaintext)
			mustOpen(t, seal.NewKMS(client, keyARN, seal.KMSOptions{}), sealed, "session#abc", plaintext)
		}
	})
}

func TestKMSEnvelopeNamesKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, endpoint string) {
		client := newClient(endpoint)
		keyARN := createKey(t, client)
		sealer := seal.NewKMS(client, keyARN, seal.KMSOptions{})

		first := mustSeal(t, sealer, "token", "record")
		second := mustSeal(t, sealer, "token", "record")

		if first[0] != 0x02 {
			t.Errorf("format byte is 0x%02x, want 0x02", first[0])
		}

		gotARN, firstWrapped, err := seal.EnvelopeKeys(first)
		if err != nil {
			t.Fatalf("parse envelope: %v", err)
		}

		if gotARN != keyARN {
			t.Errorf("envelope names KMS key %q, want %q", gotARN, keyARN)
		}

		_, secondWrapped, err := seal.EnvelopeKeys(second)
		if err != nil {
			t.Fatalf("parse envelope: %v", err)
		}

		if !bytes.Equal(firstWrapped, secondWrapped) {
			t.Error("two seals in a row used different data keys; the current data key is not reused")
		}

		if bytes.Equal(first, second) {
			t.Error("two seals of the same plaintext are equal; the nonce is not random")
		}
	})
}

func TestKMSOpenRejectsTampering(t *testing.T) {
	forEachBackend(t, func(t *testing.T, endpoint string) {
		client := newClient(endpoint)
		keyARN := createKey(t, client)
		sealer := seal.NewKMS(client, keyARN, seal.KMSOptions{})
		sealed := mustSeal(t, sealer, "token", "record")
		_, wrappedKey, err := seal.EnvelopeKeys(sealed)
		if err != nil {
			t.Fatalf("parse envelope: %v", err)
		}

		wrappedAt := bytes.Index(sealed, wrappedKey)
		arnAt := bytes.Index(sealed, []byte(keyARN))

		cases := []struct {
			name    string
			at      int
			mask    byte // bits to flip; 0 means 0x01
			fresh   bool // open with a sealer that has no cached data key
			message string
		}{
			{name: "tag", at: len(sealed) - 1, message: "authentication failed"},
			{name: "ciphertext", at: len(sealed) - 17, message: "authentication failed"},
			{name: "nonce", at: wrappedAt + len(wrappedKey), message: "authentication failed"},
			{name: "wrapped key tag", at: wrappedAt + len(wrappedKey) - 1, fresh: true, message: "KMS rejected the wrapped data key"},
			{name: "key ARN with cached data key", at: arnAt + len(keyARN) - 1, message: "authentication failed"},
			{name: "format", at: 0, message: "format"},
			{name: "length prefix", at: 1, mask: 0x80, message: "truncated or invalid"},
		}

		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				mask := tc.mask
				if mask == 0 {
					mask = 0x01
				}

				altered := bytes.Clone(sealed)
				altered[tc.at] ^= mask

				opener := sealer
				if tc.fresh {
					opener = seal.NewKMS(client, keyARN, seal.KMSOptions{})
				}

				_, err := opener.Open(context.Background(), altered, []byte("record"))
				if !errors.Is(err, seal.ErrOpen) {
					t.Fatalf("error %v, want ErrOpen", err)
				}

				if !strings.Contains(err.Error(), tc.message) {
					t.Errorf("error %q does not contain %q", err, tc.message)
				}
			})
		}
	})
}

func TestKMSOpenRejectsKeyARNSwap(t *testing.T) {
	// Real KMS rejects a Decrypt whose KeyId is not the key of the
	// ciphertext with IncorrectKeyException, which Open turns into ErrOpen.
	// local-kms tries the named key and returns InvalidCiphertextException.
	// moto 5.2.1 returns AccessDeniedException instead, which Open treats as
	// an outage that an operator can fix (key policy), not as tampering.
	want := map[string]error{"local-kms": seal.ErrOpen, "moto": seal.ErrUnavailable}

	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			client := newClient(b.endpoint(t))
			keyA, keyB := createKey(t, client), createKey(t, client)
			sealed := mustSeal(t, seal.NewKMS(client, keyA, seal.KMSOptions{}), "token", "record")

			// Both ARNs differ only in the key UUID, so the lengths match and
			// the envelope stays well-formed.
			swapped := bytes.Replace(sealed, []byte(keyA), []byte(keyB), 1)
			if bytes.Equal(swapped, sealed) || len(keyA) != len(keyB) {
				t.Fatalf("could not put key B %q in place of key A %q", keyB, keyA)
			}

			_, err := seal.NewKMS(client, keyB, seal.KMSOptions{}).Open(context.Background(), swapped, []byte("record"))
			if !errors.Is(err, want[b.name]) {
				t.Fatalf("Open of a value that names another KMS key: error %v, want %v", err, want[b.name])
			}
		})
	}
}

func TestKMSOpenRejectsRecordSwap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, endpoint string) {
		client := newClient(endpoint)
		keyARN := createKey(t, client)
		sealer := seal.NewKMS(client, keyARN, seal.KMSOptions{})
		sealed := mustSeal(t, sealer, "token", "session#one")

		for _, opener := range []*seal.KMS{sealer, seal.NewKMS(client, keyARN, seal.KMSOptions{})} {
			_, err := opener.Open(context.Background(), sealed, []byte("session#two"))
			if !errors.Is(err, seal.ErrOpen) {
				t.Fatalf("Open with other associated data: error %v, want ErrOpen", err)
			}

			if !strings.Contains(err.Error(), "belongs to another record") {
				t.Errorf("error %q does not name the record mismatch", err)
			}
		}
	})
}

func TestKMSOpenRejectsOtherEncryptionContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, endpoint string) {
		client := newClient(endpoint)
		keyARN := createKey(t, client)
		sealed := mustSeal(t, seal.NewKMS(client, keyARN, seal.KMSOptions{}), "token", "record")

		other := seal.NewKMS(client, keyARN, seal.KMSOptions{
			EncryptionContext: map[string]string{"purpose": "gitbook-token", "format": "v2"},
		})

		_, err := other.Open(context.Background(), sealed, []byte("record"))
		if !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("Open with another encryption context: error %v, want ErrOpen", err)
		}

		if errors.Is(err, seal.ErrUnavailable) {
			t.Errorf("error %v wraps ErrUnavailable; a rejected context is not an outage", err)
		}

		if !strings.Contains(err.Error(), "encryption context differs") {
			t.Errorf("error %q does not name the encryption context", err)
		}
	})
}

func TestKMSOpenRejectsLocalFormat(t *testing.T) {
	client := newClient(testservers.LocalKMS(t))
	sealer := seal.NewKMS(client, createKey(t, client), seal.KMSOptions{})
	sealed := mustSeal(t, newLocal(t), "token", "record")

	_, err := sealer.Open(context.Background(), sealed, []byte("record"))
	if !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("error %v, want ErrOpen", err)
	}

	if !strings.Contains(err.Error(), "local key v1") {
		t.Errorf("error %q does not name the local format", err)
	}
}

func TestKMSRotationToNewKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, endpoint string) {
		client := newClient(endpoint)
		keyA, keyB := createKey(t, client), createKey(t, client)

		oldSealed := mustSeal(t, seal.NewKMS(client, keyA, seal.KMSOptions{}), "old token", "record")

		// A new deployment with KMS_KEY_ID changed to key B.
		counter := newCallCounter()
		rotated := seal.NewKMS(newClient(endpoint, counter.option), keyB, seal.KMSOptions{})

		mustOpen(t, rotated, oldSealed, "record", "old token")
		newSealed := mustSeal(t, rotated, "new token", "record")

		gotARN, _, err := seal.EnvelopeKeys(newSealed)
		if err != nil {
			t.Fatalf("parse envelope: %v", err)
		}

		if gotARN != keyB {
			t.Errorf("new value names KMS key %q, want key B %q", gotARN, keyB)
		}

		mustOpen(t, seal.NewKMS(client, keyA, seal.KMSOptions{}), newSealed, "record", "new token")

		if n := counter.count("Decrypt"); n != 1 {
			t.Errorf("Decrypt calls = %d, want 1", n)
		}
	})
}

func TestKMSRotationThroughAlias(t *testing.T) {
	forEachBackend(t, func(t *testing.T, endpoint string) {
		client := newClient(endpoint)
		keyA, keyB := createKey(t, client), createKey(t, client)
		alias := createAlias(t, client, keyA)

		oldSealed := mustSeal(t, seal.NewKMS(client, alias, seal.KMSOptions{}), "old token", "record")

		_, err := client.UpdateAlias(context.Background(), &kms.UpdateAliasInput{
			AliasName:   aws.String(alias),
			TargetKeyId: aws.String(keyB),
		})
		if err != nil {
			t.Fatalf("UpdateAlias: %v", err)
		}

		rotated := seal.NewKMS(client, alias, seal.KMSOptions{})
		mustOpen(t, rotated, oldSealed, "record", "old token")

		oldARN, _, err := seal.EnvelopeKeys(oldSealed)
		if err != nil {
			t.Fatalf("parse envelope: %v", err)
		}

		newARN, _, err := seal.EnvelopeKeys(mustSeal(t, rotated, "new token", "record"))
		if err != nil {
			t.Fatalf("parse envelope: %v", err)
		}

		if oldARN != keyA {
			t.Errorf("value sealed through the alias names %q, want the ARN of key A %q", oldARN, keyA)
		}

		if newARN != keyB {
			t.Errorf("value sealed after the alias moved names %q, want key B %q", newARN, keyB)
		}
	})
}

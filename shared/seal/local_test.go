package seal_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/seal"
)

func randomKey() []byte {
	key := make([]byte, seal.LocalKeySize)
	rand.Read(key)

	return key
}

func newLocal(t testing.TB) *seal.Local {
	t.Helper()

	local, err := seal.NewLocal(randomKey())
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}

	return local
}

func TestLocalRoundTrip(t *testing.T) {
	local := newLocal(t)

	for _, plaintext := range []string{"", "t", strings.Repeat("token ", 1000)} {
		sealed := mustSeal(t, local, plaintext, "session#abc")
		mustOpen(t, local, sealed, "session#abc", plaintext)
	}
}

func TestLocalSealUsesFreshNonce(t *testing.T) {
	local := newLocal(t)

	first := mustSeal(t, local, "same token", "record")
	second := mustSeal(t, local, "same token", "record")

	if bytes.Equal(first, second) {
		t.Fatal("two seals of the same plaintext are equal; the nonce is not random")
	}
}

func TestLocalOpenRejectsEveryAlteredByte(t *testing.T) {
	local := newLocal(t)
	sealed := mustSeal(t, local, "token", "record")

	for i := range sealed {
		altered := bytes.Clone(sealed)
		altered[i] ^= 0x01

		_, err := local.Open(context.Background(), altered, []byte("record"))
		if !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("Open with byte %d altered: error %v, want ErrOpen", i, err)
		}
	}
}

func TestLocalOpenRejectsRecordSwap(t *testing.T) {
	local := newLocal(t)
	sealed := mustSeal(t, local, "token", "session#one")

	_, err := local.Open(context.Background(), sealed, []byte("session#two"))
	if !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("Open with other associated data: error %v, want ErrOpen", err)
	}

	if !strings.Contains(err.Error(), "belongs to another record") {
		t.Errorf("error %q does not name the record mismatch", err)
	}
}

func TestLocalOpenRejectsOtherKey(t *testing.T) {
	sealed := mustSeal(t, newLocal(t), "token", "record")

	_, err := newLocal(t).Open(context.Background(), sealed, []byte("record"))
	if !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("Open under another key: error %v, want ErrOpen", err)
	}

	// One pair of random keys in 65,536 shares a key id; the value then
	// fails authentication instead, which still returns ErrOpen.
	if !strings.Contains(err.Error(), "local key id") && !strings.Contains(err.Error(), "authentication failed") {
		t.Errorf("error %q names neither the key id nor the authentication failure", err)
	}
}

func TestLocalOpenRejectsMalformed(t *testing.T) {
	local := newLocal(t)
	sealed := mustSeal(t, local, "token", "record")

	cases := map[string][]byte{
		"empty":        nil,
		"header only":  sealed[:3],
		"no tag":       sealed[:3+12+4],
		"KMS envelope": append([]byte{0x02}, sealed[1:]...),
		"future":       append([]byte{0x7f}, sealed[1:]...),
	}

	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := local.Open(context.Background(), value, []byte("record"))
			if !errors.Is(err, seal.ErrOpen) {
				t.Fatalf("error %v, want ErrOpen", err)
			}
		})
	}
}

func TestLocalOpenNamesKMSFormat(t *testing.T) {
	local := newLocal(t)
	sealed := mustSeal(t, local, "token", "record")
	sealed[0] = 0x02

	_, err := local.Open(context.Background(), sealed, []byte("record"))
	if err == nil || !strings.Contains(err.Error(), "KMS envelope v1") {
		t.Fatalf("error %v does not name the KMS envelope format", err)
	}
}

func TestNewLocalRejectsKeySize(t *testing.T) {
	for _, size := range []int{0, 16, 31, 33, 64} {
		_, err := seal.NewLocal(make([]byte, size))
		if err == nil {
			t.Errorf("NewLocal accepted a %d-byte key", size)
		}
	}
}

func TestNewLocalCopiesKey(t *testing.T) {
	key := randomKey()
	local, err := seal.NewLocal(key)
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}

	sealed := mustSeal(t, local, "token", "record")
	clear(key)

	mustOpen(t, local, sealed, "record", "token")
}

func TestDecodeLocalKey(t *testing.T) {
	key := randomKey()

	for _, encoding := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		decoded, err := seal.DecodeLocalKey(" " + encoding.EncodeToString(key) + "\n")
		if err != nil {
			t.Fatalf("DecodeLocalKey: %v", err)
		}

		if !bytes.Equal(decoded, key) {
			t.Fatalf("DecodeLocalKey returned another key")
		}
	}
}

func TestDecodeLocalKeyRejectsInvalid(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	cases := map[string]string{
		"empty":      "",
		"not base64": "not*base64*at*all",
		"16 bytes":   short,
	}

	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := seal.DecodeLocalKey(value)
			if err == nil {
				t.Fatal("DecodeLocalKey accepted the value")
			}

			if value != "" && strings.Contains(err.Error(), value) {
				t.Errorf("error %q contains the key value", err)
			}
		})
	}
}

func TestLocalPrintHidesKey(t *testing.T) {
	key := randomKey()
	local, err := seal.NewLocal(key)
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}

	printed := fmt.Sprintf("%v %+v %s", local, local, local)
	if strings.Contains(printed, hex.EncodeToString(key)) || strings.Contains(printed, base64.StdEncoding.EncodeToString(key)) {
		t.Errorf("printed sealer %q contains the key", printed)
	}
}

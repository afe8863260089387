package store_test

import (
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/store"
)

func TestKeyKnownValues(t *testing.T) {
	cases := map[string]string{
		// SHA-256 test vectors from FIPS 180-2, in base64url without padding.
		"":    "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
		"abc": "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0",
	}

	for secret, want := range cases {
		if got := store.Key(secret); got != want {
			t.Errorf("Key(%q) = %q, want %q", secret, got, want)
		}
	}
}

func TestKeyDistinct(t *testing.T) {
	if store.Key("a") == store.Key("b") {
		t.Error("Key(a) equals Key(b)")
	}

	if got := len(store.Key("any secret")); got != 43 {
		t.Errorf("len(Key) = %d, want 43", got)
	}
}

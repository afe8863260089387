package store

import (
	"crypto/sha256"
	"encoding/base64"
)

// Key prefixes keep records of different kinds apart, so a session id that
// happens to equal a state value can never reach the state's record.
const (
	prefixState   = "state#"
	prefixSession = "session#"
	prefixHandoff = "handoff#"
)

// Key returns the record key for a secret: the SHA-256 of the secret,
// base64url-encoded without padding (43 characters). Records are stored
// under this hash, so a copy of the table reveals no usable secret.
func Key(secret string) string {
	sum := sha256.Sum256([]byte(secret))

	return base64.RawURLEncoding.EncodeToString(sum[:])
}

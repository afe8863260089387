// Package seal encrypts provider tokens before they are stored, with an AEAD
// whose associated data binds each ciphertext to the record that holds it.
package seal

import (
	"context"
	"errors"
)

// ErrOpen means a sealed value failed to open: it was tampered with, moved to
// another record, or sealed under a key this configuration does not have.
var ErrOpen = errors.New("seal: sealed value failed to open")

// Sealer seals and opens values. The associated data (the record key) is
// authenticated but not stored in the output.
type Sealer interface {
	Seal(ctx context.Context, plaintext, associatedData []byte) ([]byte, error)
	Open(ctx context.Context, sealed, associatedData []byte) ([]byte, error)
}

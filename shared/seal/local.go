package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// LocalKeySize is the size of a local key in bytes (AES-256).
const LocalKeySize = 32

// Local seals with one AES-256-GCM key taken from configuration
// (TOKEN_ENCRYPTION_KEY). It makes no network call. It is meant for local
// runs and tests; production uses KMS, which keeps the root key out of the
// function's configuration.
//
// Every value carries a 16-bit key id derived from the key, so a value sealed
// under another key fails with an error that names the key mismatch instead
// of a bare authentication failure. A random 96-bit nonce per value is safe for 2^32
// values under one key (NIST SP 800-38D).
type Local struct {
	aead   cipher.AEAD
	header [localHeaderLen]byte
}

var _ Sealer = (*Local)(nil)

// NewLocal returns a sealer for a 32-byte key. It copies the key.
func NewLocal(key []byte) (*Local, error) {
	if len(key) != LocalKeySize {
		return nil, fmt.Errorf("seal: local key is %d bytes, want %d (AES-256)", len(key), LocalKeySize)
	}

	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}

	l := &Local{aead: aead}
	l.header[0] = formatLocalV1
	binary.BigEndian.PutUint16(l.header[1:], localKeyID(key))

	return l, nil
}

// DecodeLocalKey decodes a base64 key (standard or URL alphabet, padded or
// not) as TOKEN_ENCRYPTION_KEY holds it, and checks its size. The error never
// contains the value.
func DecodeLocalKey(encoded string) ([]byte, error) {
	encoded = strings.TrimSpace(encoded)
	if encoded == "" {
		return nil, errors.New("seal: local key is empty; generate one with: openssl rand -base64 32")
	}

	encodings := []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding}
	for _, encoding := range encodings {
		key, err := encoding.DecodeString(encoded)
		if err != nil {
			continue
		}

		if len(key) != LocalKeySize {
			return nil, fmt.Errorf("seal: local key decodes to %d bytes, want %d; generate one with: openssl rand -base64 32",
				len(key), LocalKeySize)
		}

		return key, nil
	}

	return nil, errors.New("seal: local key is not valid base64; generate one with: openssl rand -base64 32")
}

// Seal encrypts plaintext and binds it to associatedData.
func (l *Local) Seal(_ context.Context, plaintext, associatedData []byte) ([]byte, error) {
	return sealWithHeader(l.aead, l.header[:], plaintext, associatedData), nil
}

// Open decrypts a value from Seal. Every failure wraps ErrOpen.
func (l *Local) Open(_ context.Context, sealed, associatedData []byte) ([]byte, error) {
	if err := checkFormat(sealed, formatLocalV1); err != nil {
		return nil, err
	}

	if len(sealed) < localHeaderLen+nonceLen+tagLen {
		return nil, fmt.Errorf("%w: the value is %d bytes, too short for a header, nonce and tag", ErrOpen, len(sealed))
	}

	header, payload := sealed[:localHeaderLen], sealed[localHeaderLen:]
	if got, want := binary.BigEndian.Uint16(header[1:]), binary.BigEndian.Uint16(l.header[1:]); got != want {
		return nil, fmt.Errorf("%w: the value was sealed under local key id %04x, but the configured key has id %04x",
			ErrOpen, got, want)
	}

	return openWithHeader(l.aead, header, payload, associatedData)
}

// String describes the sealer without key material, so that printing it by
// mistake leaks nothing.
func (l *Local) String() string {
	return fmt.Sprintf("seal.Local(key id %04x)", binary.BigEndian.Uint16(l.header[1:]))
}

// localKeyID derives a public 16-bit id from the key with a domain-separated
// SHA-256. Sixteen bits of a hash reveal nothing useful about a 256-bit key
// and tell keys apart well enough for an error message.
func localKeyID(key []byte) uint16 {
	h := sha256.New()
	h.Write([]byte("lambda-oauth seal local key id v1\x00"))
	h.Write(key)

	return binary.BigEndian.Uint16(h.Sum(nil))
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}

	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}

	return aead, nil
}

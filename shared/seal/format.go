package seal

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
)

// Sealed values start with a format byte, so each sealer can tell its own
// output from the other's and from a future format.
//
// Local format (formatLocalV1):
//
//	byte 0       0x01
//	bytes 1-2    key id, big-endian uint16 (see localKeyID)
//	bytes 3-14   random GCM nonce
//	rest         AES-256-GCM ciphertext and 16-byte tag
//
// KMS envelope format (formatKMSV1):
//
//	byte 0       0x02
//	2 bytes      length of the KMS key ARN, big-endian uint16
//	n bytes      KMS key ARN that wrapped the data key
//	2 bytes      length of the wrapped data key, big-endian uint16
//	m bytes      wrapped data key (a KMS ciphertext blob)
//	12 bytes     random GCM nonce
//	rest         AES-256-GCM ciphertext and 16-byte tag
//
// In both formats the GCM associated data is the header (every byte before
// the nonce) followed by the caller's associated data. The header is
// self-delimiting, so the concatenation is unambiguous, and changing any
// header byte makes Open fail.
const (
	formatLocalV1 byte = 0x01
	formatKMSV1   byte = 0x02
)

const (
	localHeaderLen = 3
	nonceLen       = 12
	tagLen         = 16

	// maxKeyARNLen and maxWrappedKeyLen are the limits AWS documents for a
	// KMS key ARN (2048 characters) and a KMS ciphertext blob (6144 bytes).
	maxKeyARNLen     = 2048
	maxWrappedKeyLen = 6144
)

func formatName(format byte) string {
	switch format {
	case formatLocalV1:
		return "local key v1"
	case formatKMSV1:
		return "KMS envelope v1"
	default:
		return fmt.Sprintf("unknown format 0x%02x", format)
	}
}

// envelope is a parsed KMS envelope. Its slices alias the sealed input.
type envelope struct {
	header     []byte // every byte before the nonce
	keyARN     []byte
	wrappedKey []byte
	payload    []byte // nonce, ciphertext and tag
}

func appendKMSHeader(dst []byte, keyARN string, wrappedKey []byte) []byte {
	dst = append(dst, formatKMSV1)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(keyARN)))
	dst = append(dst, keyARN...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(wrappedKey)))

	return append(dst, wrappedKey...)
}

// parseEnvelope splits a KMS envelope. Errors wrap ErrOpen, because a
// malformed value cannot open whatever the cause.
func parseEnvelope(sealed []byte) (envelope, error) {
	if err := checkFormat(sealed, formatKMSV1); err != nil {
		return envelope{}, err
	}

	rest := sealed[1:]

	keyARN, rest, ok := cutLengthPrefixed(rest, maxKeyARNLen)
	if !ok || len(keyARN) == 0 {
		return envelope{}, fmt.Errorf("%w: the KMS key ARN field is truncated or invalid", ErrOpen)
	}

	wrappedKey, rest, ok := cutLengthPrefixed(rest, maxWrappedKeyLen)
	if !ok || len(wrappedKey) == 0 {
		return envelope{}, fmt.Errorf("%w: the wrapped data key field is truncated or invalid", ErrOpen)
	}

	if len(rest) < nonceLen+tagLen {
		return envelope{}, fmt.Errorf("%w: the value is %d bytes, too short for a nonce and tag", ErrOpen, len(sealed))
	}

	env := envelope{
		header:     sealed[:len(sealed)-len(rest)],
		keyARN:     keyARN,
		wrappedKey: wrappedKey,
		payload:    rest,
	}

	return env, nil
}

func cutLengthPrefixed(b []byte, maxLen int) (field, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, nil, false
	}

	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]

	if n > maxLen || n > len(b) {
		return nil, nil, false
	}

	return b[:n], b[n:], true
}

// checkFormat reports a value that is empty or was written by another
// sealer or format version.
func checkFormat(sealed []byte, want byte) error {
	if len(sealed) == 0 {
		return fmt.Errorf("%w: the sealed value is empty", ErrOpen)
	}

	if sealed[0] != want {
		return fmt.Errorf("%w: the value has format %s, but this sealer opens %s",
			ErrOpen, formatName(sealed[0]), formatName(want))
	}

	return nil
}

// sealWithHeader returns header || nonce || ciphertext || tag, with header
// and associatedData authenticated. aead must add a random nonce itself
// (cipher.NewGCMWithRandomNonce).
func sealWithHeader(aead cipher.AEAD, header, plaintext, associatedData []byte) []byte {
	out := make([]byte, 0, len(header)+aead.Overhead()+len(plaintext))
	out = append(out, header...)

	return aead.Seal(out, nil, plaintext, additionalData(header, associatedData))
}

// openWithHeader authenticates header and associatedData and decrypts
// payload (nonce, ciphertext and tag).
func openWithHeader(aead cipher.AEAD, header, payload, associatedData []byte) ([]byte, error) {
	plaintext, err := aead.Open(nil, nil, payload, additionalData(header, associatedData))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed: the value was altered, sealed under another key, "+
			"or belongs to another record (associated data differs)", ErrOpen)
	}

	return plaintext, nil
}

func additionalData(header, associatedData []byte) []byte {
	data := make([]byte, 0, len(header)+len(associatedData))
	data = append(data, header...)

	return append(data, associatedData...)
}

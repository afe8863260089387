package seal

import "time"

// SetClock replaces the clock that the cache age limits read.
func SetClock(k *KMS, now func() time.Time) { k.now = now }

// EnvelopeKeys returns the KMS key ARN and the wrapped data key that a KMS
// envelope names.
func EnvelopeKeys(sealed []byte) (keyARN string, wrappedKey []byte, err error) {
	env, err := parseEnvelope(sealed)

	return string(env.keyARN), env.wrappedKey, err
}

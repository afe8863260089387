package seal

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
)

// ErrUnavailable means KMS could not serve a request: it was unreachable,
// throttled, timed out, failed internally, or refused the request for a
// reason an operator can fix (access denied, disabled key). The request may
// succeed later, so a handler should respond with 503, not log the visitor
// out.
var ErrUnavailable = errors.New("seal: KMS unavailable")

// kmsRejectsCiphertext lists the KMS error codes that mean this wrapped data
// key can never be decrypted as requested: it was altered, the encryption
// context differs, or it names a key that does not exist or is not an
// encryption key. Such a value is as good as tampered, so Open returns
// ErrOpen and the visitor logs in again.
var kmsRejectsCiphertext = map[string]bool{
	"InvalidCiphertextException": true,
	"IncorrectKeyException":      true,
	"InvalidKeyUsageException":   true,
	"NotFoundException":          true,
}

// decryptError classifies a failed Decrypt. Access denied and disabled keys
// are not in kmsRejectsCiphertext on purpose: they are often a policy
// mistake, and logging every visitor out cannot be undone, while a 503 ends
// when the policy is fixed.
func decryptError(err error, keyARN string) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && kmsRejectsCiphertext[apiErr.ErrorCode()] {
		return fmt.Errorf("%w: KMS rejected the wrapped data key for key %s (%s): "+
			"the encryption context differs or the value was altered", ErrOpen, keyARN, apiErr.ErrorCode())
	}

	return fmt.Errorf("%w: decrypt data key with KMS key %s: %w", ErrUnavailable, keyARN, err)
}

func generateError(err error, keyID string) error {
	return fmt.Errorf("%w: generate data key with KMS key %s: %w", ErrUnavailable, keyID, err)
}

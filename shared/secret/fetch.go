package secret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func (s *Source) fetch(ctx context.Context) (string, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.arn)})
	if err != nil {
		return "", s.fetchError(err)
	}

	if out.SecretString == nil {
		return "", fmt.Errorf("%w: secret %s has no string value (binary secrets are not supported); "+
			"store the client secret as a string or a JSON object", ErrUnavailable, s.arn)
	}

	return s.parse(*out.SecretString)
}

// fetchError wraps a failed GetSecretValue. A response that failed to decode
// is reported without its cause, because the decoder's message may quote the
// response body, which contains the value.
func (s *Source) fetchError(err error) error {
	var decodeErr *smithy.DeserializationError
	if errors.As(err, &decodeErr) {
		status := "unknown"

		var responseErr *smithyhttp.ResponseError
		if errors.As(err, &responseErr) {
			status = fmt.Sprint(responseErr.HTTPStatusCode())
		}

		return fmt.Errorf("%w: the GetSecretValue response for %s (HTTP status %s) could not be decoded",
			ErrUnavailable, s.arn, status)
	}

	return fmt.Errorf("%w: fetch secret %s from Secrets Manager: %w", ErrUnavailable, s.arn, err)
}

// parse extracts the client secret from a secret value. Its errors describe
// the problem without quoting the value or the JSON decoder's message.
func (s *Source) parse(secretString string) (string, error) {
	trimmed := strings.TrimSpace(secretString)
	if trimmed == "" {
		return "", fmt.Errorf("%w: secret %s is empty", ErrUnavailable, s.arn)
	}

	if !strings.HasPrefix(trimmed, "{") {
		return trimmed, nil
	}

	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(trimmed), &fields); err != nil {
		return "", fmt.Errorf("%w: secret %s starts with { but is not a valid JSON object; "+
			"store a JSON object with the field %q, or a plain string", ErrUnavailable, s.arn, s.field)
	}

	raw, ok := fields[s.field]
	if !ok {
		return "", fmt.Errorf("%w: JSON secret %s has no field %q; add the client secret under that field",
			ErrUnavailable, s.arn, s.field)
	}

	var value string
	if err := json.Unmarshal(raw, &value); err != nil {
		return "", fmt.Errorf("%w: field %q of JSON secret %s is not a string", ErrUnavailable, s.field, s.arn)
	}

	value = strings.TrimSpace(value)
	if value == "" {
		return "", fmt.Errorf("%w: field %q of JSON secret %s is empty", ErrUnavailable, s.field, s.arn)
	}

	return value, nil
}

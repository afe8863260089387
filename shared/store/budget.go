package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Retry and time limits of every DynamoDB call. The function timeout in
// template.yaml is 10 s, and a callback makes two store calls around a token
// exchange of up to 4 s (UPSTREAM_TIMEOUT). So one store call, retries
// included, gets at most CallBudget, and the request's own deadline cuts it
// shorter when less time is left.
const (
	// CallBudget bounds one store call including its retries. DynamoDB
	// responds in milliseconds, so a call still waiting after this long is
	// better ended with a 503 that the visitor can retry.
	CallBudget = 3 * time.Second

	// MaxAttempts is the SDK's default for DynamoDB (aws-sdk-go-v2
	// service/dynamodb v1.74): the first attempt and three retries.
	MaxAttempts = 4

	// maxBackoff caps the wait before a retry. Without it the SDK waits up
	// to 1 s, 2 s and 4 s after throttling errors, which would spend the
	// whole budget on waiting. With it, all three retries fit in CallBudget.
	maxBackoff = 300 * time.Millisecond

	// retryBaseDelay is the SDK's base delay for DynamoDB's other retryable
	// errors (5xx, dropped connections).
	retryBaseDelay = 25 * time.Millisecond
)

// withCallLimits sets the retry policy and the per-call budget above on a
// DynamoDB client. The standard retryer retries throttling errors, HTTP
// 500, 502, 503 and 504, and connection errors. It does not retry a
// conditional check failure, which the store turns into ErrExists or
// ErrNotFound.
func withCallLimits(o *dynamodb.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = MaxAttempts
		so.MaxBackoff = maxBackoff
		so.BaseDelay = retryBaseDelay
	})
	o.APIOptions = append(o.APIOptions, addCallBudget)
}

// addCallBudget puts the deadline before the retry loop, so it bounds all
// attempts and the waits between them together.
func addCallBudget(stack *middleware.Stack) error {
	budget := middleware.InitializeMiddlewareFunc("StoreCallBudget", func(
		ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler,
	) (middleware.InitializeOutput, middleware.Metadata, error) {
		ctx, cancel := context.WithTimeout(ctx, CallBudget)
		defer cancel()

		return next.HandleInitialize(ctx, in)
	})

	return stack.Initialize.Add(budget, middleware.Before)
}

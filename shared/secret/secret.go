// Package secret fetches the OAuth client secret from AWS Secrets Manager
// (GITBOOK_CLIENT_SECRET_ARN) and caches it per execution environment.
//
// The secret is fetched on the first Get, never at start-up, so a Secrets
// Manager failure fails only the requests that need the secret (the handler
// responds with 503) instead of failing the init phase in a crash loop. Cache
// limits and their reasons:
//   - DefaultRefresh (5 minutes): a fetched value is served this long before
//     the next Get fetches again. A rotated secret thus reaches every warm
//     environment within 5 minutes, and a busy environment makes at most 12
//     GetSecretValue calls an hour. The AWS Parameters and Secrets Lambda
//     Extension caches secrets for the same 300 seconds by default.
//   - StaleGrace (1 hour, a judgment rather than a measured figure): when a
//     refresh fails, the old value is served for up to this long past its
//     refresh time, so a short Secrets Manager outage does not stop logins.
//     After that Get fails, so an environment that lost access does not use
//     an old value forever.
//   - RetryInterval (30 seconds): while the old value is served, a failed
//     refresh is retried at most this often, so an outage adds no latency to
//     most requests and no call storm. Without a cached value, every Get
//     tries again, because it has nothing else to return.
//
// The value never appears in an error, a log line or the printed Source.
package secret

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// ErrUnavailable means the client secret could not be fetched or parsed. A
// handler should respond with 503 and log the error, which names what to fix.
var ErrUnavailable = errors.New("secret: client secret unavailable")

const (
	// DefaultField is the JSON field that holds the client secret when the
	// secret value is a JSON object.
	DefaultField = "client_secret"

	// Cache limits. The package documentation gives the reason for each.
	DefaultRefresh = 5 * time.Minute
	StaleGrace     = time.Hour
	RetryInterval  = 30 * time.Second

	// FetchTimeout bounds one GetSecretValue call including SDK retries.
	FetchTimeout = 5 * time.Second
)

// Source is a cached client secret. It is safe for concurrent use, and
// concurrent Gets that need a fetch share one GetSecretValue call.
type Source struct {
	client  *secretsmanager.Client
	arn     string
	field   string
	refresh time.Duration
	now     func() time.Time

	mu        sync.Mutex
	value     string // empty until the first successful fetch
	fetchedAt time.Time
	failedAt  time.Time // last failed fetch
	fetching  *fetchCall
}

type fetchCall struct {
	done  chan struct{}
	value string
	err   error
}

// NewSource returns a source for the secret arn (ARN or name). It makes no
// network call. A secret value that starts with "{" is parsed as a JSON
// object, and the client secret is read from its field jsonField
// (DefaultField when empty). Any other value is the client secret itself,
// without surrounding white space. A refresh of zero or less means
// DefaultRefresh.
func NewSource(client *secretsmanager.Client, arn, jsonField string, refresh time.Duration) *Source {
	if jsonField == "" {
		jsonField = DefaultField
	}

	if refresh <= 0 {
		refresh = DefaultRefresh
	}

	return &Source{client: client, arn: arn, field: jsonField, refresh: refresh, now: time.Now}
}

// Get returns the client secret, fetching it when it is missing or due for
// refresh. Errors wrap ErrUnavailable and never contain the value.
func (s *Source) Get(ctx context.Context) (string, error) {
	s.mu.Lock()
	value, ok := s.cachedLocked()
	if ok {
		s.mu.Unlock()
		return value, nil
	}

	if ctx.Err() != nil {
		s.mu.Unlock()
		return "", fmt.Errorf("%w: request ended before fetching secret %s: %w", ErrUnavailable, s.arn, context.Cause(ctx))
	}

	call := s.startFetchLocked(ctx)
	s.mu.Unlock()

	select {
	case <-call.done:
	case <-ctx.Done():
		return "", fmt.Errorf("%w: gave up waiting for Secrets Manager (%s): %w", ErrUnavailable, s.arn, context.Cause(ctx))
	}

	if call.err == nil {
		return call.value, nil
	}

	return s.staleAfterFailure(ctx, call.err)
}

// String describes the source without its value, so that printing it by
// mistake leaks nothing.
func (s *Source) String() string {
	return fmt.Sprintf("secret.Source(%s, field %q)", s.arn, s.field)
}

// GoString is String, so %#v does not print the cached value either.
func (s *Source) GoString() string {
	return s.String()
}

// cachedLocked returns the value when it is fresh, or when it is stale but a
// refresh failed less than RetryInterval ago and StaleGrace has not run out.
func (s *Source) cachedLocked() (string, bool) {
	if s.value == "" {
		return "", false
	}

	now := s.now()
	age := now.Sub(s.fetchedAt)

	if age < s.refresh {
		return s.value, true
	}

	recentFailure := !s.failedAt.IsZero() && now.Sub(s.failedAt) < RetryInterval
	if recentFailure && age < s.refresh+StaleGrace {
		return s.value, true
	}

	return "", false
}

// staleAfterFailure returns the old value when StaleGrace allows it, and
// logs the failure it hides; otherwise it returns err.
func (s *Source) staleAfterFailure(ctx context.Context, err error) (string, error) {
	s.mu.Lock()
	value, age := s.value, s.now().Sub(s.fetchedAt)
	s.mu.Unlock()

	if value == "" || age >= s.refresh+StaleGrace {
		return "", err
	}

	slog.WarnContext(ctx, "client secret refresh failed; serving the cached value",
		"secret_arn", s.arn, "cached_for", age.Round(time.Second).String(), "error", err)

	return value, nil
}

func (s *Source) startFetchLocked(ctx context.Context) *fetchCall {
	if s.fetching != nil {
		return s.fetching
	}

	call := &fetchCall{done: make(chan struct{})}
	s.fetching = call

	go s.runFetch(ctx, call)

	return call
}

// runFetch runs on a context detached from the first caller's cancellation,
// so a caller that gives up does not fail the others or waste the call.
func (s *Source) runFetch(ctx context.Context, call *fetchCall) {
	fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FetchTimeout)
	defer cancel()

	call.value, call.err = s.fetch(fetchCtx)

	s.mu.Lock()
	if call.err == nil {
		s.value, s.fetchedAt, s.failedAt = call.value, s.now(), time.Time{}
	} else {
		s.failedAt = s.now()
	}
	s.fetching = nil
	s.mu.Unlock()

	close(call.done)
}

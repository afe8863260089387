package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

// PutHandoff stores a new handoff code. It returns ErrExists if a handoff
// with the same hash is stored already.
func (s *Store) PutHandoff(ctx context.Context, handoff Handoff) error {
	if err := validate(handoff.Hash, handoff.ExpiresAt); err != nil {
		return wrap("put handoff", err)
	}

	return wrap("put handoff", s.put(ctx, newHandoffItem(handoff)))
}

// ConsumeHandoff deletes the handoff under hash and returns it, in one
// conditional DynamoDB request. It returns ErrNotFound if the handoff is
// missing, already redeemed, or expired at now. Of concurrent callers with
// the same hash, at most one receives the handoff.
func (s *Store) ConsumeHandoff(ctx context.Context, hash string, now time.Time) (Handoff, error) {
	if hash == "" {
		return Handoff{}, ErrNotFound
	}

	attributes, err := s.consume(ctx, prefixHandoff+hash, now)
	if err != nil {
		return Handoff{}, wrap("consume handoff", err)
	}

	var item handoffItem
	if err := attributevalue.UnmarshalMap(attributes, &item); err != nil {
		return Handoff{}, wrap("consume handoff", err)
	}

	return item.record(), nil
}

package store

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

// PutState stores a new state. It returns ErrExists if a state with the
// same hash is stored already.
func (s *Store) PutState(ctx context.Context, state State) error {
	if err := validate(state.Hash, state.ExpiresAt); err != nil {
		return wrap("put state", err)
	}

	return wrap("put state", s.put(ctx, newStateItem(state)))
}

// ConsumeState deletes the state under hash and returns it, in one
// conditional DynamoDB request. It returns ErrNotFound if the state is
// missing, already consumed, or expired at now. Of concurrent callers with
// the same hash, at most one receives the state.
func (s *Store) ConsumeState(ctx context.Context, hash string, now time.Time) (State, error) {
	if hash == "" {
		return State{}, ErrNotFound
	}

	attributes, err := s.consume(ctx, prefixState+hash, now)
	if err != nil {
		return State{}, wrap("consume state", err)
	}

	var item stateItem
	if err := attributevalue.UnmarshalMap(attributes, &item); err != nil {
		return State{}, wrap("consume state", err)
	}

	return item.record(), nil
}

// validate rejects records that could never be read back: an empty hash,
// or a missing expiry, which would make the record expired from the start.
func validate(hash string, expiresAt time.Time) error {
	if hash == "" {
		return errors.New("invalid record: empty Hash")
	}

	if expiresAt.IsZero() {
		return errors.New("invalid record: missing ExpiresAt")
	}

	return nil
}
